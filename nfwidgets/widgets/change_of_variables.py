"""``ChangeOfVariables1D``: a monotone map of the line; base density, pushed density and |f′|."""

from __future__ import annotations

import bqplot
import ipywidgets as W
import numpy as np

from .._checks import check_choice, check_real, shown
from ..flows.affine import ElementwiseAffine
from ..flows.base import Layer, StandardNormal
from ..flows.compose import Flow
from ..flows.planar import Planar
from ..flows.radial import Radial
from ..layer_controls import controls_for, read, write
from ..view_1d import ABS_DET_RANGE, Frame1D, View1D
from ._lifetime import builds_widgets, close_built, is_built
from .controls import ControlsMixin, control_row, make_control
from .scheduler import RedrawScheduler

__all__ = ["MAP_LABELS_1D", "ChangeOfVariables1D"]

#: The maps the widget offers: layer kind → the label of its dropdown.
MAP_LABELS_1D: dict[str, str] = {
    "affine": "affine: x = eˢ z + t",
    "planar": "planar 1-D: x = z + û tanh(wz + b)",
    "radial": "radial 1-D: x = z + β̂ (z − z₀)/(α + |z − z₀|)",
}

#: The layer each map starts from (each draws something worth seeing).
_START: dict[str, Layer] = {
    "affine": lambda: ElementwiseAffine([0.5], [1.0]),
    "planar": lambda: Planar([2.0], [1.0], 0.0),
    "radial": lambda: Radial([0.0], alpha=0.5, beta=1.0),
}


def _figure(title: str, x_label: str, y_label: str, x_scale: bqplot.Scale,
            y_scale: bqplot.Scale, css_class: str, width: int = 300,
            y_ticks: list[float] | None = None) -> bqplot.Figure:
    y_axis = (bqplot.Axis(scale=y_scale, side="left", label=y_label,
                          tick_values=np.asarray(y_ticks), tick_format=".2~f")
              if y_ticks else
              bqplot.Axis(scale=y_scale, side="left", label=y_label, num_ticks=5,
                          tick_format=".2g"))
    axes = [bqplot.Axis(scale=x_scale, label=x_label, num_ticks=5), y_axis]
    fig = bqplot.Figure(marks=[], axes=axes, title=title, animation_duration=0,
                        padding_x=0.0, padding_y=0.0,  # the scales' fixed ranges, exactly
                        fig_margin={"top": 32, "bottom": 40, "left": 50, "right": 12},
                        legend_location="top-left",
                        layout=W.Layout(width=f"{width}px", height="300px"))
    fig.add_class(css_class)
    return fig


