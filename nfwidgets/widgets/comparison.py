"""``LayerComparison``: a learner's layer function next to the engine's layer, with differences."""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as W

from .._checks import check_count, check_real
from ..comparison_view import ComparisonFrame, ComparisonView, check_student
from ..flows.base import Layer
from ..grid import Bounds
from ..plots import FieldPanel
from ._lifetime import builds_widgets, close_built, is_built
from .base import DENSITY_MAX, LOG_DET_RANGE, _descendants
from .controls import ControlsMixin, set_note
from .scheduler import RedrawScheduler

__all__ = ["DENSITY_DIFFERENCE_RANGE", "LOG_DET_DIFFERENCE_RANGE", "LayerComparison"]

#: Colour range (±, centred at 0) of the density difference learner − reference.
DENSITY_DIFFERENCE_RANGE = 0.05
#: Colour range (±, centred at 0) of the log|det J| difference learner − reference.
LOG_DET_DIFFERENCE_RANGE = 1.0


class LayerComparison(ControlsMixin, W.VBox):
    r"""Your layer next to the reference: density p(x) and log|det J| of both, and the
    differences (yours − reference), on one grid of the data plane.

    The maths is in ``nfwidgets.comparison_view``: each density is
    ``ln p(x) = ln p_z(z) − ln|det ∂f/∂z|(z)`` at the preimage ``z`` of the grid point ``x``
    (Rezende & Mohamed 2015, eq. 5). For a forward function the preimage is the reference's
    exact inverse and the readout also gives the largest distance between your ``x`` and the
    reference's; for an inverse function everything on your side is your own.

    If your function raises, returns the wrong shapes or NaN, the widget says so in its
    message line and greys out the cells concerned: nothing undefined is drawn.

    Arguments:
        student: your function, ``fn(z) -> (x, log_det)`` or, with ``direction="inverse"``,
            ``fn(x) -> (z, log_det)``; it is called on a batch (N, 2) in the reference's dtype.
        reference: the engine layer (``nfwidgets.flows``) with the same parameters.
        direction: ``"forward"`` or ``"inverse"``.
        bounds, resolution: the data-space view and its cells per side.
        density_max: top of the fixed density colour scale.
        panel_size: side of each square panel in CSS pixels.
        redraw_delay: seconds a burst of ``update`` calls is gathered into one redraw.
    """

    css_class = "nfw-layer-comparison"

    @builds_widgets
    def __init__(self, student: Callable, reference: Layer, *, direction: str = "forward",
                 bounds: Bounds = ((-4.0, 4.0), (-4.0, 4.0)), resolution: int = 120,
                 density_max: float = DENSITY_MAX, panel_size: int = 220,
                 redraw_delay: float = 0.0) -> None:
        # Every argument is checked before the first widget model opens.
        density_max = check_real("density_max", density_max, lo=0, lo_open=True, hi=1e6)
        panel_size = check_count("panel_size", panel_size, lo=80, hi=1200)
        self.view = ComparisonView(reference, student, direction, bounds, resolution)
        self.scheduler = RedrawScheduler(self._draw_now, redraw_delay=redraw_delay)
        super().__init__()
        self.bounds = self.view.bounds
        self.controls: dict[str, W.ValueWidget] = {}
        self.last_frame: ComparisonFrame | None = None
        self._make_text_areas()
        self.student_message = W.HTML(layout=W.Layout(display="none"))
        self.student_message.add_class("nfw-student-message")

        def panel(title: str, lo: float, hi: float, cmap: str, label: str, css: str
                  ) -> FieldPanel:
            return FieldPanel(title, self.bounds, lo, hi, cmap, label, panel_size, css)

        d, ld = float(density_max), LOG_DET_RANGE
        self.panels = {
            "reference_density": panel("reference p(x)", 0.0, d, "viridis", "p",
                                       "nfw-figure-reference-density"),
            "student_density": panel("your p(x)", 0.0, d, "viridis", "p",
                                     "nfw-figure-student-density"),
            "density_difference": panel("yours − reference", -DENSITY_DIFFERENCE_RANGE,
                                        DENSITY_DIFFERENCE_RANGE, "RdBu", "Δp",
                                        "nfw-figure-density-difference"),
            "reference_log_det": panel("reference log|det J|", -ld, ld, "RdBu", "log|det J|",
                                       "nfw-figure-reference-log-det"),
            "student_log_det": panel("your log|det J|", -ld, ld, "RdBu", "log|det J|",
                                     "nfw-figure-student-log-det"),
            "log_det_difference": panel("yours − reference", -LOG_DET_DIFFERENCE_RANGE,
                                        LOG_DET_DIFFERENCE_RANGE, "RdBu", "Δ log|det J|",
                                        "nfw-figure-log-det-difference"),
        }
        self.figures = {name: p.figure for name, p in self.panels.items()}
        names = list(self.panels)
        rows = [W.HBox([self.panels[k].widget for k in names[i:i + 3]],
                       layout=W.Layout(flex_flow="row wrap")) for i in (0, 3)]
        self.children = [self.student_message, self.readout, self.message, *rows, self.status]
        self.add_class("nfw-widget")
        self.add_class(self.css_class)
        self.redraw()

    def update(self, student: Callable) -> None:
        """Compare another version of your function (e.g. after fixing it) and redraw."""
        check_student(student)
        self.view.student = student
        self.scheduler.request()

    # --- redraw ------------------------------------------------------------------------------
    def _draw_now(self, full: bool) -> bool:
        return self._publish(self.view.compute, lambda frame: f"{frame.resolution}²")

    def _picture_digest(self) -> str:
        return self.panels["student_density"].digest()

    def _draw(self, frame: ComparisonFrame) -> None:
        mask = frame.mask if frame.mask.any() else None
        p = self.panels
        p["reference_density"].update(frame.reference_density)
        p["reference_log_det"].update(frame.reference_log_det)
        p["student_density"].update(frame.student_density, mask)
        p["student_log_det"].update(frame.student_log_det, mask)
        p["density_difference"].update(frame.density_difference, mask)
        p["log_det_difference"].update(frame.log_det_difference, mask)
        note = frame.message and "⚠ Your function: " + html.escape(frame.message)
        set_note(self.student_message, note or None)
        self.readout.value = _readout(frame)

    def close(self) -> None:
        """Close every widget model this widget opened."""
        if is_built(self):  # a refused constructor has closed what it opened
            for panel in self.panels.values():
                panel.close()
            for widget in _descendants(self):
                widget.close()
            close_built(self)
        super().close()


def _readout(frame: ComparisonFrame) -> str:
    """The largest differences, in words."""
    if frame.max_density_error is None:
        return "no grid point could be compared"
    parts = [f"largest |Δp|: <b>{frame.max_density_error:.3g}</b>",
             f"largest |Δ log|det J||: <b>{frame.max_log_det_error:.3g}</b>",
             f"largest distance between your map and the reference's: "
             f"<b>{frame.max_map_error:.3g}</b>"]
    return " · ".join(parts)
