"""``Explorer``: the machinery every 2-D explorer shares (panels, redraws, messages).

An explorer is an ``ipywidgets.VBox`` of controls and bqplot panels bound to an engine object.
Controls write into the engine through observers; a redraw asks the view model (``FlowView``)
for a ``Frame`` and hands its arrays to the panels. No maths here.
"""

from __future__ import annotations

import ipywidgets as W
import numpy as np
import torch

from .._checks import check_count, check_real, check_text
from ..flows.base import Layer
from ..flows.compose import Flow
from ..grid import Bounds
from ..layer_controls import controls_for, kind_of, read, write
from ..plots import FieldPanel, points_mark, set_points
from ..view import FlowView, Frame
from ..view_2d import base_picture
from ._lifetime import builds_widgets, close_built, is_built
from .controls import ControlsMixin, controls_box, make_control, set_note
from .scheduler import RedrawScheduler

__all__ = ["DENSITY_MAX", "LOG_DET_RANGE", "Explorer"]

#: Fixed top of the density colour scale (the standard normal's peak is 1/2π ≈ 0.159).
DENSITY_MAX = 0.25
#: log|det J| colour range: ±this, centred at 0 (diverging map).
LOG_DET_RANGE = 3.0
#: Below -this, log|det J| means a spike the grid cannot resolve (|det J| < e⁻¹⁰).
LOG_DET_LIMIT_HINT = 10.0


def _descendants(root: W.Widget) -> list[W.Widget]:
    """Every widget reachable from ``root`` through children, figures (marks, axes, scales),
    layouts and styles, ``root`` excluded."""
    seen: dict[int, W.Widget] = {}
    stack = [root]
    while stack:
        w = stack.pop()
        for name in ("children", "marks", "axes", "layout", "style", "scale", "scales",
                     "image", "interaction", "scale_x", "scale_y"):
            value = getattr(w, name, None)
            items = (value.values() if isinstance(value, dict)
                     else value if isinstance(value, list | tuple) else [value])
            for item in items:
                if isinstance(item, W.Widget) and id(item) not in seen and item is not root:
                    seen[id(item)] = item
                    stack.append(item)
    return list(seen.values())


