"""The flow engine: exact layers, their inverses and log-determinants, composed into flows.

Pure PyTorch; nothing here imports a widget.
"""

from .affine import ElementwiseAffine
from .base import DiagonalNormal, Layer, NotInvertibleError, StandardNormal
from .compose import Flow
from .conditioners import AdditiveConditioner, MLPConditioner, SimpleConditioner
from .coupling import SCALE_RULES, AffineCoupling
from .planar import Planar
from .radial import Radial

__all__ = [
    "SCALE_RULES",
    "AdditiveConditioner",
    "AffineCoupling",
    "DiagonalNormal",
    "ElementwiseAffine",
    "Flow",
    "Layer",
    "MLPConditioner",
    "NotInvertibleError",
    "Planar",
    "Radial",
    "SimpleConditioner",
    "StandardNormal",
]
