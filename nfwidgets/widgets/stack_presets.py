"""Ready-made stacks of 2-D layers for ``FlowBuilder`` and lesson 04 (engine objects, no widgets).

A preset is a list of fresh layers (float32) that a ``Flow`` composes first to last:
``x = f_K ∘ … ∘ f_1(z)`` with ``log p_x(x) = log p_z(z) - Σₖ log|det J_k|`` (Rezende & Mohamed
2015, arXiv:1505.05770, eq. 7).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._checks import shown
from ..flows.affine import ElementwiseAffine
from ..flows.base import Layer
from ..flows.conditioners import SimpleConditioner
from ..flows.coupling import AffineCoupling
from ..flows.planar import Planar
from ..flows.radial import Radial

__all__ = ["PRESETS", "PRESET_LABELS", "five_affine_layers", "preset_layers", "resolve_preset"]

#: log-scales (s₁, s₂) and shifts (t₁, t₂) of the seed example's five elementwise affine layers.
#: Σ s = (-0.80, +0.40): the composition squeezes x₁ by e^-0.8 ≈ 0.45 and stretches x₂ by
#: e^0.4 ≈ 1.49, so log|det J| = -0.40 everywhere and the peak density rises from 1/2π ≈ 0.159
#: to ≈ 0.24.
FIVE_AFFINE = (
    ((-0.10, 0.05), (0.10, 0.00)),
    ((-0.20, 0.10), (0.00, 0.10)),
    ((-0.15, 0.10), (-0.10, 0.00)),
    ((-0.25, 0.05), (0.05, -0.10)),
    ((-0.10, 0.10), (0.00, 0.05)),
)


def five_affine_layers() -> list[Layer]:
    """The seed example: five ``ElementwiseAffine`` layers whose composition squeezes N(0, I)."""
    return [ElementwiseAffine(list(s), list(t)) for s, t in FIVE_AFFINE]


def _planar_x4() -> list[Layer]:
    # Two layers with wᵀû ≈ 2.6 tear the plane along x₁ = 0 and x₂ = 0 (four blobs); two
    # gentle ones (wᵀû ≈ -0.16) twist the blobs into a pinwheel.
    return [Planar([3.0, 0.0], [1.2, 0.0], 0.0),
            Planar([0.0, 3.0], [0.0, 1.2], 0.0),
            Planar([1.0, 1.0], [0.6, -0.3], 0.0),
            Planar([-1.0, 1.5], [0.5, 0.5], 0.5)]


def _radial_x3() -> list[Layer]:
    # Two expanding bumps (β̂ ≈ 0.8, 0.9) hollow out two holes; one contracting (β̂ ≈ -0.3)
    # gathers mass towards (0.5, -1.5).
    return [Radial([1.0, 1.0], alpha=0.5, beta=1.0),
            Radial([-1.5, 0.5], alpha=0.8, beta=1.5),
            Radial([0.5, -1.5], alpha=1.0, beta=0.0)]


def _coupling(mask: list[int], **params: float) -> AffineCoupling:
    return AffineCoupling(mask, SimpleConditioner(**params), scale="tanh")


def _mixed_8() -> list[Layer]:
    return [Planar([2.5, 0.0], [1.0, 0.3], 0.0),
            Radial([0.5, 1.0], alpha=0.6, beta=1.0),
            _coupling([1, 0], s_slope=0.15, t_amplitude=0.6, t_frequency=1.5),
            ElementwiseAffine([-0.15, 0.05], [0.0, 0.0]),
            Planar([0.0, 2.0], [0.3, 0.8], 0.5),
            Radial([-1.0, -1.0], alpha=0.8, beta=0.3),
            _coupling([0, 1], s_shift=-0.1, t_amplitude=0.4, t_frequency=1.2),
            ElementwiseAffine([0.05, -0.1], [0.0, 0.0])]


#: Preset key → factory of fresh layers.
PRESETS: dict[str, Callable[[], list[Layer]]] = {
    "five_affine": five_affine_layers,
    "planar_x4": _planar_x4,
    "radial_x3": _radial_x3,
    "mixed_8": _mixed_8,
    "empty": list,
}

#: Preset key → the label the builder's dropdown shows (also accepted by ``resolve_preset``).
PRESET_LABELS: dict[str, str] = {
    "five_affine": "five affine layers (seed example)",
    "planar_x4": "planar ×4",
    "radial_x3": "radial ×3",
    "mixed_8": "mixed 8 layers",
    "empty": "empty",
}


def resolve_preset(name: str) -> str:
    """The key of a preset given its key (``"planar_x4"``) or its label (``"planar ×4"``)."""
    if isinstance(name, str):
        if name in PRESETS:
            return name
        for key, label in PRESET_LABELS.items():
            if name == label:
                return key
    allowed = ", ".join(f"{k!r} ({PRESET_LABELS[k]})" for k in PRESETS)
    raise ValueError(f"preset must be one of {allowed}; got {shown(name)}")


def preset_layers(name: str, dtype: torch.dtype = torch.float32) -> list[Layer]:
    """Fresh layers of preset ``name`` (a key or a label of ``PRESETS``), in ``dtype`` (a
    floating torch dtype)."""
    key = resolve_preset(name)
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise ValueError(f"dtype must be a floating torch dtype (torch.float32, torch.float64); "
                         f"got {shown(dtype)}")
    return [layer.to(dtype) for layer in PRESETS[key]()]
