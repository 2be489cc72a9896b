"""Explorer widgets (ipywidgets 8 + bqplot): sliders bound to flows, live exact plots."""

from .base import Explorer
from .coupling import CouplingExplorer
from .planar import PlanarExplorer
from .radial import RadialExplorer

__all__ = ["CouplingExplorer", "Explorer", "PlanarExplorer", "RadialExplorer"]
