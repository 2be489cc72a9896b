"""Small tensor helpers tuned for the narrow (N, 1) and (N, 2) batches of 2-D flows."""

from __future__ import annotations

from torch import Tensor

__all__ = ["row_sum"]


def row_sum(t: Tensor) -> Tensor:
    """``t.sum(-1)`` for a 2-D tensor (N, d). For d = 1 and d = 2 it is a view or one add:
    torch's reduction over a last axis this narrow costs several times more (~95 µs against
    ~15 µs for 40,000 rows, measured here), and plot grids call it for every layer."""
    d = t.shape[-1]
    if t.dim() == 2 and d == 1:
        return t[:, 0]
    if t.dim() == 2 and d == 2:
        return t[:, 0] + t[:, 1]
    return t.sum(-1)
