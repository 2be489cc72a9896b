"""The TrainingDashboard's loss panel and mode-mass readout (arrays in, marks out; no maths:
``nfwidgets.loss_curve`` computes what the loss panel shows)."""

from __future__ import annotations

import html

import bqplot
import ipywidgets as W
import numpy as np

from ..loss_curve import LossCurve

__all__ = ["LossPanel", "mode_mass_html"]

def _line(xs: bqplot.Scale, ys: bqplot.Scale, color: str, width: float,
          dashed: bool = False, opacity: float = 1.0) -> bqplot.Lines:
    return bqplot.Lines(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32),
                        scales={"x": xs, "y": ys}, colors=[color], stroke_width=width,
                        opacities=[opacity], line_style="dashed" if dashed else "solid")


def _legend(entries: list[tuple[str, str, bool]]) -> str:
    """An HTML legend: (colour, label, dashed) per entry."""
    items = "".join(
        f"<span style='margin-right:10px;white-space:nowrap'><span style='display:inline-block;"
        f"width:18px;border-top:2px {'dashed' if dashed else 'solid'} {color};"
        f"vertical-align:middle;margin-right:4px'></span>{html.escape(label)}</span>"
        for color, label, dashed in entries)
    return f"<div style='font-size:11px;color:#444;margin-left:56px'>{items}</div>"


class LossPanel:
    """Loss against step: the per-step loss (light), its moving average (dark), an optional
    horizontal reference (the data's entropy for maximum likelihood, -ln Z for reverse KL) and
    optional bound estimates (points with their step), as a ``LossCurve`` gives them.

    ``update`` assigns new arrays to the marks (each inside ``hold_sync``) and changes the
    scales' ranges only when they move, so one redraw sends at most one message per mark.
    """

    def __init__(self, width: int = 380, height: int = 300) -> None:
        self.scale_x = bqplot.LinearScale(min=0.0, max=1.0, allow_padding=False)
        self.scale_y = bqplot.LinearScale(min=0.0, max=1.0, allow_padding=False)
        sx, sy = self.scale_x, self.scale_y
        self.raw = _line(sx, sy, "#9ecae1", 1.0, opacity=0.9)
        self.smooth = _line(sx, sy, "#08519c", 2.0)
        self.reference = _line(sx, sy, "#cb181d", 1.5, dashed=True)
        self.bound = bqplot.Lines(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32),
                                  scales={"x": sx, "y": sy}, colors=["#238b45"],
                                  stroke_width=2.0, marker="circle", marker_size=12,
                                  visible=False)
        axes = [bqplot.Axis(scale=sx, label="step", num_ticks=5),
                bqplot.Axis(scale=sy, side="left", label="loss (nats)",
                            num_ticks=5, tick_format=".3g")]
        self.figure = bqplot.Figure(
            marks=[self.raw, self.smooth, self.reference, self.bound], axes=axes,
            title="loss", animation_duration=0,
            fig_margin={"top": 30, "bottom": 36, "left": 56, "right": 8},
            title_style={"font-size": "14px"},
            layout=W.Layout(width=f"{width}px", height=f"{height - 24}px"))
        self.figure.add_class("nfw-figure-loss")
        self.legend = W.HTML()
        self.legend.add_class("nfw-loss-legend")
        #: What to place in a layout: the figure and its legend.
        self.widget = W.VBox([self.figure, self.legend])
        self._legend_key: tuple = ()

    def update(self, curve: LossCurve) -> None:
        """Show ``curve`` (``nfwidgets.loss_curve.loss_curve``)."""
        with self.raw.hold_sync():
            self.raw.x, self.raw.y = curve.raw_x, curve.raw_y
        with self.smooth.hold_sync():
            self.smooth.x, self.smooth.y = curve.smooth_x, curve.smooth_y
        has_reference = curve.reference is not None
        if has_reference:
            with self.reference.hold_sync():
                self.reference.x = np.asarray([0.0, curve.x_max], np.float32)
                self.reference.y = np.full(2, curve.reference, np.float32)
                self.reference.visible = True
        elif self.reference.visible:
            self.reference.visible = False
        has_bound = bool(curve.bound_y.size)
        key = (curve.loss_label, has_reference and curve.reference_label,
               has_bound and curve.bound_label)
        if key != self._legend_key:
            self._legend_key = key
            entries = [("#9ecae1", curve.loss_label, False), ("#08519c", "moving average", False)]
            if has_bound:
                entries.append(("#238b45", curve.bound_label, False))
            if has_reference:
                entries.append(("#cb181d", curve.reference_label, True))
            self.legend.value = _legend(entries)
        if has_bound:
            with self.bound.hold_sync():
                self.bound.x, self.bound.y = curve.bound_x, curve.bound_y
                self.bound.visible = True
        elif self.bound.visible:
            self.bound.visible = False
        self._set_range(self.scale_x, 0.0, curve.x_max)
        self._set_range(self.scale_y, curve.y_min, curve.y_max)

    @staticmethod
    def _set_range(scale: bqplot.LinearScale, lo: float, hi: float) -> None:
        """Move the scale only if a bound moved by more than 2% of the span (fewer messages)."""
        span = max(hi - lo, 1e-12)
        old_lo, old_hi = scale.min, scale.max
        if (old_lo is None or old_hi is None or abs(old_lo - lo) > 0.02 * span
                or abs(old_hi - hi) > 0.02 * span):
            with scale.hold_sync():
                scale.min, scale.max = float(lo), float(hi)

    def close(self) -> None:
        for w in (self.raw, self.smooth, self.reference, self.bound, *self.figure.axes,
                  self.scale_x, self.scale_y, self.figure.layout, self.figure, self.legend,
                  self.widget):
            w.close()


def mode_mass_html(masses: dict[str, float], reference: dict[str, float] | None,
                   title: str) -> str:
    """One bar per mode: the mass q puts on it, and (in grey) the target's."""
    rows = []
    for name, mass in masses.items():
        ref = None if reference is None else reference.get(name)
        width = max(0.0, min(1.0, mass)) * 120
        ref_mark = ("" if ref is None else
                    f"<div style='position:absolute;left:{max(0.0, min(1.0, ref)) * 120:.0f}px;"
                    f"top:-2px;width:2px;height:12px;background:#555'></div>")
        rows.append(
            f"<div style='display:flex;align-items:center;gap:6px;font-size:11px'>"
            f"<span style='width:150px;text-align:right'>{html.escape(name)}</span>"
            f"<div style='position:relative;width:120px;height:8px;background:#eee'>"
            f"<div style='width:{width:.0f}px;height:8px;background:#3182bd'></div>{ref_mark}"
            f"</div><span>{mass:.2f}" + ("" if ref is None else f" (target {ref:.2f})")
            + "</span></div>")
    return (f"<div class='nfw-mode-masses'><div style='font-size:12px;margin-bottom:2px'>"
            f"{html.escape(title)}</div>{''.join(rows)}</div>")