class Explorer(ControlsMixin, W.VBox):
    """Base of the 2-D explorers: base density, exact transformed density, log|det J|.

    Attributes:
        controls: name → ipywidgets value widget (drive them to change the flow).
        figures: name → ``bqplot.Figure`` ("base", "density", "log_det").
        flow: the engine ``Flow`` shown.
        view: its view model (``nfwidgets.view.FlowView``).
        frame: number of pictures published (also shown in the DOM as ``.nfw-frame``).
        last_frame: the arrays last drawn (``nfwidgets.view.Frame``).

    Arguments:
        flow: the flow to show.
        bounds: the view.
        resolution: grid cells per side when the picture settles.
        coarse_resolution: grid while a slider is being dragged (``None``: resolution // 2).
        redraw_delay: seconds to gather a burst of slider events into one redraw; 0 redraws
            synchronously on every change (tests).
        density_max: top of the fixed density colour scale.
        n_samples: samples pushed through the flow (shown as dots; 0 for none).
    """

    css_class = "nfw-explorer"

    @builds_widgets
    def __init__(self, flow: Flow, *, bounds: Bounds = ((-4.0, 4.0), (-4.0, 4.0)),
                 resolution: int = 200, coarse_resolution: int | None = None,
                 redraw_delay: float = 0.03, density_max: float = DENSITY_MAX,
                 n_samples: int = 300, seed: int = 0, panel_size: int = 250) -> None:
        # Every argument is checked before the first widget model opens.
        density_max = check_real("density_max", density_max, lo=0, lo_open=True, hi=1e6)
        if coarse_resolution is not None:
            coarse_resolution = check_count("coarse_resolution", coarse_resolution, lo=8, hi=1024)
        panel_size = check_count("panel_size", panel_size, lo=80, hi=1200)
        self.scheduler = RedrawScheduler(self._draw_now, redraw_delay=redraw_delay)
        self.flow = flow
        self.view = self._make_view(flow, bounds, resolution, n_samples, seed)
        super().__init__()
        self.bounds = self.view.bounds
        self.resolution = self.view.resolution
        self.coarse_resolution = coarse_resolution or max(8, self.resolution // 2)
        self.redraw_delay = self.scheduler.redraw_delay
        self.controls: dict[str, W.ValueWidget] = {}
        self.last_frame: Frame | None = None

        self.panels = {
            "base": FieldPanel("base density p(z)", self.bounds, 0.0, density_max, "viridis",
                               "p", panel_size, "nfw-figure-base"),
            "density": FieldPanel("density p(x) (exact)", self.bounds, 0.0, density_max,
                                  "viridis", "p", panel_size, "nfw-figure-density"),
            "log_det": FieldPanel("log|det J| at x", self.bounds, -LOG_DET_RANGE, LOG_DET_RANGE,
                                  "RdBu", "log|det J|", panel_size, "nfw-figure-log-det"),
        }
        self.figures = {name: p.figure for name, p in self.panels.items()}
        sx = self.panels["base"].scales
        self._base_points = points_mark(sx, size=6, opacity=0.5)
        self.panels["base"].add_marks(self._base_points)
        sd = self.panels["density"].scales
        self._points = points_mark(sd, size=6, opacity=0.5)
        self.panels["density"].add_marks(self._points)

        self.show_grid = W.Checkbox(value=True, description="grid lines", indent=False)
        self.show_samples = W.Checkbox(value=False, description="samples", indent=False)
        for box in (self.show_grid, self.show_samples):
            box.layout.width = "110px"
        self.show_grid.observe(self._on_show_grid, "value")
        self.show_samples.observe(self._on_show_samples, "value")
        self._make_text_areas()
        self.warning = W.HTML(layout=W.Layout(display="none"))
        self.warning.add_class("nfw-warning")
        self.add_class("nfw-explorer")
        if self.css_class != "nfw-explorer":
            self.add_class(self.css_class)
        self._draw_base()

    def _make_view(self, flow: Flow, bounds: Bounds, resolution: int, n_samples: int,
                   seed: int) -> FlowView:
        """The view model (``FlowBuilder`` shows a prefix of its stack)."""
        return FlowView(flow, bounds, resolution, n_samples=n_samples, seed=seed)

    # --- layout helpers for subclasses -------------------------------------------------------
    def _bind_layer(self, layer: Layer, skip: tuple[str, ...] = ()) -> W.VBox:
        """Controls for every ``ControlSpec`` of ``layer``'s kind (flow layer 0), laid out."""
        specs = [s for s in controls_for(kind_of(layer), layer.dim) if s.name not in skip]
        for spec in specs:
            self._bind(spec.name, make_control(spec, read(layer, spec), self.bounds),
                       lambda value, spec=spec: self._write(spec, value), layer=0)
        return controls_box(specs, self.controls)

    def _write(self, spec: object, value: object) -> None:
        """Write a control into the shown layer (a replacement layer takes its place)."""
        new = write(self.flow.layers[0], spec, value)
        if new is not None:
            self.flow.layers[0] = new

    def _layout(self, control_rows: list[W.Widget], extra_panels: list[W.Widget] = ()) -> None:
        figures = W.HBox([p.widget for p in self.panels.values()] + list(extra_panels),
                         layout=W.Layout(flex_flow="row wrap"))
        toggles = W.HBox([self.show_grid, self.show_samples, self.status])
        self.children = [W.VBox(control_rows), self.readout, self.warning, self.message,
                         figures, toggles]

    # --- redraw ------------------------------------------------------------------------------
    def _invalidate(self, layer: int | None) -> None:
        self.view.invalidate(layer)

    def _draw_now(self, full: bool) -> bool:
        """The scheduler's callback: compute and draw at the full or the coarse grid."""
        resolution = self.resolution if full else self.coarse_resolution

        def compute() -> Frame:
            with torch.no_grad():  # readouts read parameters: no autograd graph for them
                self._before_redraw()
            # samples are pushed through the flow only while they are shown
            return self.view.compute(resolution, samples=bool(self.show_samples.value))

        return self._publish(compute, lambda frame: f"{frame.resolution}²")

    def _picture_digest(self) -> str:
        return self.panels["density"].digest()

    def _before_redraw(self) -> None:
        """Hook: subclasses update readouts and overlays that depend on the parameters."""

    def _draw(self, frame: Frame) -> None:
        mask = ~frame.unique if not frame.invertible else None
        self.panels["density"].update(frame.density, mask, self._grid_lines(frame))
        self.panels["log_det"].update(frame.log_det, mask)
        self._redraw_overlays(frame)
        self._update_readout(frame)

    def _update_readout(self, frame: Frame) -> None:
        parts = [f"mass in view: <b>{frame.mass:.3f}</b>",
                 f"peak density: <b>{frame.peak:.3g}</b>"]
        if frame.peak > self.panels["density"].vmax:
            parts.append("<span style='color:#b35806'>(above the colour scale: brightest "
                         "colour = ≥ {:.2f})</span>".format(self.panels["density"].vmax))
        if frame.log_det.min() < -LOG_DET_LIMIT_HINT:
            parts.append("<span style='color:#b35806'>det J ≈ 0 somewhere: the density has a "
                         "spike narrower than a pixel, so the mass readout undercounts</span>")
        if frame.clipped.any():
            parts.append("<span style='color:#b35806'>density too high to show exactly in "
                         f"{int(frame.clipped.sum())} cells (det J ≈ 0 there)</span>")
        extra = self._readout_extra()
        self.readout.value = " · ".join(parts + ([extra] if extra else []))

    def _readout_extra(self) -> str:
        return ""

    def _redraw_overlays(self, frame: Frame | None = None) -> None:
        frame = frame or self.last_frame
        if frame is None:
            return
        if self.show_samples.value and frame.samples is not None:
            set_points(self._points, frame.samples[:, 0], frame.samples[:, 1])
            self._points.visible = True
            self._base_points.visible = True
        else:
            self._points.visible = False
            self._base_points.visible = False

    def _grid_lines(self, frame: Frame) -> tuple[np.ndarray, np.ndarray] | None:
        """The deformed grid drawn into the density picture, if shown."""
        return (frame.grid_x, frame.grid_y) if self.show_grid.value else None

    def _on_show_grid(self, _change: dict | None = None) -> None:
        """The grid lines are drawn into the base and density pictures: draw those again."""
        self.panels["base"].show_lines(self._straight_lines if self.show_grid.value else None)
        if self.last_frame is not None:
            self.panels["density"].show_lines(self._grid_lines(self.last_frame))

    def _on_show_samples(self, change: dict) -> None:
        if change["new"] and self.last_frame is not None and self.last_frame.samples is None:
            self.scheduler.now()  # samples were not computed: compute them
        else:
            self._redraw_overlays()

    def _draw_base(self) -> None:
        """The base panel never changes: p_z on the grid with the straight grid lines drawn
        in, and the base samples."""
        base = base_picture(self.view)
        self._straight_lines = (base.lines_x, base.lines_y)
        self.panels["base"].update(base.density,
                                   lines=self._straight_lines if self.show_grid.value else None)
        if base.samples is not None:
            set_points(self._base_points, base.samples[:, 0], base.samples[:, 1])
        self._base_points.visible = False

    # --- messages ----------------------------------------------------------------------------
    def show_warning(self, text: str | None) -> None:
        """Show (or with ``None`` hide) a warning that is part of the lesson, not an error
        (``text`` is HTML)."""
        set_note(self.warning, check_text("text", text, optional=True))

    def close(self) -> None:
        """Close every widget model this explorer opened and cancel pending redraws."""
        if is_built(self):  # a refused constructor has closed what it opened
            for p in self.panels.values():
                p.close()
            for widget in _descendants(self):
                widget.close()
            close_built(self)
        super().close()
