"""What the energies and the toy data sets share: input checks, the mode-region type, a
midpoint-rule log integral and the wall that confines an energy to its box."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from .._checks import (
    MAX_POINTS,
    MAX_SEED,
    check_batch,
    check_count,
    check_dtype,
    check_function,
    shown,
)
from ..grid import grid_points

__all__ = ["Box", "Modes", "box_envelope", "check_points", "check_sample_args", "log_integral"]

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

    def __post_init__(self) -> None:
        if not (isinstance(self.names, tuple | list) and self.names and all(
                isinstance(n, str) for n in self.names)):
            raise ValueError(f"Modes: names must be a non-empty tuple of strings; got "
                             f"{shown(self.names)}")
        check_function("assign", self.assign, owner="Modes")


def check_points(z: object, owner: str) -> None:
    """Raise ``ValueError`` unless ``z`` is a floating-point tensor of shape ``(N, 2)``."""
    check_batch(z, 2, owner=owner, name="z")


def check_sample_args(n: object, seed: object, dtype: object, owner: str) -> None:
    """The arguments every sampler takes: a count (at most ``MAX_POINTS``), a seed and a
    floating dtype."""
    check_count("n", n, owner=owner, hi=MAX_POINTS)
    check_count("seed", seed, owner=owner, lo=0, hi=MAX_SEED)
    check_dtype("dtype", dtype, owner=owner)


def log_integral(log_f: Callable[[Tensor], Tensor], box: Box, cell: float,
                  tile: float = 2.0) -> float:
    """``ln ∫_box exp(log_f(z)) dz`` by the midpoint rule with cells of side ``≤ cell``, in
    float64: the box is cut into tiles of side ``≤ tile``, each a ``grid.grid_points`` grid,
    and the sums are taken in log space (small memory, no overflow)."""
    (a1, b1), (a2, b2) = box
    t1, t2 = math.ceil((b1 - a1) / tile - 1e-9), math.ceil((b2 - a2) / tile - 1e-9)
    s1, s2 = (b1 - a1) / t1, (b2 - a2) / t2
    m = math.ceil(max(s1, s2) / cell - 1e-9)
    partial = []
    for i in range(t1):
        for j in range(t2):
            sub = ((a1 + i * s1, a1 + (i + 1) * s1), (a2 + j * s2, a2 + (j + 1) * s2))
            _, _, points = grid_points(sub, m, dtype=torch.float64)
            partial.append(torch.logsumexp(log_f(points), dim=0))
    return float(torch.logsumexp(torch.stack(partial), dim=0)) + math.log(s1 * s2 / m**2)


def box_envelope(z: Tensor, bounds: Box, width: float) -> Tensor:
    """``E(z) = ½ (d(z)/width)²`` with ``d(z)`` the Euclidean distance from ``z`` to the box."""
    (a1, b1), (a2, b2) = bounds
    lo = torch.tensor([a1, a2], dtype=z.dtype, device=z.device)
    hi = torch.tensor([b1, b2], dtype=z.dtype, device=z.device)
    excess = torch.relu(lo - z) + torch.relu(z - hi)  # per coordinate, 0 inside the box
    return 0.5 * (excess / width).square().sum(dim=1)
