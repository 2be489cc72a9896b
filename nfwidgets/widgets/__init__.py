"""Explorer widgets (ipywidgets 8 + bqplot): controls bound to flows, live exact plots.

The widget classes are imported on first use (PEP 562), so importing one widget does not
import the others.

Bad input: a constructor, ``set(**values)`` and every public method raise ``ValueError`` naming
the parameter, the value and what is allowed (``resolution must be an integer in [8, 1024];
got 2.5``); no other exception, nothing on stderr. ``True`` is not a number; NumPy scalars are
numbers; sizes (resolutions, sample counts, steps) have upper bounds. A refused constructor
leaves nothing behind: its arguments are checked before the first widget model opens, and
whatever it opened before refusing is closed (no open comm, no ``__del__`` message later).
``set()`` refuses a value its control cannot show (outside the slider's range, not one of the
options) instead of clamping it, checks every value before writing any, and a refused call
changes nothing. An error while a learner drags a slider, types into the number box next to it
(``typed_values.TypedValue``: ipywidgets' own readout would clamp or drop the text silently) or
clicks a plot is shown inside the widget (its message area), the control goes back to the value
in use and the last good picture is kept.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

#: Public name → the module (in this package) that defines it.
_WHERE = {
    "ChangeOfVariables1D": ".change_of_variables",
    "CouplingExplorer": ".coupling",
    "Explorer": ".base",
    "FlowBuilder": ".builder",
    "LayerComparison": ".comparison",
    "PlanarExplorer": ".planar",
    "PosteriorExplorer": ".posterior",
    "RadialExplorer": ".radial",
    "SampleGrid": ".sample_grid",
    "TrainingDashboard": ".training",
}

__all__ = sorted(_WHERE)

__getattr__, __dir__ = lazy_attributes(__name__, _WHERE, globals())
