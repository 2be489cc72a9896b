"""nfwidgets: normalizing flows you can see, on an exact PyTorch flow engine.

``import nfwidgets`` (and ``nfwidgets.flows``, ``.targets``, ``.train``) imports torch only: the
widgets, which need ipywidgets and bqplot, are imported on first use (PEP 562), e.g. by
``from nfwidgets import PlanarExplorer``.
"""

from __future__ import annotations

from ._lazy import lazy_attributes
from .flows import (
    AffineCoupling,
    DiagonalNormal,
    ElementwiseAffine,
    Flow,
    Layer,
    MLPConditioner,
    NotInvertibleError,
    Planar,
    Radial,
    SimpleConditioner,
    StandardNormal,
)
from .kernel import tune_kernel

__version__ = "0.1.0"

#: Names imported on first use → the module (in this package) that defines them.
_LAZY = {
    "ChangeOfVariables1D": ".widgets.change_of_variables",
    "CouplingExplorer": ".widgets.coupling",
    "FlowBuilder": ".widgets.builder",
    "LayerComparison": ".widgets.comparison",
    "PlanarExplorer": ".widgets.planar",
    "PosteriorExplorer": ".widgets.posterior",
    "RadialExplorer": ".widgets.radial",
    "SampleGrid": ".widgets.sample_grid",
    "TrainingDashboard": ".widgets.training",
    "figure3_panel": ".figure3",
}

__all__ = [
    "AffineCoupling",
    "ChangeOfVariables1D",
    "CouplingExplorer",
    "DiagonalNormal",
    "ElementwiseAffine",
    "Flow",
    "FlowBuilder",
    "Layer",
    "LayerComparison",
    "MLPConditioner",
    "NotInvertibleError",
    "Planar",
    "PlanarExplorer",
    "PosteriorExplorer",
    "Radial",
    "RadialExplorer",
    "SampleGrid",
    "SimpleConditioner",
    "StandardNormal",
    "TrainingDashboard",
    "__version__",
    "figure3_panel",
    "tune_kernel",
]

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
