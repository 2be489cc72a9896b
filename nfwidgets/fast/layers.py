"""Inverses of the reference layers by faster routes (plot grids, maximum likelihood).

``inverse_where(layer, x, scratch)`` equals ``layer._inverse_where(x)`` to rounding, values and
gradients, for every layer kind (``tests/test_fast_layers.py``); a layer it has no fast route
for goes to the reference. ``log_prob(flow, x)`` is ``flow.log_prob(x)`` through them.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .._checks import check_batch
from ..flows.affine import ElementwiseAffine
from ..flows.base import Layer, StandardNormal
from ..flows.compose import Flow
from ..flows.coupling import AffineCoupling, _log_scale
from ..flows.planar import Planar
from ..flows.radial import Radial
from .planar import planar_forward, planar_inverse_where
from .rows import join_columns, row_sum, rows_minus, rows_scale_add, tanh_abs

__all__ = ["base_log_prob", "flow_inverse_where", "inverse_where", "layer_forward", "log_prob"]

Result = tuple[Tensor, Tensor, Tensor | None]


def layer_forward(layer: Layer, z: Tensor, scratch: dict | None = None
                  ) -> tuple[Tensor, Tensor]:
    """``layer._forward(z)`` on the fastest route (``scratch`` as in ``inverse_where``)."""
    if isinstance(layer, Planar):
        return planar_forward(layer, z, scratch)
    return layer._forward(z)


def inverse_where(layer: Layer, x: Tensor, scratch: dict | None = None) -> Result:
    """``layer._inverse_where(x)`` on the fastest route; ``scratch`` is a dict kept per layer
    by the caller, cleared when the layer changes (planar layers keep û and their table
    there)."""
    if isinstance(layer, Planar):
        return planar_inverse_where(layer, x, scratch)
    if layer.dim != 2:
        return layer._inverse_where(x)
    # (the row helpers fall back to plain torch when a gradient is taken)
    if isinstance(layer, AffineCoupling):
        return _coupling(layer, x)
    if isinstance(layer, ElementwiseAffine):
        z = rows_minus(x, layer.shift) * torch.exp(-layer.log_scale)
        return z, (-layer.log_scale.sum()).expand(x.shape[0]).contiguous(), None
    grad = torch.is_grad_enabled() and (x.requires_grad or any(
        p.requires_grad for p in layer.parameters()))
    if isinstance(layer, Radial) and not grad:
        return _radial(layer, x)
    return layer._inverse_where(x)


def base_log_prob(base: torch.nn.Module, z: Tensor) -> Tensor:
    """``base.log_prob(z)``; for a 2-D ``StandardNormal`` the row sum is one add
    (``row_sum``): torch reduces over a last axis of 2 slowly, and every grid pays it once."""
    if type(base) is StandardNormal and base.dim == 2:
        check_batch(z, 2, owner="StandardNormal.log_prob")
        return -0.5 * row_sum(z * z) - math.log(2 * math.pi)
    return base.log_prob(z)


def flow_inverse_where(flow: Flow, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``flow.inverse_where(x)`` through ``inverse_where``, keeping no stage."""
    flow._check(x, "inverse_where")
    flow._check_like(x, "inverse_where")
    log_det = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    unique = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
    for layer in reversed(flow.layers):
        x, ld, u = inverse_where(layer, x, {})
        log_det = log_det + ld
        if u is not None:
            unique = unique & u
    return x, log_det, unique


def log_prob(flow: Flow, x: Tensor) -> Tensor:
    """``flow.log_prob(x)`` (raising ``NotInvertibleError`` alike), through ``inverse_where``:
    the same values and gradients (maximum-likelihood training uses it)."""
    flow._check(x, "inverse")
    flow._check_invertible()
    z, log_det, _ = flow_inverse_where(flow, x)
    return base_log_prob(flow.base, z) + log_det


def _radial(layer: Radial, x: Tensor) -> Result:
    """The reference's closed form without its guards, valid when ``α + β̂ > eps α``: then r = 0
    at ρ = 0 and 1 + β̂h ≥ (α + β̂)/α > eps, and no point has several preimages."""
    alpha, _, apb = layer.alpha_beta_hat()
    if not float(apb) > torch.finfo(apb.dtype).eps * float(alpha):
        return layer._inverse_where(x)
    diff = rows_minus(x, layer.z0)
    rho = torch.mv(diff * diff, diff.new_ones(2)).sqrt_()  # ‖x - z0‖ on contiguous rows
    if rho.shape[0] and not math.isfinite(float(rho.max())):  # squares overflowed
        rho = torch.hypot(diff[:, 0], diff[:, 1])
    q = apb - rho
    disc = torch.sqrt(torch.addcmul(q * q, rho, 4 * alpha))
    # The root (disc - q)/2 = 2αρ/(disc + q): with S = disc + |q| both forms are 2αρ/S plus
    # max(-q, 0), non-negative terms, so neither sign of q cancels and no branch is needed.
    r = torch.sub(2 * alpha * rho / (disc + torch.abs(q)), torch.clamp(q, max=0.0))
    s = alpha + r
    first = (apb + r) / s  # 1 + β̂h
    second = torch.addcmul(alpha * apb, r, r + 2 * alpha) / (s * s)  # 1 + β̂h + β̂h'r
    z = rows_scale_add(layer.z0, torch.reciprocal(first), diff)
    return z, -torch.log(torch.abs(first * second)), None


def _coupling(layer: AffineCoupling, x: Tensor) -> Result:
    """In 2-D the two groups are single columns: sliced and joined without gathers."""
    first_conditions = layer.mask.tolist()[0] == 1.0
    x_c, x_t = (x[:, 0:1], x[:, 1:2]) if first_conditions else (x[:, 1:2], x[:, 0:1])
    s, t = layer.conditioner(x_c)
    if layer.scale == "tanh":
        ls = layer.bound * tanh_abs(s / layer.bound)
    else:
        ls = _log_scale(s, layer.scale, layer.bound)
    z_t = (x_t - t) * torch.exp(-ls)
    z = join_columns(x_c, z_t) if first_conditions else join_columns(z_t, x_c)
    return z, -row_sum(ls), None