class ChangeOfVariables1D(ControlsMixin, W.VBox):
    r"""A monotone map ``x = f(z)`` of the line pushes ``z ~ N(0, 1)`` to a density on x.

    .. math:: p_x(x) = p_z\bigl(f^{-1}(x)\bigr)\,\Bigl|\frac{df^{-1}}{dx}\Bigr|
              = \frac{p_z(z)}{|f'(z)|}, \qquad z = f^{-1}(x),

    because the mass of a small interval is kept: :math:`p_x(x)\,|dx| = p_z(z)\,|dz|`
    (Papamakarios et al. 2021, "Normalizing Flows for Probabilistic Modeling and Inference",
    JMLR 22(57), sec. 2.1; Rezende & Mohamed 2015, arXiv:1505.05770, eq. 5).

    Three maps, each a 1-D layer of the engine: ``"affine"`` (``ElementwiseAffine``,
    x = eˢ z + t), ``"planar"`` (``Planar`` with D = 1, constrained so wû > -1 and f is
    increasing) and ``"radial"`` (``Radial`` with D = 1, β̂ = -α + softplus(β) > -α). Each kind
    keeps its own layer, so switching kinds and back keeps the slider values.

    Plots: ``figures["map"]`` (f(z) against the identity), ``figures["density"]`` (p_z dashed,
    the exact p_x from ``Flow.log_prob`` on the grid, a histogram of pushed samples) and
    ``figures["log_det"]`` (|f′(z)| = exp(log|det J|) from the forward pass, on a log scale:
    above 1 the map stretches and p_x falls, below 1 it squeezes and p_x rises).

    Controls (``.controls``): ``"kind"`` (Dropdown of ``MAP_LABELS_1D``), ``"log_scale"``,
    ``"shift"`` (affine), ``"w"``, ``"u"``, ``"b"`` (planar), ``"z0"``, ``"alpha"``, ``"beta"``
    (radial; β raw) — the 1-D controls of ``layer_controls.controls_for`` without the constraint
    toggle, since this widget shows increasing maps only — and ``"samples"`` (Checkbox: show the
    histogram). Sliders of the other kinds are hidden but keep their values. One change redraws
    once; ``set(**values)`` sets several and redraws once, synchronously.

    Attributes:
        flow: a one-layer 1-D ``Flow`` (the same object throughout; its layer follows "kind").
        layers: kind → that kind's layer.
        view: the view model (``nfwidgets.view_1d.View1D``); ``view.compute()`` gives a frame.
        frame: pictures published (also in the DOM as ``.nfw-frame``); last_frame: a
            ``Frame1D``.

    Arguments:
        kind: the map shown first.
        x_range: the plotted interval (x and z).
        n_points: grid cells on it.
        n_samples: base samples pushed through f for the histogram (fixed by ``seed``).
        bins: histogram bins over ``x_range``.
        density_max: top of the density axis (fixed, so curves can be compared).
        redraw_delay: seconds to gather a burst of events into one redraw (0: synchronous).
    """

    css_class = "nfw-change-of-variables"

    @builds_widgets
    def __init__(self, kind: str = "affine", *, x_range: tuple[float, float] = (-5.0, 5.0),
                 n_points: int = 400, n_samples: int = 1000, bins: int = 50, seed: int = 0,
                 density_max: float = 0.8, redraw_delay: float = 0.03) -> None:
        # Every argument is checked before the first widget model opens.
        kind = check_choice("kind", kind, list(MAP_LABELS_1D))
        density_max = check_real("density_max", density_max, lo=0, lo_open=True, hi=1e6)
        # One picture per state (no coarse grid): a burst ends on a full draw, no settle draw.
        self.scheduler = RedrawScheduler(self._draw_now, redraw_delay=redraw_delay, settle=None)
        self.layers: dict[str, Layer] = {k: make().double() for k, make in _START.items()}
        self.flow = Flow([self.layers[kind]], base=StandardNormal(1).double())
        self.view = View1D(self.flow, x_range, n_points, n_samples, bins, seed)
        super().__init__()
        self.redraw_delay = self.scheduler.redraw_delay
        self.x_range = self.view.x_range
        self.n_points, self.bins = self.view.n_points, self.view.bins
        self.density_max = density_max
        self.last_frame: Frame1D | None = None

        self.controls: dict[str, W.ValueWidget] = {}
        self._bind("kind", W.Dropdown(options=[(v, k) for k, v in MAP_LABELS_1D.items()],
                                      value=kind, description="map",
                                      style={"description_width": "40px"},
                                      layout=W.Layout(width="380px")),
                   self._set_kind)
        self._boxes: dict[str, W.HBox] = {}
        for k, layer in self.layers.items():
            specs = [s for s in controls_for(k, 1) if s.widget != "toggle"]
            for spec in specs:
                self._bind(spec.name, make_control(spec, read(layer, spec), (self.x_range,)),
                           lambda v, layer=layer, spec=spec: write(layer, spec, v))
            self._boxes[k] = W.HBox([control_row(self.controls[s.name]) for s in specs])
        self._bind("samples", W.Checkbox(value=True, description="histogram of samples",
                                         indent=False), lambda _v: None)
        self._sliders = W.VBox([self._boxes[kind]])

        self._build_figures()
        self._make_text_areas()
        formula = W.HTMLMath(
            r"$p_x(x) = p_z\big(f^{-1}(x)\big)\,\Big|\frac{df^{-1}}{dx}\Big|"
            r" = \frac{p_z(z)}{|f'(z)|}$ with $z = f^{-1}(x)$")
        self.children = [W.HBox([self.controls["kind"], self.controls["samples"]]),
                         self._sliders, formula, self.readout, self.message,
                         W.HBox(list(self.figures.values()),
                                layout=W.Layout(flex_flow="row wrap")),
                         self.status]
        self.add_class(self.css_class)
        self.redraw()

    # --- building ----------------------------------------------------------------------------
    def _build_figures(self) -> None:
        lo, hi = self.x_range
        sx = {n: bqplot.LinearScale(min=lo, max=hi) for n in ("map", "density", "log_det")}
        fx = bqplot.LinearScale(min=lo, max=hi)
        fy = bqplot.LinearScale(min=0.0, max=self.density_max)
        fd = bqplot.LogScale(min=ABS_DET_RANGE[0], max=ABS_DET_RANGE[1])
        empty = np.zeros(2, np.float32)
        ends = np.array([lo, hi], np.float32)

        def line(scales: dict, color: str, label: str, *, width: float = 2.0,
                 dashed: bool = False, fill: bool = False) -> bqplot.Lines:
            return bqplot.Lines(x=empty, y=empty, scales=scales, colors=[color],
                                stroke_width=width, labels=[label], display_legend=True,
                                line_style="dashed" if dashed else "solid",
                                fill="bottom" if fill else "none",
                                fill_colors=[color], fill_opacities=[0.25 if fill else 0.0])

        map_scales = {"x": sx["map"], "y": fx}
        den_scales = {"x": sx["density"], "y": fy}
        det_scales = {"x": sx["log_det"], "y": fd}
        self.marks = {
            "identity": line(map_scales, "#999999", "x = z", width=1, dashed=True),
            "map": line(map_scales, "#1f77b4", "x = f(z)"),
            "histogram": line(den_scales, "#ff7f0e", "samples f(z)", width=1, fill=True),
            "base": line(den_scales, "#777777", "p_z", width=1.5, dashed=True),
            "density": line(den_scales, "#1f77b4", "p_x (exact)", width=2.5),
            "unit": line(det_scales, "#999999", "|f′| = 1", width=1, dashed=True),
            "abs_det": line(det_scales, "#d62728", "|f′(z)|"),
        }
        self.marks["identity"].x, self.marks["identity"].y = ends, ends
        self.marks["unit"].x, self.marks["unit"].y = ends, np.ones(2, np.float32)
        m = self.marks
        self.figures = {
            "map": _figure("the map x = f(z)", "z", "x", sx["map"], fx,
                           "nfw-figure-map"),
            "density": _figure("densities p_z and p_x", "x", "density",
                               sx["density"], fy, "nfw-figure-density",
                               y_ticks=[float(v) for v in np.linspace(0, self.density_max, 5)]),
            "log_det": _figure("stretch |f′(z)| (log scale)", "z", "|f′(z)|",
                               sx["log_det"], fd, "nfw-figure-log-det",
                               y_ticks=[0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]),
        }
        self.figures["map"].marks = [m["identity"], m["map"]]
        self.figures["density"].marks = [m["histogram"], m["base"], m["density"]]
        self.figures["log_det"].marks = [m["unit"], m["abs_det"]]

    # --- controls → engine -------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.controls["kind"].value

    @property
    def layer(self) -> Layer:
        """The layer shown (``flow.layers[0]``)."""
        return self.flow.layers[0]

    def _set_kind(self, kind: str) -> None:
        if kind not in MAP_LABELS_1D:
            raise ValueError(f"kind must be one of {sorted(MAP_LABELS_1D)}; got {shown(kind)}")
        self.flow.layers[0] = self.layers[kind]
        self._sliders.children = [self._boxes[kind]]

    # --- redraw ------------------------------------------------------------------------------
    def _draw_now(self, full: bool) -> bool:
        """The scheduler's callback (every picture is a full one)."""
        return self._publish(self.view.compute, lambda frame: f"{frame.x.shape[0]} points")

    def _draw(self, frame: Frame1D) -> None:
        m = self.marks
        abs_det = frame.abs_det
        with m["map"].hold_sync():
            m["map"].x, m["map"].y = frame.x, frame.f
        with m["base"].hold_sync():
            m["base"].x, m["base"].y = frame.x, frame.base_density
        with m["density"].hold_sync():
            m["density"].x, m["density"].y = frame.x, frame.density
        with m["abs_det"].hold_sync():
            m["abs_det"].x, m["abs_det"].y = frame.x, abs_det
        show = bool(self.controls["samples"].value)
        with m["histogram"].hold_sync():
            if show:  # a step line: each bin's height held across its width
                m["histogram"].x = np.repeat(frame.hist_edges, 2)
                m["histogram"].y = np.concatenate(
                    [[0.0], np.repeat(frame.hist_density, 2), [0.0]]).astype(np.float32)
            m["histogram"].visible = show
        self._update_readout(frame)

    def _update_readout(self, frame: Frame1D) -> None:
        abs_det = frame.abs_det
        parts = [f"∫ p_x dx over the view: <b>{frame.mass:.3f}</b>",
                 f"peak p_x: <b>{frame.peak:.3g}</b>",
                 f"|f′| from {float(abs_det.min()):.3g} to {float(abs_det.max()):.3g}"]
        if frame.peak > self.density_max:
            parts.append("<span style='color:#b35806'>(p_x peaks above the plot)</span>")
        if self.spike_unresolved(frame):
            parts.append("<span style='color:#b35806'>f′ ≈ 0 somewhere: p_x has a spike "
                         "narrower than the grid, so the sum over the grid is only "
                         "approximate</span>")
        layer = self.layer
        if isinstance(layer, Planar):
            parts.append(f"û = {float(layer.u_hat.detach()[0]):+.3f}, "
                         f"wû = {float(layer.wtu_hat.detach()):+.3f} > −1, so f′ > 0")
        elif isinstance(layer, Radial):
            parts.append(f"β̂ = {float(layer.beta_hat.detach()):+.3f} ≥ −α = "
                         f"{-float(layer.alpha.detach()):+.3f}, so f′ > 0")
        self.readout.value = " · ".join(parts)

    def spike_unresolved(self, frame: Frame1D | None = None) -> bool:
        """True when p_x has a spike the grid cannot resolve (``Frame1D.spike_unresolved``) in
        ``frame`` (default: the last one drawn)."""
        if frame is not None and not isinstance(frame, Frame1D):
            raise ValueError(f"frame must be a Frame1D (e.g. widget.last_frame) or None; got "
                             f"{type(frame).__name__} {frame!r:.80}")
        frame = frame or self.last_frame
        return frame is not None and frame.spike_unresolved

    def close(self) -> None:
        """Close every widget model this widget opened (hidden sliders too)."""
        if is_built(self):  # a refused constructor has closed what it opened
            close_built(self)
        super().close()
