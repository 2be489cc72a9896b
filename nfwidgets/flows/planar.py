"""Planar flow ``f(z) = z + û tanh(wᵀz + b)`` (Rezende & Mohamed 2015, eq. 10–12, App. A.1)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import (
    as_parameter_tensor,
    check_broadcastable,
    check_flag,
    check_same_shape,
    check_tensor,
)
from .base import Layer

__all__ = ["Planar", "fold_interval", "one_plus_wtu_hat", "singular_projections",
           "solve_projection", "u_hat"]


def u_hat(w: Tensor, u: Tensor) -> Tensor:
    r"""The reparametrised ``û`` of App. A.1, which makes ``wᵀû = -1 + softplus(wᵀu) > -1``:

    .. math:: \hat u = u + \bigl(m(w^\top u) - w^\top u\bigr)\frac{w}{\|w\|^2}, \qquad
              m(a) = -1 + \operatorname{softplus}(a).

    Works on the last axis, so a stack of K layers, ``w`` and ``u`` of shape (K, D), gives K û
    at once. ``w = 0`` gives ``û = u`` (the map is then a translation). The correction is
    computed as ``((m - wᵀu)/‖w‖) (w/‖w‖)`` so that a tiny ``‖w‖`` cannot overflow ``‖w‖²``;
    a ``‖w‖`` below the smallest normal float counts as ``w = 0`` (``w_is_zero``), where
    ``1/‖w‖`` would overflow.
    """
    wtu = (w * u).sum(-1, keepdim=True)
    norm = torch.linalg.vector_norm(w, dim=-1, keepdim=True)
    zero = w_is_zero(norm)
    safe = torch.where(zero, torch.ones_like(norm), norm)  # w = 0: no correction
    m = -1.0 + F.softplus(wtu)
    return u + torch.where(zero, 0.0, (m - wtu) / safe) * (w / safe)


def w_is_zero(norm: Tensor) -> Tensor:
    """``‖w‖`` too small to reparametrise: 0, or below the dtype's smallest normal number.
    ``u_hat`` and ``one_plus_wtu_hat`` share this test, so the map and its log-det agree."""
    return norm < torch.finfo(norm.dtype).tiny


def one_plus_wtu_hat(w: Tensor, u: Tensor) -> Tensor:
    """``1 + wᵀû = softplus(wᵀu)`` (``1`` when ``w = 0``: ``w_is_zero``), on the last axis like
    ``u_hat``.

    Computed directly, not as ``1 + w @ û``: near the boundary wᵀû → -1 that sum would lose
    the small ``1 + wᵀû`` to rounding, and the log-det near the fold line depends on it."""
    wtu = (w * u).sum(-1)
    zero = w_is_zero(torch.linalg.vector_norm(w, dim=-1))
    return torch.where(zero, torch.ones_like(wtu), F.softplus(wtu))


def singular_projections(c: float, b: float) -> tuple[float, float] | None:
    """Values of ``wᵀz`` where ``det J = 0`` for ``c = wᵀû`` (``None`` when ``c > -1``):
    ``1 + c sech²s = 0`` at ``wᵀz = -b ± s*``, ``cosh² s* = -c``; det J < 0 between the two."""
    if c > -1.0:
        return None
    s = math.acosh(math.sqrt(-c))
    return -b - s, -b + s


def fold_interval(c: float, b: float) -> tuple[float, float] | None:
    """Values of ``wᵀx`` whose points have three preimages (``None`` when ``c ≥ -1``): for
    ``c < -1``, ``α ↦ α + c tanh(α + b)`` has a local maximum at ``α + b = -s*`` and a local
    minimum at ``α + b = s*``, ``cosh² s* = -c``."""
    if c >= -1.0:
        return None
    s = math.acosh(math.sqrt(-c))
    return s - b + c * math.tanh(s), -s - b - c * math.tanh(s)


def solve_projection(y: Tensor, c: Tensor, b: Tensor, max_iter: int = 100) -> Tensor:
    """Solve ``α + c tanh(α + b) = y`` elementwise for ``α = wᵀz``.

    ``g(α) = α + c tanh(α + b) - y`` has ``g(y - |c|) ≤ 0 ≤ g(y + |c|)``, so the bracket
    ``[y - |c|, y + |c|]`` always holds a root (the only one when ``c ≥ -1``). Newton steps are
    taken while they stay in the bracket and at most halve the previous step, otherwise the
    bracket is bisected, so it always converges (``rtsafe``, Numerical Recipes 3rd ed., 9.4).
    A point is frozen once it has converged (Newton from rounding noise would move it again).
    """
    abs_c = torch.abs(c)
    lo, hi = y - abs_c, y + abs_c
    tol = 4 * torch.finfo(y.dtype).eps * (torch.abs(y) + abs_c + 1.0)
    alpha, last = y.clone(), hi - lo
    done = ~torch.isfinite(y)  # a NaN/inf y stays as it is: its row of z is non-finite
    for _ in range(max_iter):
        h = torch.tanh(alpha + b)
        g = alpha + c * h - y
        lo = torch.where(g < 0, alpha, lo)
        hi = torch.where(g > 0, alpha, hi)
        newton = alpha - g / (1.0 + c * (1.0 - h * h))
        ok = (newton >= lo) & (newton <= hi) & (torch.abs(newton - alpha) <= 0.5 * last)
        new = torch.where(done | (g == 0), alpha, torch.where(ok, newton, 0.5 * (lo + hi)))
        last = torch.abs(new - alpha)
        done = done | (g == 0) | (last <= tol) | (hi - lo <= tol)
        alpha = new
        if bool(done.all()):
            break
    return alpha


def implicit_gradient(alpha: Tensor, y: Tensor, c: Tensor, b: Tensor) -> Tensor:
    """``α`` (solved without gradient) with the gradient of the implicit function theorem:
    ``dα = -∂g/∂θ / g'(α)``, attached as a Newton step whose value is zero, ``g - g.detach()``."""
    g = alpha + c * torch.tanh(alpha + b) - y
    dg = (1.0 + c * (1.0 - torch.tanh(alpha + b) ** 2)).detach()
    return alpha - (g - g.detach()) / torch.where(dg != 0, dg, torch.ones_like(dg))


