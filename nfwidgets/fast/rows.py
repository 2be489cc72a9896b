"""Row operations on (N, 2) batches without gradient, as complex numbers.

torch broadcasts over a last axis of length 2 several times slower than it adds or multiplies
contiguous complex numbers, and plot grids do such row updates once per layer. Each helper
equals its plain expression (``tests/test_fast_rows.py``) and falls back to it whenever its
preconditions fail: not 2-D rows of 2, not laid out for a complex view, or a gradient is taken.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["join_columns", "row_sum", "rows_axpy", "rows_minus", "rows_scale_add", "tanh_abs"]


def _as_complex(x: Tensor) -> Tensor | None:
    """``x`` (N, 2) as N complex numbers ``x₁ + i x₂`` (a view), or ``None`` if not possible."""
    if (x.dim() != 2 or x.shape[1] != 2 or x.dtype not in (torch.float32, torch.float64)
            or (torch.is_grad_enabled() and x.requires_grad) or x.stride(1) != 1
            or x.stride(0) != 2 or x.storage_offset() % 2):
        return None
    return torch.view_as_complex(x)


def rows_minus(x: Tensor, v: Tensor) -> Tensor:
    """``x - v`` for x (N, d), v (d,)."""
    xc = _as_complex(x)
    if xc is None or (torch.is_grad_enabled() and v.requires_grad) or v.shape != (2,):
        return x - v
    return torch.view_as_real(xc - torch.complex(v[0], v[1]))


def rows_axpy(x: Tensor, t: Tensor, v: Tensor) -> Tensor:
    """``x + t[:, None] * v`` for x (N, d), t (N,) without ±inf (NaN allowed), finite v (d,).

    As complex numbers ``x + t v`` (t real): for finite t and v the products ``t·v₁ - 0·v₂`` and
    ``t·v₂ + 0·v₁`` equal the real ones and a NaN t gives NaN in both; an infinite t would give
    NaN (0·inf) in both coordinates, hence the precondition (planar layers pass t = tanh)."""
    xc = _as_complex(x)
    if (xc is None or t.dim() != 1 or v.shape != (2,)
            or (torch.is_grad_enabled() and (t.requires_grad or v.requires_grad))
            or not bool(torch.isfinite(v).all())):
        return x + t.unsqueeze(-1) * v
    return torch.view_as_real(xc + t * torch.complex(v[0], v[1]))


def rows_scale_add(v: Tensor, f: Tensor, d: Tensor) -> Tensor:
    """``v + f[:, None] * d`` for v (dim,), f (N,), d (N, dim). As complex numbers when ``d`` is
    finite (checked through its sum): then ``f·d₁ - 0·d₂`` equals ``f·d₁`` for any f, ±inf and
    NaN included (up to the sign of a zero)."""
    dc = _as_complex(d)
    if (dc is None or f.dim() != 1 or v.shape != (2,)
            or (torch.is_grad_enabled() and (f.requires_grad or v.requires_grad))
            or not math.isfinite(float(d.sum()))):
        return v + f.unsqueeze(-1) * d
    return torch.view_as_real(dc.mul(f).add_(torch.complex(v[0], v[1])))


def join_columns(a: Tensor, b: Tensor) -> Tensor:
    """``torch.cat([a, b], dim=1)`` for two (N, 1) columns, built as complex ``a + i b``."""
    if (a.dim() == 2 and b.dim() == 2 and a.shape[1] == 1 and b.shape[1] == 1
            and a.dtype == b.dtype and a.dtype in (torch.float32, torch.float64)
            and a.shape[0] == b.shape[0]
            and not (torch.is_grad_enabled() and (a.requires_grad or b.requires_grad))):
        return torch.view_as_real(torch.complex(a[:, 0], b[:, 0]))
    return torch.cat([a, b], dim=1)


def row_sum(t: Tensor) -> Tensor:
    """``t.sum(-1)`` for (N, d): for d ≤ 2 a view or one add (a reduction over so narrow an
    axis costs several times more)."""
    if t.dim() == 2 and t.shape[-1] == 1:
        return t[:, 0]
    if t.dim() == 2 and t.shape[-1] == 2:
        return t[:, 0] + t[:, 1]
    return t.sum(-1)


def tanh_abs(a: Tensor) -> Tensor:
    """``tanh(a)`` as ``2σ(2a) - 1`` without gradient (torch's CPU ``tanh`` costs several
    ``sigmoid``s). The error is absolute, ≤ ~1.5 rounding units of 1, not relative near 0: fit
    for a bounded log-scale ``B tanh(s/B)``, not where a small tanh is subtracted from a nearby
    value (planar layers use ``torch.tanh``). With gradient it is ``torch.tanh``."""
    if torch.is_grad_enabled() and a.requires_grad:
        return torch.tanh(a)
    return torch.sigmoid(a + a).mul_(2.0).sub_(1.0)
