"""Explorer widgets (ipywidgets 8 + bqplot): sliders bound to flows, live exact plots."""

from .base import Explorer
from .builder import FlowBuilder
from .change_of_variables import ChangeOfVariables1D
from .coupling import CouplingExplorer
from .planar import PlanarExplorer
from .radial import RadialExplorer
from .training import TrainingDashboard

__all__ = [
    "ChangeOfVariables1D",
    "CouplingExplorer",
    "Explorer",
    "FlowBuilder",
    "PlanarExplorer",
    "RadialExplorer",
    "TrainingDashboard",
]
