"""Small helpers for the hot path of plot grids: narrow row sums and a cheap tensor listing."""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["module_tensors", "row_sum"]


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


def module_tensors(module: nn.Module, buffers: bool = True) -> list[Tensor]:
    """The parameters (and buffers) of ``module`` and its submodules, in a fixed order.

    What ``parameters()`` and ``buffers()`` list, without their name bookkeeping and
    de-duplication (a tied tensor appears twice): ~10× cheaper, which matters when a redraw
    checks every layer of a stack for changes.
    """
    out = [t for t in module._parameters.values() if t is not None]
    if buffers:
        out.extend(t for t in module._buffers.values() if t is not None)
    for child in module._modules.values():
        if child is not None:
            out.extend(module_tensors(child, buffers))
    return out
