"""Explorer widgets (ipywidgets 8 + bqplot): controls bound to flows, live exact plots.

The widget classes are imported on first use (PEP 562), so importing one widget does not
import the others.
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
