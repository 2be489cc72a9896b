"""Exact densities of a 2-D-latent ``FlowVAE`` on a latent grid (float32 numpy out, rows = z₂,
columns = z₁, like ``nfwidgets.grid``).

- ``posterior_grid``: the true posterior ``ln p(z|x) = ln p(x|z) + ln p(z) - ln p(x)``, with
  ``ln p(x)`` the midpoint-rule integral over the same grid.
- ``q_density_grid``: ``ln q_k(z|x)`` after the image's first k amortised layers, exactly,
  through the engine's inverses: the image's layers are built as engine ``Planar``/``Radial``
  layers over the base ``N(μ(x), σ(x)²)`` and handed to ``nfwidgets.grid.density_grid``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..._checks import check_count
from ...flows.base import DiagonalNormal
from ...flows.compose import Flow
from ...grid import LOG_DENSITY_FLOOR, DensityGrid, check_bounds, density_grid, grid_points
from .amortised import engine_layers
from .model import check_binary

__all__ = ["LatentGrid", "check_grid_size", "decoder_grid", "engine_flow", "log_evidence",
           "log_joint_grid", "posterior_grid", "q_density_grid"]

#: Most cells per side of a latent grid (``grid.grid_points`` allows the same).
MAX_GRID = 4096


def check_grid_size(name: str, n: object) -> int:
    """Cells per side of a latent grid: an integer in [2, MAX_GRID]."""
    return check_count(name, n, owner="FlowVAE", lo=2, hi=MAX_GRID)


@dataclass(frozen=True)
class LatentGrid:
    """``ln p(z|x)`` of one image on a grid: ``xs``, ``ys`` (n,), ``log_density`` (n, n),
    floored at ``LOG_DENSITY_FLOOR``, and ``log_px``, the grid's ``ln p(x)``."""

    xs: np.ndarray
    ys: np.ndarray
    log_density: np.ndarray
    log_px: float


def _check_2d(model) -> None:
    if model.latent_dim != 2:
        raise ValueError(f"latent grids need latent_dim = 2; this FlowVAE has "
                         f"latent_dim = {model.latent_dim}")


@torch.no_grad()
def decoder_grid(model, n: int, bounds) -> tuple[Tensor, Tensor, float]:
    """What every image shares on the grid: the decoder's logits ``ℓ(z)`` at the n² cell
    centres (n², 64), ``ln p(z) - Σⱼ softplus(ℓⱼ(z))`` (n²,), and ``ln`` cell area."""
    _check_2d(model)
    (x0, x1), (y0, y1) = check_bounds(bounds)
    _, _, z = grid_points(bounds, n, dtype=model._dtype())
    logits = model.decoder(z)
    shared = model.log_prior(z) - torch.nn.functional.softplus(logits).sum(-1)
    return logits, shared, math.log((x1 - x0) * (y1 - y0) / (n * n))


@torch.no_grad()
def log_joint_grid(model, x: Tensor, n: int, bounds, decoded=None) -> tuple[Tensor, float]:
    """``(ln p(x|z) + ln p(z) for each image and cell, shape (N, n²); ln cell area)``. The
    decoder runs once on the n² cell centres (or ``decoded``, a kept ``decoder_grid``); every
    image then costs one matrix product, ``ln p(x|z) = x·ℓ(z) - Σⱼ softplus(ℓⱼ(z))``."""
    _check_2d(model)
    x = check_binary(x).to(model._dtype())
    logits, shared, log_area = decoded if decoded is not None else decoder_grid(model, n, bounds)
    return x @ logits.T + shared, log_area


def log_evidence(log_joint: Tensor, log_area: float) -> Tensor:
    """``ln p(x) ≈ ln Σ_cells p(x, z_c) ΔA`` (midpoint rule) from ``log_joint_grid``'s output,
    over the last axis: log-sum-exp of the cells plus ``ln ΔA``, never leaving log space."""
    return torch.logsumexp(log_joint, -1) + log_area


def _one(x: Tensor) -> Tensor:
    x = check_binary(x)
    if x.shape[0] != 1:
        raise ValueError(f"x must be one image (64,) or (1, 64); got shape {tuple(x.shape)}")
    return x


@torch.no_grad()
def posterior_grid(model, x: Tensor, n: int = 200, bounds=((-4.0, 4.0), (-4.0, 4.0))
                   ) -> LatentGrid:
    """The true posterior of one image on an n×n grid (see the module docstring)."""
    log_joint, log_area = log_joint_grid(model, _one(x), n, bounds)
    log_px = log_evidence(log_joint[0], log_area)
    xs, ys, _ = grid_points(bounds, n)
    logp = (log_joint[0] - log_px).clamp(min=LOG_DENSITY_FLOOR).reshape(n, n)
    return LatentGrid(xs=xs.numpy(), ys=ys.numpy(),
                      log_density=np.ascontiguousarray(logp.to(torch.float32).numpy()),
                      log_px=float(log_px))


@torch.no_grad()
def engine_flow(model, x: Tensor, k: int | None = None) -> Flow:
    """One image's posterior ``q_k(z|x)`` as an engine ``Flow``: base ``N(μ(x), σ(x)²)``
    (``DiagonalNormal``) and the image's first ``k`` layers (all K by default)."""
    k = model.layers if k is None else check_count("k", k, owner="FlowVAE (k ≤ its layers)",
                                                   lo=0, hi=model.layers)
    mu, log_sigma, params = model.encode(_one(x))
    base = DiagonalNormal(mu[0].detach(), log_sigma[0].detach())
    return Flow(engine_layers(model.flow, params, 0, k), base=base)


@torch.no_grad()
def q_density_grid(model, x: Tensor, k: int, n: int = 200,
                   bounds=((-4.0, 4.0), (-4.0, 4.0))) -> DensityGrid:
    """Exact ``q_k(z|x)`` on an n×n grid: ``nfwidgets.grid.density_grid`` of
    ``engine_flow(model, x, k)`` (``ln q_k(z) = ln q₀(f⁻¹(z)) + ln|det ∂f⁻¹/∂z|``)."""
    _check_2d(model)
    return density_grid(engine_flow(model, x, k), bounds, n)