class Planar(Layer):
    r"""Planar flow of Rezende & Mohamed (2015), eq. 10–12 and appendix A.1.

    .. math:: f(z) = z + \hat u\, h(w^\top z + b), \quad h = \tanh, \qquad
              \log|\det J_f(z)| = \log|1 + h'(w^\top z + b)\, w^\top \hat u|.

    Invertible iff :math:`w^\top \hat u \ge -1`. With ``constrain=True`` the raw ``u`` becomes
    ``u_hat(w, u)`` (so :math:`w^\top\hat u > -1`); with ``constrain=False`` ``û = u`` and
    ``inverse`` raises ``NotInvertibleError`` when :math:`w^\top u < -1` (``inverse_where``
    then marks the points with three preimages).

    Inverse (no closed form): with :math:`c = w^\top\hat u` and :math:`y = w^\top x`,
    :math:`\alpha = w^\top z` solves :math:`\alpha + c \tanh(\alpha + b) = y` on the
    bracket :math:`[y - |c|, y + |c|]` (``solve_projection``); then
    :math:`z = x - \hat u \tanh(\alpha + b)`.

    Arguments:
        w: direction, shape (D,).  u: raw translation, shape (D,).  b: scalar bias.
        constrain: apply the reparametrisation that guarantees invertibility.

    References:
        D. Rezende and S. Mohamed, "Variational Inference with Normalizing Flows", ICML 2015,
        arXiv:1505.05770.
    """

    def __init__(self, w: float | Sequence[float] | Tensor, u: float | Sequence[float] | Tensor,
                 b: float | Tensor = 0.0, constrain: bool = True) -> None:
        super().__init__()
        w_t = as_parameter_tensor("w", w, owner="Planar", ndim=1)
        u_t = as_parameter_tensor("u", u, owner="Planar", ndim=1, dtype=w_t.dtype)
        b_t = as_parameter_tensor("b", b, owner="Planar", ndim=0, dtype=w_t.dtype)
        check_same_shape("Planar", w=w_t, u=u_t)
        self.dim = int(w_t.shape[0])
        self.w = nn.Parameter(w_t)
        self.u = nn.Parameter(u_t)
        self.b = nn.Parameter(b_t)
        self.constrain = check_flag("constrain", constrain, owner="Planar")

    def _reference(self) -> Tensor:
        return self.w

    def effective(self) -> tuple[Tensor, Tensor, Tensor]:
        """``(û, c, 1 + c)`` with ``c = wᵀû``: the parameters the maps use (with gradient)."""
        c, one_plus_c = self._c()
        return (u_hat(self.w, self.u) if self.constrain else self.u), c, one_plus_c

    def _c(self) -> tuple[Tensor, Tensor]:
        """``(c, 1 + c)``, ``c = wᵀû``, without computing û."""
        if not self.constrain:
            wtu = self.w @ self.u
            return wtu, 1.0 + wtu
        one_plus_c = one_plus_wtu_hat(self.w, self.u)
        return one_plus_c - 1.0, one_plus_c

    @property
    def u_hat(self) -> Tensor:
        """û, detached (for reading); equals ``u`` when unconstrained or ``w = 0``."""
        return self.effective()[0].detach()

    @property
    def wtu_hat(self) -> Tensor:
        """``c = wᵀû``, detached: the map is invertible iff ``c ≥ -1``."""
        return self._c()[0].detach()

    def why_not_invertible(self) -> str | None:
        if self.constrain:  # c = -1 + softplus(wᵀu) ≥ -1
            return None
        c = float(self.wtu_hat)
        if c < -1.0:
            return (f"wᵀu = {c:.4g} < -1, so the map folds the plane onto itself and has no "
                    "inverse; use constrain=True or choose u with wᵀu ≥ -1")
        return None

    def singular_projections(self) -> tuple[float, float] | None:
        """Values of ``wᵀz`` where ``det J = 0`` (``None`` when ``wᵀû > -1``): see
        ``singular_projections``."""
        return singular_projections(float(self.wtu_hat), float(self.b.detach()))

    def fold_interval(self) -> tuple[float, float] | None:
        """Values of ``wᵀx`` whose points have three preimages (``None`` if invertible): see
        ``fold_interval``."""
        return fold_interval(float(self.wtu_hat), float(self.b.detach()))

    @staticmethod
    def log_abs_det(h: Tensor, c: Tensor, one_plus_c: Tensor) -> Tensor:
        """``log|1 + (1 - h²) c|``, summed as ``(1 + c) - h² c`` so that the small ``1 + c``
        near the boundary c → -1 is not lost to rounding. Elementwise: NaN in, NaN out."""
        check_broadcastable("Planar.log_abs_det", h=h, c=c, one_plus_c=one_plus_c)
        return torch.log(torch.abs(one_plus_c - h * h * c))

    def _forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        u_hat_, c, one_plus_c = self.effective()
        h = torch.tanh(z @ self.w + self.b)
        x = z + h[:, None] * u_hat_
        return x, self.log_abs_det(h, c, one_plus_c)

    def _inverse_where(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        u_hat_, c, one_plus_c = self.effective()
        y = x @ self.w
        alpha = solve_projection(y.detach(), c.detach(), self.b.detach())
        if torch.is_grad_enabled():  # maximum likelihood differentiates through the inverse
            alpha = implicit_gradient(alpha, y, c, self.b)
        h = torch.tanh(alpha + self.b)
        z = x - h[:, None] * u_hat_
        return z, -self.log_abs_det(h, c, one_plus_c), self.unique(y)

    def unique(self, y: Tensor) -> Tensor | None:
        """Where ``y = wᵀx`` has one preimage (``None``: everywhere); False where y is NaN."""
        check_tensor("y", y, owner="Planar.unique")
        fold = None if self.constrain else self.fold_interval()
        return None if fold is None else (y <= fold[0]) | (y >= fold[1])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, constrain={self.constrain}"
