"""The TrainingDashboard's loss panel and mode-mass readout (arrays in, marks out; no torch)."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import bqplot
import ipywidgets as W
import numpy as np

__all__ = ["LossPanel", "binned", "mode_mass_html", "moving_average"]

#: At most this many points per curve are sent to the browser.
MAX_POINTS = 600


def binned(values: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """``(step, mean)`` of ``values`` (value k is step k + 1) in at most ``max_points`` equal
    bins: a long history is sent as bin means, a short one as it is."""
    v = np.asarray(values, dtype=np.float64)
    n = v.shape[0]
    steps = np.arange(1, n + 1, dtype=np.float64)
    if n <= max_points:
        return steps, v
    edges = np.linspace(0, n, max_points + 1).astype(np.int64)
    sums, counts = np.add.reduceat(v, edges[:-1]), np.diff(edges)
    centres = np.add.reduceat(steps, edges[:-1]) / counts
    return centres, sums / counts


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` values (fewer at the start), same length as ``values``."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return v
    window = max(1, int(window))
    c = np.concatenate([[0.0], np.cumsum(v)])
    idx = np.arange(1, v.size + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


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


def _f32(a: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


class LossPanel:
    """Loss against step: the per-step loss (light), its moving average (dark), an optional
    horizontal reference (the data's entropy for maximum likelihood, -ln Z for reverse KL) and
    optional bound estimates (points with their step).

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
                bqplot.Axis(scale=sy, orientation="vertical", label="loss (nats)",
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

    def update(self, losses: np.ndarray, total_steps: int, reference: float | None = None,
               reference_label: str = "reference", bound_steps: Sequence[float] = (),
               bound_values: Sequence[float] = ()) -> None:
        """Show ``losses`` (one per step), the x range ``[0, max(total_steps, len)]``."""
        losses = np.asarray(losses, dtype=np.float64)
        n = losses.shape[0]
        steps, means = binned(losses)
        smooth_steps, smooth = binned(moving_average(losses, max(10, n // 50)))
        x_max = float(max(total_steps, n, 1))
        with self.raw.hold_sync():
            self.raw.x, self.raw.y = _f32(steps), _f32(means)
        with self.smooth.hold_sync():
            self.smooth.x, self.smooth.y = _f32(smooth_steps), _f32(smooth)
        has_reference = reference is not None and math.isfinite(reference)
        if has_reference:
            with self.reference.hold_sync():
                self.reference.x = _f32([0.0, x_max])
                self.reference.y = _f32([reference, reference])
                self.reference.visible = True
        elif self.reference.visible:
            self.reference.visible = False
        bx = np.asarray(bound_steps, dtype=np.float64)
        by = np.asarray(bound_values, dtype=np.float64)
        key = (has_reference and reference_label, bool(by.size))
        if key != self._legend_key:
            self._legend_key = key
            entries = [("#9ecae1", "loss per step", False), ("#08519c", "moving average", False)]
            if by.size:
                entries.append(("#238b45", "bound F (fresh samples)", False))
            if has_reference:
                entries.append(("#cb181d", reference_label, True))
            self.legend.value = _legend(entries)
        if by.size:
            with self.bound.hold_sync():
                self.bound.x, self.bound.y = _f32(bx), _f32(by)
                self.bound.visible = True
        elif self.bound.visible:
            self.bound.visible = False
        self._set_range(self.scale_x, 0.0, x_max)
        lo, hi = self._y_range(means, reference, by)
        self._set_range(self.scale_y, lo, hi)

    @staticmethod
    def _y_range(means: np.ndarray, reference: float | None, bound: np.ndarray
                 ) -> tuple[float, float]:
        """A range showing the curve's bulk: the top ignores the first few large losses (the
        95th percentile of the bin means), the bottom includes the reference and the bound."""
        parts = [means] if means.size else []
        if bound.size:
            parts.append(bound)
        if not parts:
            return (0.0, 1.0) if reference is None else (reference - 1.0, reference + 1.0)
        values = np.concatenate(parts)
        lo = float(values.min())
        hi = float(np.percentile(values, 95)) if values.size >= 20 else float(values.max())
        if reference is not None and math.isfinite(reference):
            lo, hi = min(lo, reference), max(hi, reference)
        pad = max(0.05 * (hi - lo), 1e-3 * max(1.0, abs(hi)))
        return lo - pad, hi + pad

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
