"""What the energies and the toy data sets share: input checks and the mode-region type."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["Box", "Modes", "check_points", "check_sample_args"]

Box = tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class Modes:
    """Named regions of a target that partition the plane, and the rule assigning a point to one.

    Each target builds its ``Modes`` from the same constants and functions that generate it, so
    the regions follow the target's geometry (``diagnostics.mode_masses`` counts in them).

    Attributes:
        names: one name per region, in a fixed order.
        assign: ``(N, 2)`` float64 points → ``(N,)`` long region indices in ``[0, len(names))``.
    """

    names: tuple[str, ...]
    assign: Callable[[Tensor], Tensor]


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_points(z: object) -> None:
    """Raise ``ValueError`` unless ``z`` is a floating-point tensor of shape ``(N, 2)``."""
    if not isinstance(z, Tensor):
        shape = getattr(z, "shape", None)
        got = type(z).__name__ + (f" of shape {tuple(shape)}" if shape is not None else "")
        raise ValueError(
            f"expected a torch.Tensor of shape (N, 2), got {got}; "
            "convert it with torch.as_tensor(...)"
        )
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"expected a tensor of shape (N, 2), got shape {tuple(z.shape)}")
    if not z.is_floating_point():
        raise ValueError(f"expected a floating-point tensor, got dtype {z.dtype}")


def check_sample_args(n: object, seed: object, dtype: object) -> None:
    """The arguments every sampler takes: a count, a seed and a floating dtype."""
    if not _is_int(n) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if not _is_int(seed):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
