"""``Explorer``: the machinery every explorer shares (panels, redraw scheduling, messages).

An explorer is an ``ipywidgets.VBox`` of controls and bqplot panels bound to an engine object.
Controls write into the engine through observers; a redraw asks the view model for a ``Frame``
and hands its arrays to the panels. No maths here.
"""

from __future__ import annotations

import asyncio
import math

import ipywidgets as W
import numpy as np
import torch

from .._allocator import tune_allocator
from ..flows.compose import Flow
from ..grid import Bounds, grid_points
from ..plots import FieldPanel, lines_mark, points_mark, set_lines, set_points
from ..view import FlowView, Frame
from .controls import ControlsMixin, set_note

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
        frame: number of completed redraws (also shown in the DOM as ``.nfw-frame``).
        last_frame: the arrays last drawn (``nfwidgets.view.Frame``).
        compute_threads: torch intra-op threads a redraw computes with, the notebook's setting
            restored after (default 1, faster here; ``None``: the notebook's setting).

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
    compute_threads = 1  # see nfwidgets._threads

    def __init__(self, flow: Flow, *, bounds: Bounds = ((-4.0, 4.0), (-4.0, 4.0)),
                 resolution: int = 200, coarse_resolution: int | None = None,
                 redraw_delay: float = 0.03, density_max: float = DENSITY_MAX,
                 n_samples: int = 300, seed: int = 0, panel_size: int = 250) -> None:
        super().__init__()
        tune_allocator()  # redraws allocate many 40k-float tensors: keep the heap warm
        if not (isinstance(redraw_delay, int | float) and math.isfinite(redraw_delay)
                and redraw_delay >= 0):
            raise ValueError(f"redraw_delay must be a number ≥ 0 (seconds); got {redraw_delay!r}")
        if not (isinstance(density_max, int | float) and density_max > 0):
            raise ValueError(f"density_max must be a number > 0; got {density_max!r}")
        self.flow = flow
        self.view = FlowView(flow, bounds, resolution, n_samples=n_samples, seed=seed)
        self.bounds = self.view.bounds
        self.resolution = resolution
        self.coarse_resolution = coarse_resolution or max(8, resolution // 2)
        self.redraw_delay = float(redraw_delay)
        self.controls: dict[str, W.ValueWidget] = {}
        self.figures = {}
        self.frame = 0
        self.last_frame: Frame | None = None
        self._pending: asyncio.TimerHandle | None = None
        self._settle: asyncio.TimerHandle | None = None
        self._suppress = False

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
        self._straight = lines_mark(sx, width=0.6, opacity=0.5)
        self._base_points = points_mark(sx, size=6, opacity=0.5)
        self.panels["base"].add_marks(self._straight, self._base_points)
        sd = self.panels["density"].scales
        self._deformed = lines_mark(sd, width=0.6, opacity=0.55)
        self._points = points_mark(sd, size=6, opacity=0.5)
        self.panels["density"].add_marks(self._deformed, self._points)

        self.show_grid = W.Checkbox(value=True, description="grid lines", indent=False)
        self.show_samples = W.Checkbox(value=False, description="samples", indent=False)
        for box in (self.show_grid, self.show_samples):
            box.layout.width = "110px"
        self.show_grid.observe(lambda _change: self._redraw_overlays(), "value")
        self.show_samples.observe(self._on_show_samples, "value")
        self.readout = W.HTML()
        self.readout.add_class("nfw-readout")
        self.message = W.HTML(layout=W.Layout(display="none"))
        self.message.add_class("nfw-message")
        self.warning = W.HTML(layout=W.Layout(display="none"))
        self.warning.add_class("nfw-warning")
        self.status = W.HTML()
        self.status.add_class("nfw-status")
        self.add_class("nfw-explorer")
        if self.css_class != "nfw-explorer":
            self.add_class(self.css_class)
        self._draw_base()

    # --- layout helpers for subclasses -------------------------------------------------------
    def _layout(self, control_rows: list[W.Widget], extra_panels: list[W.Widget] = ()) -> None:
        figures = W.HBox([p.widget for p in self.panels.values()] + list(extra_panels),
                         layout=W.Layout(flex_flow="row wrap"))
        toggles = W.HBox([self.show_grid, self.show_samples, self.status])
        self.children = [W.VBox(control_rows), self.readout, self.warning, self.message,
                         figures, toggles]

    # --- redraw ------------------------------------------------------------------------------
    def request_redraw(self) -> None:
        """Redraw soon. Synchronously if ``redraw_delay`` is 0 or no event loop runs. Else an
        isolated change (a click, a key press, the first event of a drag) is drawn at once in
        full, and later changes of the same gesture are gathered into one coarse redraw after
        ``redraw_delay`` (a burst ends on the picture of the last state); the full grid follows
        0.3 s after the last change."""
        loop = self._deferred_loop()
        if loop is None:
            return
        if self._starts_gesture() and self._pending is None:
            self._redraw_now(self.resolution)
            return
        if self._pending is None:  # later changes in the window are drawn by this redraw
            self._pending = loop.call_later(self.redraw_delay, self._on_pending,
                                            self.coarse_resolution)
        if self._settle is not None:
            self._settle.cancel()
        self._settle = loop.call_later(0.3, self._on_settle)

    def _on_pending(self, resolution: int) -> None:
        self._pending = None
        self._redraw_now(resolution)

    def _on_settle(self) -> None:
        """Changes stopped: draw the full grid unless it is already on screen."""
        self._settle = None
        if self._pending is None and (self.last_frame is None
                                      or self.last_frame.resolution != self.resolution):
            self._redraw_now(self.resolution)

    def redraw(self, resolution: int | None = None) -> None:
        """Recompute everything and redraw now (synchronously; parameters changed from code
        are picked up); errors go to the message area."""
        self.view.invalidate()
        self._redraw_now(resolution)

    def _parameters_changed(self) -> None:
        self.view.invalidate()

    def _redraw_now(self, resolution: int | None = None) -> None:
        """Redraw now with the layers the view was not told about kept."""

        def compute() -> Frame:
            with torch.no_grad():  # readouts and checks read parameters: no graph
                self._before_redraw()
            # samples are pushed through the flow only while they are shown
            return self.view.compute(resolution, samples=bool(self.show_samples.value))

        self._publish(compute, lambda frame: f"{frame.resolution}²")

    def _picture_digest(self) -> str:
        return self.panels["density"].digest()

    def _before_redraw(self) -> None:
        """Hook: subclasses update readouts and overlays that depend on the parameters."""

    def _draw(self, frame: Frame) -> None:
        mask = ~frame.unique if not frame.invertible else None
        self.panels["density"].update(frame.density, mask)
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
        set_lines(self._deformed, frame.grid_x, frame.grid_y, self.show_grid.value)
        self._straight.visible = bool(self.show_grid.value)
        if self.show_samples.value and frame.samples is not None:
            set_points(self._points, frame.samples[:, 0], frame.samples[:, 1])
            self._points.visible = True
            self._base_points.visible = True
        else:
            self._points.visible = False
            self._base_points.visible = False

    def _on_show_samples(self, change: dict) -> None:
        if change["new"] and self.last_frame is not None and self.last_frame.samples is None:
            self._redraw_now(self.last_frame.resolution)  # samples were not computed
        else:
            self._redraw_overlays()

    def _draw_base(self) -> None:
        """The base panel never changes: p_z on the grid, straight lines, base samples."""
        base = self.flow.base
        n = self.resolution
        _, _, pts = grid_points(self.bounds, n)
        ref = next(iter(base.buffers()), None)
        with torch.no_grad():
            logp = base.log_prob(pts.to(ref.dtype) if ref is not None else pts)
        self.panels["base"].update(logp.exp().reshape(n, n).float().numpy())
        (x0, x1), (y0, y1) = self.bounds
        k = self.view.n_lines
        lx, ly = np.linspace(x0, x1, k), np.linspace(y0, y1, k)
        xs = np.concatenate([np.repeat(lx[:, None], 2, 1), np.tile([x0, x1], (k, 1))])
        ys = np.concatenate([np.tile([y0, y1], (k, 1)), np.repeat(ly[:, None], 2, 1)])
        set_lines(self._straight, xs, ys)
        samples = self.view._base_samples
        if samples is not None:
            s = samples.float().numpy()
            set_points(self._base_points, s[:, 0], s[:, 1])
        self._base_points.visible = False

    # --- messages ----------------------------------------------------------------------------
    def show_warning(self, text: str | None) -> None:
        """Show (or with ``None`` hide) a warning that is part of the lesson, not an error."""
        set_note(self.warning, text)

    def close(self) -> None:
        """Close every widget model this explorer opened and cancel pending redraws."""
        for handle in (getattr(self, "_pending", None), getattr(self, "_settle", None)):
            if handle is not None:
                handle.cancel()
        self._pending = self._settle = None
        for p in getattr(self, "panels", {}).values():  # a constructor may have failed early
            p.close()
        for widget in _descendants(self):
            widget.close()
        super().close()
