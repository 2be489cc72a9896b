"""nfwidgets: normalizing flows you can see, on an exact PyTorch flow engine."""

from .figure3 import figure3_panel
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
from .widgets import (
    ChangeOfVariables1D,
    CouplingExplorer,
    FlowBuilder,
    PlanarExplorer,
    RadialExplorer,
    TrainingDashboard,
)

__version__ = "0.1.0"

__all__ = [
    "AffineCoupling",
    "ChangeOfVariables1D",
    "CouplingExplorer",
    "DiagonalNormal",
    "ElementwiseAffine",
    "Flow",
    "FlowBuilder",
    "Layer",
    "MLPConditioner",
    "NotInvertibleError",
    "Planar",
    "PlanarExplorer",
    "Radial",
    "RadialExplorer",
    "SimpleConditioner",
    "StandardNormal",
    "TrainingDashboard",
    "__version__",
    "figure3_panel",
]
