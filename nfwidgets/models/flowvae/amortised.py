"""Amortised flow layers: each example carries its own layer parameters, produced by the
encoder (Rezende & Mohamed 2015, §4.2: "the parameters of the flow are outputs of the
inference network").

The maths is the engine's (``nfwidgets.flows``): the invertibility reparametrisations
``u_hat``/``one_plus_wtu_hat`` (planar) and ``beta_hat`` (radial) act on the last axis, so
applying them to a batch of parameters enforces the constraint per sample (wᵀû > -1 for every
example). Only the batching is new here: a planar layer's ``wᵀz`` becomes a row-wise dot
product, and the radial layer borrows ``Radial``'s own ``_forward``/``det_factors``/
``log_abs_det`` on per-example parameters. ``engine_layers`` builds, for one example, the
engine layers themselves (with their exact inverses), which the latent-grid densities use.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ...flows.planar import Planar, one_plus_wtu_hat, u_hat
from ...flows.radial import Radial, beta_hat

__all__ = ["FLOWS", "AmortisedRadial", "amortised_forward", "engine_layers", "n_flow_params",
           "split_flow_params"]

#: Smallest radial α (a float32-safe positive floor).
ALPHA_FLOOR = 1e-6
#: The amortised layer kinds.
FLOWS = ("planar", "radial")


def n_flow_params(flow: str, dim: int) -> int:
    """Parameters of one layer per example: planar ``w, u ∈ R^D, b`` (2D + 1); radial
    ``z₀ ∈ R^D``, raw ``a`` (α = softplus(a) + 10⁻⁶ > 0) and raw ``β`` (D + 2)."""
    return 2 * dim + 1 if flow == "planar" else dim + 2


def split_flow_params(flow: str, dim: int, raw: Tensor) -> list[tuple[Tensor, ...]]:
    """Cut the encoder's flow output, shape (N, K·n_flow_params), into K layers' parameters:
    planar ``(w (N, D), u (N, D), b (N,))``, radial ``(z0 (N, D), alpha (N,), beta (N,))``."""
    per = n_flow_params(flow, dim)
    layers = []
    for k in range(raw.shape[-1] // per):
        p = raw[..., k * per:(k + 1) * per]
        if flow == "planar":
            layers.append((p[..., :dim], p[..., dim:2 * dim], p[..., 2 * dim]))
        else:  # α = softplus(a) + ALPHA_FLOOR: no overflow (unlike exp), and α > 0 even when
            # softplus underflows to 0, so the engine's Radial (α > 0) can hold every example
            layers.append((p[..., :dim], F.softplus(p[..., dim]) + ALPHA_FLOOR, p[..., dim + 1]))
    return layers


def planar_forward(z: Tensor, w: Tensor, u: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """``f(z) = z + û tanh(wᵀz + b)`` with one ``(w, u, b)`` per row of ``z`` (eq. 10):
    ``û = u_hat(w, u)`` row by row, and ``ln|det J| = ln|1 + (1 - h²) wᵀû|`` by the engine's
    ``Planar.log_abs_det`` (eq. 12, appendix A.1)."""
    one_plus_c = one_plus_wtu_hat(w, u)
    h = torch.tanh((z * w).sum(-1) + b)
    return z + h[:, None] * u_hat(w, u), Planar.log_abs_det(h, one_plus_c - 1.0, one_plus_c)


class AmortisedRadial:
    """A radial layer (eq. 14) with one ``(z₀, α, β)`` per example: ``Radial``'s own map and
    log-det (``_forward``, ``det_factors``, ``log_abs_det``) run on parameter batches, since
    they only combine ``α``, ``β̂`` and ``r`` elementwise. β̂ = beta_hat(α, β) > -α per sample."""

    _forward = Radial._forward
    det_factors = Radial.det_factors
    log_abs_det = Radial.log_abs_det

    def __init__(self, z0: Tensor, alpha: Tensor, beta: Tensor) -> None:
        self.z0, self.alpha, self.beta, self.dim = z0, alpha, beta, int(z0.shape[-1])

    def alpha_beta_hat(self) -> tuple[Tensor, Tensor, Tensor]:
        """``(α, β̂, α + β̂ = softplus(β))`` per example, as ``Radial.alpha_beta_hat``."""
        return self.alpha, beta_hat(self.alpha, self.beta), F.softplus(self.beta)


def amortised_forward(flow: str, z: Tensor, params: list[tuple[Tensor, ...]]
                      ) -> tuple[Tensor, Tensor]:
    """Push ``z`` (N, D) through the K per-example layers: ``(z_K, Σₖ ln|det Jₖ(z_{k-1})|)``."""
    total = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
    for p in params:
        if flow == "planar":
            z, ld = planar_forward(z, *p)
        else:
            z, ld = AmortisedRadial(*p)._forward(z)
        total = total + ld
    return z, total


def engine_layers(flow: str, params: list[tuple[Tensor, ...]], index: int = 0
                  ) -> list[Planar | Radial]:
    """The engine's own ``Planar``/``Radial`` layers (constrained, exact inverses) holding
    example ``index``'s parameters: the same map as ``amortised_forward`` for that example."""
    layers: list[Planar | Radial] = []
    for p in params:
        a, b_, c = (t[index].detach() for t in p)
        layers.append(Planar(a, b_, c) if flow == "planar" else Radial(a, b_, c))
    return layers
