"""Explorer widgets (ipywidgets 8 + bqplot): sliders bound to flows, live exact plots."""

from .base import Explorer
from .planar import PlanarExplorer

__all__ = ["Explorer", "PlanarExplorer"]
