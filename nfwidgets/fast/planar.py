"""Planar layers, fast: a table-seeded inverse for plot grids and a batched forward for training.

Both compute what ``nfwidgets.flows.Planar`` computes (the property tests in
``tests/test_fast_planar.py`` hold them to it); only the route differs.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..flows.planar import Planar, implicit_gradient, one_plus_wtu_hat, solve_projection, u_hat
from .rows import rows_axpy

__all__ = ["TABLE_SIZE", "effective", "planar_forward", "planar_inverse_where", "planar_run",
           "solve_projection_table"]

#: Knots of the interpolation table that seeds the inverse on large batches.
TABLE_SIZE = 1025


def planar_run(layers: list[Planar], z: Tensor) -> tuple[Tensor, Tensor]:
    """Apply consecutive planar layers (one ``constrain`` setting, one dtype) in order:
    ``(x, Σ log_det)``. The parameters of all K layers (û, wᵀû, 1 + wᵀû) are computed in one
    vectorised pass over the stacked (K, D) tensors instead of K small passes: training a
    stack of planar layers spends most of its time on those tiny operations otherwise."""
    w = torch.stack([layer.w for layer in layers])
    u = torch.stack([layer.u for layer in layers])
    if layers[0].constrain:
        u_hats, one_plus_c = u_hat(w, u), one_plus_wtu_hat(w, u)
    else:
        u_hats, one_plus_c = u, 1.0 + (w * u).sum(-1)
    c = one_plus_c - 1.0
    log_dets = []
    for layer, uh, ck, opck in zip(layers, u_hats, c, one_plus_c, strict=True):
        h = torch.tanh(torch.addmv(layer.b.expand(z.shape[0]), z, layer.w))  # wᵀz + b
        z = torch.addr(z, h, uh)  # z + h ûᵀ
        det = torch.addcmul(opck, h * h, ck, value=-1.0)  # (1 + c) - h² c
        log_dets.append(torch.log(det if layer.constrain else torch.abs(det)))
    return z, torch.stack(log_dets).sum(0)


def effective(layer: Planar, scratch: dict | None) -> tuple[Tensor, Tensor, Tensor]:
    """``layer.effective()``, kept in ``scratch`` while no gradient is taken (the caller clears
    ``scratch`` when the layer changes: ``LayerScratch.invalidate``)."""
    if scratch is None or torch.is_grad_enabled():
        return layer.effective()
    if "effective" not in scratch:
        scratch["effective"] = layer.effective()
    return scratch["effective"]


def planar_forward(layer: Planar, z: Tensor, scratch: dict | None = None
                   ) -> tuple[Tensor, Tensor]:
    """``layer._forward(z)`` with fused row updates and û from ``scratch``."""
    u_hat_, c, one_plus_c = effective(layer, scratch)
    h = torch.tanh(torch.addmv(layer.b.expand(z.shape[0]), z, layer.w))
    return torch.addr(z, h, u_hat_), Planar.log_abs_det(h, c, one_plus_c)


def planar_inverse_where(layer: Planar, x: Tensor, scratch: dict | None = None
                         ) -> tuple[Tensor, Tensor, Tensor | None]:
    """``layer._inverse_where(x)`` with the projection solved by ``solve_projection_table``;
    ``scratch`` is a dict kept per layer by the caller (the table and û live there)."""
    u_hat_, c, one_plus_c = effective(layer, scratch)
    y = x @ layer.w
    alpha, h = solve_projection_table(y.detach(), c.detach(), layer.b.detach(), scratch)
    if torch.is_grad_enabled() and (x.requires_grad or any(
            p.requires_grad for p in layer.parameters())):
        alpha = implicit_gradient(alpha, y, c, layer.b)
        h = torch.tanh(alpha + layer.b)
    z = rows_axpy(x, h, -u_hat_)  # x - h ûᵀ
    return z, -Planar.log_abs_det(h, c, one_plus_c), layer.unique(y)


def solve_projection_table(y: Tensor, c: Tensor, b: Tensor, cache: dict | None = None
                           ) -> tuple[Tensor, Tensor]:
    """``(α, tanh(α + b))`` with ``α + c tanh(α + b) = y``, like ``solve_projection``.

    For an invertible layer (``c ≥ -1``) on a large batch (a plot grid), ``α(y)`` is
    interpolated linearly between the knots of a table over the range of ``y`` (two gathers
    and a multiply-add a point), polished by Newton steps until the residual is at rounding
    level (one usually suffices), and points still off go to ``solve_projection``. Small
    batches and folding layers (``c < -1``) go to ``solve_projection`` directly.

    ``cache`` keeps the last table, built over the range of ``y`` widened by a tenth each side,
    and reuses it while ``c`` and ``b`` are unchanged and the range of ``y`` lies inside it and
    spans at least half of it (when only this layer's input moved). The table only seeds the
    polish, so reuse never changes the accuracy of the result.
    """
    n = y.shape[0]
    y_lo, y_hi = (y.min(), y.max()) if n else (y.new_zeros(()), y.new_zeros(()))
    if (float(c) < -1.0 or n < 8 * TABLE_SIZE or not bool(torch.isfinite(y_hi - y_lo))
            or float(y_hi - y_lo) <= 0):
        alpha = solve_projection(y, c, b)
        return alpha, torch.tanh(alpha + b)
    coef, y_lo, y_hi = _cached_table(y_lo, y_hi, c, b, cache)
    pos = (y - y_lo) * ((TABLE_SIZE - 1) / (y_hi - y_lo))
    i = pos.floor().clamp_(0, TABLE_SIZE - 2)
    cell = i.long()
    a0, delta = (row.index_select(0, cell) for row in coef)  # contiguous (n,) gathers
    alpha = torch.addcmul(a0, pos - i, delta)
    # Newton polish: the first step unchecked (a point it spoils, g' ≈ 0 where c = -1, fails
    # the residual test below like any other); torch.tanh keeps α accurate relative to itself.
    one_plus_c = 1.0 + c
    h = torch.tanh(alpha + b)
    dg = torch.addcmul(one_plus_c, h * h, c, value=-1.0)  # 1 + c sech²(α + b) ≥ 0
    alpha = alpha - torch.addcmul(alpha - y, h, c) / dg
    four_eps, abs_c = 4 * torch.finfo(y.dtype).eps, torch.abs(c)
    floor = torch.abs(y) + 1.0
    for k in range(3):
        h = torch.tanh(alpha + b)
        g = torch.addcmul(alpha - y, h, c)  # α + c tanh(α + b) - y
        tol = torch.addcmul(floor + torch.abs(alpha), torch.abs(h), abs_c) * four_eps
        excess = torch.abs(g) - tol  # ≤ 0 iff |g| ≤ tol; NaN (never accepted) for NaN or inf
        if float(excess.max()) <= 0.0:
            return alpha, h
        ok = excess <= 0.0
        if k == 2:
            break
        dg = torch.addcmul(one_plus_c, h * h, c, value=-1.0)
        alpha = torch.where(ok | (dg <= 0), alpha, alpha - g / dg)
    bad = ~ok
    alpha[bad] = solve_projection(y[bad], c, b)
    h[bad] = torch.tanh(alpha[bad] + b)
    return alpha, h


def _cached_table(y_lo: Tensor, y_hi: Tensor, c: Tensor, b: Tensor, cache: dict | None
                  ) -> tuple[Tensor, Tensor, Tensor]:
    """``(table, lo, hi)``: the table in ``cache`` if it covers ``[y_lo, y_hi]`` (see
    ``solve_projection_table``), else a new one over the range widened by a tenth."""
    if cache is None:
        return _table(y_lo, y_hi, c, b), y_lo, y_hi
    lo, hi = float(y_lo), float(y_hi)
    key = (float(c), float(b), y_lo.dtype, y_lo.device)
    hit = cache.get("table")
    if hit is not None and hit[0] == key:
        t_lo, t_hi = float(hit[2]), float(hit[3])
        if t_lo <= lo and hi <= t_hi and 2 * (hi - lo) >= t_hi - t_lo:
            return hit[1], hit[2], hit[3]
    pad = 0.1 * (hi - lo)
    new_lo, new_hi = y_lo - pad, y_hi + pad
    if not bool(torch.isfinite(new_hi - new_lo)):  # the widened range overflows: do not widen
        new_lo, new_hi = y_lo, y_hi
    table = _table(new_lo, new_hi, c, b)
    cache["table"] = (key, table, new_lo, new_hi)
    return table, new_lo, new_hi


def _table(y_lo: Tensor, y_hi: Tensor, c: Tensor, b: Tensor) -> Tensor:
    """Linear interpolant of ``α(y)`` on ``TABLE_SIZE - 1`` equal cells of ``[y_lo, y_hi]``
    (c ≥ -1), shape (2, cells): per cell ``(a0, a1 - a0)``, ``α ≈ a0 + s (a1 - a0)``.

    Knots: ``y(α) = α + c tanh(α + b)`` on α-values dense where tanh bends (|α + b| ≤ 8) and
    sparse where y is affine in α, inverted by ``searchsorted`` and three Newton steps. The
    caller's polish decides accuracy, so the table need only be close.
    """
    dtype, device = y_lo.dtype, y_lo.device
    abs_c = torch.abs(c)
    bend = -b + torch.linspace(-8.0, 8.0, 4 * TABLE_SIZE, dtype=dtype, device=device)
    far = torch.linspace(0.0, 1.0, TABLE_SIZE, dtype=dtype, device=device)
    a_lo = torch.minimum(y_lo - abs_c, bend[0]) - 1.0
    a_hi = torch.maximum(y_hi + abs_c, bend[-1]) + 1.0
    alphas = torch.cat([a_lo + (bend[0] - a_lo) * far[:-1], bend,
                        bend[-1] + (a_hi - bend[-1]) * far[1:]])
    values = alphas + c * torch.tanh(alphas + b)  # non-decreasing because c ≥ -1
    targets = y_lo + (y_hi - y_lo) * far
    i = torch.searchsorted(values, targets).clamp_(1, alphas.shape[0] - 1)
    v0, v1 = values[i - 1], values[i]
    span = torch.where(v1 > v0, v1 - v0, torch.ones_like(v0))
    w = ((targets - v0) / span).clamp_(0.0, 1.0)
    alpha = alphas[i - 1] + w * (alphas[i] - alphas[i - 1])
    for _ in range(3):
        h = torch.tanh(alpha + b)
        dg = 1.0 + c * (1.0 - h * h)
        step = (alpha + c * h - targets) / torch.where(dg > 0, dg, torch.ones_like(dg))
        alpha = alpha - torch.where(dg > 0, step, torch.zeros_like(step))
    a0, a1 = alpha[:-1], alpha[1:]
    return torch.stack([a0, a1 - a0])
