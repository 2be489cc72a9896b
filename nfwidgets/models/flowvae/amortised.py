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


def split_flow_params(flow: str, dim: int, raw: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The encoder's flow output, shape (N, K·n_flow_params), as the K layers' parameters
    stacked on axis 1: planar ``(w (N, K, D), u (N, K, D), b (N, K))``, radial
    ``(z0 (N, K, D), alpha (N, K), beta (N, K))``."""
    p = raw.reshape(raw.shape[0], -1, n_flow_params(flow, dim))
    if flow == "planar":
        return p[..., :dim], p[..., dim:2 * dim], p[..., 2 * dim]
    # α = softplus(a) + ALPHA_FLOOR: no overflow (unlike exp), and α > 0 even when softplus
    # underflows to 0, so the engine's Radial (α > 0) can hold every example
    return p[..., :dim], F.softplus(p[..., dim]) + ALPHA_FLOOR, p[..., dim + 1]


def planar_forward(z: Tensor, w: Tensor, u: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """``f_K ∘ … ∘ f_1(z)``, ``f_k(z) = z + û_k tanh(w_kᵀz + b_k)`` with each row's own
    ``(w_k, u_k, b_k)`` (eq. 10; ``w``, ``u`` (N, K, D), ``b`` (N, K)): ``û = u_hat(w, u)`` and
    ``1 + wᵀû = one_plus_wtu_hat(w, u)`` for all rows and layers in one vectorised pass (as
    ``nfwidgets.fast.planar_run`` does for a stack), then per layer
    ``ln|det J| = ln|1 + (1 - h²) c|`` by ``Planar.log_abs_det`` (eq. 12)."""
    u_hats, one_plus_c = u_hat(w, u), one_plus_wtu_hat(w, u)
    c = one_plus_c - 1.0
    log_dets = []
    for k in range(w.shape[1]):
        h = torch.tanh((z * w[:, k]).sum(-1) + b[:, k])
        z = z + h[:, None] * u_hats[:, k]
        log_dets.append(Planar.log_abs_det(h, c[:, k], one_plus_c[:, k]))
    total = torch.stack(log_dets).sum(0) if log_dets else z.new_zeros(z.shape[0])
    return z, total


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


def amortised_forward(flow: str, z: Tensor, params: tuple[Tensor, Tensor, Tensor]
                      ) -> tuple[Tensor, Tensor]:
    """Push ``z`` (N, D) through the K per-example layers (``params`` from
    ``split_flow_params``): ``(z_K, Σₖ ln|det Jₖ(z_{k-1})|)``."""
    if flow == "planar":
        return planar_forward(z, *params)
    total = z.new_zeros(z.shape[0])
    z0, alpha, beta = params
    for k in range(z0.shape[1]):
        z, ld = AmortisedRadial(z0[:, k], alpha[:, k], beta[:, k])._forward(z)
        total = total + ld
    return z, total


def engine_layers(flow: str, params: tuple[Tensor, Tensor, Tensor], index: int = 0,
                  k: int | None = None) -> list[Planar | Radial]:
    """The engine's own ``Planar``/``Radial`` layers (constrained, exact inverses) holding
    example ``index``'s first ``k`` layers (default all): the same map as
    ``amortised_forward`` for that example."""
    a, b_, c = (t[index].detach() for t in params)
    k = a.shape[0] if k is None else k
    cls = Planar if flow == "planar" else Radial
    return [cls(a[j], b_[j], c[j]) for j in range(k)]
