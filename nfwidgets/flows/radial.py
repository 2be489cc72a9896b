"""Radial flow ``f(z) = z + β h(α, r)(z - z₀)`` with a closed-form inverse."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import as_parameter_tensor, check_flag, check_tensor, refusal, shown
from .base import Layer

__all__ = ["Radial", "beta_hat", "check_alpha"]


def check_alpha(value: object, dtype: torch.dtype) -> float:
    """α as a float: a number > 0 that ``dtype`` holds as a normal number (α is stored as
    log α and used as exp(log α), which must neither round to 0 nor overflow)."""
    alpha = float(as_parameter_tensor("alpha", value, owner="Radial", ndim=0, dtype=dtype))
    if not alpha > 0:
        raise refusal("Radial", "alpha", "a finite number > 0", value)
    info = torch.finfo(dtype)
    if alpha < info.tiny:
        raise ValueError(f"Radial: alpha = {shown(value)} is too small for {dtype}: alpha must "
                         f"be at least {info.tiny:.3g}")
    return alpha


def beta_hat(alpha: Tensor, beta: Tensor) -> Tensor:
    """``β̂ = -α + softplus(β)`` (pyro's reparametrisation), so ``β̂ > -α``: invertible."""
    return -alpha + F.softplus(beta)


class Radial(Layer):
    r"""Radial flow of Rezende & Mohamed (2015), eq. 14 and appendix A.2.

    .. math:: f(z) = z + \beta\, h(\alpha, r)\,(z - z_0), \quad r = \|z - z_0\|, \quad
              h = \frac{1}{\alpha + r},

    .. math:: \log|\det J_f| = (d-1)\log(1 + \beta h) + \log\Bigl(1 + \frac{\alpha\beta}
              {(\alpha + r)^2}\Bigr).

    The map is invertible iff :math:`\beta \ge -\alpha`. With ``constrain=True`` the raw ``beta``
    is reparametrised to :math:`\hat\beta = -\alpha + \operatorname{softplus}(\beta)`
    (pyro's choice), so :math:`\hat\beta > -\alpha`. ``alpha`` must be positive; it is stored as
    ``log_alpha`` so training keeps it positive, and ``layer.alpha = value`` sets it.

    Inverse in closed form: with :math:`\rho = \|x - z_0\|`, :math:`r` is the non-negative root
    of :math:`r^2 + (\alpha + \beta - \rho) r - \alpha\rho = 0`, and
    :math:`z = z_0 + \frac{\alpha + r}{\alpha + \beta + r}(x - z_0)`.

    Arguments:
        z0: centre, shape (D,).
        alpha: positive width of the radial bump.
        beta: raw strength (β̂ = -α + softplus(β) when constrained; β itself otherwise).
        constrain: apply the reparametrisation that guarantees invertibility.

    References:
        D. Rezende and S. Mohamed, "Variational Inference with Normalizing Flows", ICML 2015,
        arXiv:1505.05770.
    """

    def __init__(self, z0: float | Sequence[float] | Tensor, alpha: float | Tensor = 1.0,
                 beta: float | Tensor = 0.0, constrain: bool = True) -> None:
        super().__init__()
        z0_t = as_parameter_tensor("z0", z0, owner="Radial", ndim=1)
        alpha_t = torch.tensor(check_alpha(alpha, z0_t.dtype), dtype=z0_t.dtype)
        beta_t = as_parameter_tensor("beta", beta, owner="Radial", ndim=0, dtype=z0_t.dtype)
        self.dim = int(z0_t.shape[0])
        self.z0 = nn.Parameter(z0_t)
        self.log_alpha = nn.Parameter(torch.log(alpha_t))
        self.beta = nn.Parameter(beta_t)
        self.constrain = check_flag("constrain", constrain, owner="Radial")

    def _reference(self) -> Tensor:
        return self.z0

    @property
    def alpha(self) -> Tensor:
        """α = exp(log_alpha) > 0."""
        return torch.exp(self.log_alpha)

    @alpha.setter
    def alpha(self, value: float) -> None:
        value = check_alpha(value, self.log_alpha.dtype)
        with torch.no_grad():
            self.log_alpha.fill_(math.log(value))

    @property
    def beta_hat(self) -> Tensor:
        """The effective strength β̂ (≥ -α when constrained); a detached copy, for reading."""
        return self.alpha_beta_hat()[1].detach()

    def alpha_beta_hat(self) -> tuple[Tensor, Tensor, Tensor]:
        """``(α, β̂, α + β̂)`` as the maps use them (with gradient); ``α + β̂ = softplus(β)``
        when constrained, computed directly (no cancellation near the boundary)."""
        alpha = self.alpha
        if self.constrain:
            return alpha, beta_hat(alpha, self.beta), F.softplus(self.beta)
        return alpha, self.beta, alpha + self.beta

    def why_not_invertible(self) -> str | None:
        alpha, beta, _ = (float(t.detach()) for t in self.alpha_beta_hat())
        if beta < -alpha:
            return (f"β = {beta:.4g} < -α = {-alpha:.4g}, so the map turns the neighbourhood "
                    "of z0 inside out and has no inverse; use constrain=True or β ≥ -α")
        return None

    def _fold(self) -> tuple[float, float, float] | None:
        """``(α, β̂, r*)`` with ``r* = √(-αβ̂) - α`` when the map folds (β̂ < -α), else ``None``."""
        if self.constrain:  # β̂ = -α + softplus(β) > -α: never folds
            return None
        alpha, beta, _ = self.alpha_beta_hat()
        a, bt = float(alpha.detach()), float(beta.detach())
        if not bt < -a:
            return None
        return a, bt, math.sqrt(-a * bt) - a

    def fold_radius(self) -> float | None:
        r"""Radius of the disc around z₀ whose points have several preimages (``None`` if the map
        is invertible, i.e. β̂ ≥ -α).

        Along each ray from z₀ the map moves the signed distance r to
        :math:`\varphi(r) = r\,(\alpha + \hat\beta + r)/(\alpha + r)`. For β̂ < -α this dips
        below zero: the disc :math:`r < -(\alpha + \hat\beta)` is pushed through z₀ to the
        opposite side (the neighbourhood of z₀ is turned inside out). φ is smallest at
        :math:`r^* = \sqrt{-\alpha\hat\beta} - \alpha`, where
        :math:`\varphi_{\min} = -(\sqrt{-\hat\beta} - \sqrt{\alpha})^2`. A point closer to z₀
        than :math:`|\varphi_{\min}|` is reached once from its own ray and twice from the
        opposite ray: three preimages. The push-forward still has a density there (the sum of
        p_z(z)/|det J(z)| over the three preimages), but the map is not invertible, so the
        flow's one-preimage formula log p_z(f⁻¹(x)) − log|det J| does not give it.

        Returns:
            :math:`|\varphi_{\min}|` as a float, or ``None``.
        """
        fold = self._fold()
        if fold is None:
            return None
        a, bt, r_star = fold
        return abs(r_star * (a + bt + r_star) / (a + r_star))

    def singular_radii(self) -> tuple[float, ...] | None:
        r"""Distances from z₀ at which det J = 0 (``None`` if the map is invertible).

        :math:`\det J = (1 + \hat\beta h)^{d-1}\,\varphi'(r)` vanishes at
        :math:`r^* = \sqrt{-\alpha\hat\beta} - \alpha`, where :math:`\varphi'(r) = 0` (the
        radial fold, mapped onto the circle of radius ``fold_radius()``), and, for d ≥ 2, at
        :math:`r = -(\alpha + \hat\beta)`, where :math:`1 + \hat\beta h = 0` (that whole
        sphere is mapped onto z₀). Between the two, det J < 0: orientation is reversed.

        Returns:
            ``(r*,)`` in 1-D, ``(r*, -(α + β̂))`` otherwise, or ``None``.
        """
        fold = self._fold()
        if fold is None:
            return None
        a, bt, r_star = fold
        return (r_star,) if self.dim == 1 else (r_star, -(a + bt))

    def det_factors(self, r: Tensor) -> tuple[Tensor, Tensor]:
        """``(1 + β̂h, 1 + β̂h + β̂h'r)`` at distance ``r`` (``h = 1/(α + r)``, ``h' = -h²``), as
        ``(α + β̂ + r) h`` and ``((α + r)² + αβ̂) h²``: the sum ``α + β̂`` is ``softplus(β)`` and
        ``(α + r)² + αβ̂ = r(r + 2α) + α(α + β̂)``, so neither cancels when β̂ → -α.
        Elementwise (NaN in, NaN out), like ``log_abs_det`` and ``radius_of_preimage``."""
        check_tensor("r", r, owner="Radial.det_factors")
        alpha, _, apb = self.alpha_beta_hat()
        h = 1.0 / (alpha + r)
        return (apb + r) * h, (r * (r + 2 * alpha) + alpha * apb) * h * h

    def log_abs_det(self, r: Tensor) -> Tensor:
        """``log|det J| = (d - 1) log|1 + β̂h| + log|1 + β̂h + β̂h'r|`` (eq. 14)."""
        check_tensor("r", r, owner="Radial.log_abs_det")
        first, second = self.det_factors(r)
        log_det = torch.log(torch.abs(second))
        if self.dim > 1:  # (in 1-D the first factor is absent, even where it is 0)
            log_det = log_det + (self.dim - 1) * torch.log(torch.abs(first))
        return log_det

    def _forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        alpha, beta, _ = self.alpha_beta_hat()
        diff = z - self.z0
        r = torch.linalg.vector_norm(diff, dim=-1)
        x = z + (beta / (alpha + r))[:, None] * diff
        return x, self.log_abs_det(r)

    def radius_of_preimage(self, rho: Tensor) -> Tensor:
        """``r = ‖z - z₀‖`` from ``ρ = ‖x - z₀‖``: the non-negative root of
        ``r² + (α + β̂ - ρ) r - αρ = 0``, as ``(√D - q)/2`` or ``2αρ/(√D + q)`` (whichever does
        not cancel), ``q = α + β̂ - ρ``. At ``ρ = 0`` it is 0: ``x = z₀`` comes from ``z₀`` (a
        folded map also sends the sphere ``r = -(α + β̂)`` there, where det J = 0)."""
        check_tensor("rho", rho, owner="Radial.radius_of_preimage")
        alpha, _, apb = self.alpha_beta_hat()
        q = apb - rho
        disc = torch.sqrt(q * q + 4 * alpha * rho)
        r = torch.where(q <= 0, 0.5 * (disc - q), 2 * alpha * rho / (q + disc))
        return torch.where(rho == 0, torch.zeros_like(r), r)  # (a NaN ρ gives a NaN r)

    def _inverse_where(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        diff = x - self.z0
        rho = torch.linalg.vector_norm(diff, dim=-1)
        r = self.radius_of_preimage(rho)
        first, _ = self.det_factors(r)
        # z - z0 = (x - z0)/(1 + β̂h); at x = z0 with α + β̂ = 0 that is 0/0 and z = z0.
        nonzero = first != 0
        scale = torch.where(nonzero, 1.0 / torch.where(nonzero, first, 1.0), 1.0)
        z = self.z0 + scale[:, None] * diff
        radius = self.fold_radius()
        return z, -self.log_abs_det(r), None if radius is None else rho >= radius

    def extra_repr(self) -> str:
        return f"dim={self.dim}, constrain={self.constrain}"
