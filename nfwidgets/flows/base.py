"""The layer contract every flow layer follows, and the base distributions.

A layer maps base space to data space. ``forward(z) -> (x, log_det)`` with
``log_det = log|det ∂x/∂z|`` of shape ``(N,)``; ``inverse(x) -> (z, log_det)`` returns the
log-determinant of the inverse map, so ``inverse(forward(z)[0])[1] == -forward(z)[1]``
(Papamakarios et al. 2021, "Normalizing Flows for Probabilistic Modeling and Inference",
JMLR 22(57), sec. 2.1).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .._checks import (
    MAX_DIM,
    MAX_POINTS,
    as_parameter_tensor,
    check_batch,
    check_count,
    check_generator,
    check_same_shape,
)

__all__ = ["DiagonalNormal", "Layer", "NotInvertibleError", "StandardNormal",
           "standard_normal_log_prob"]


class NotInvertibleError(ValueError):
    """Raised by ``inverse`` when a layer's parameters make its map non-invertible."""


class Layer(nn.Module):
    """Base class of every flow layer (a bijection of R^dim with a tractable Jacobian).

    Subclasses implement ``_forward`` and ``_inverse_where``; the public methods validate input.
    """

    dim: int

    def _reference(self) -> Tensor:
        """A tensor whose dtype and device the layer computes in."""
        return next(self.parameters())

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Map base points ``z`` (N, dim) to data points; returns ``(x, log|det ∂x/∂z|)``.

        A row of ``z`` holding NaN or ±inf gives a non-finite row of ``x`` and ``log_det``;
        the other rows are exact (NaN propagates row-wise, it is not refused)."""
        check_batch(z, self.dim, owner=f"{type(self).__name__}.forward", name="z",
                    like=self._reference())
        return self._forward(z)

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Map data points ``x`` back; returns ``(z, log|det ∂z/∂x|)``. A NaN/inf row of ``x``
        gives a non-finite row of the result, the other rows are exact (as in ``forward``).

        Raises:
            NotInvertibleError: if the current parameters make the map non-invertible.
        """
        check_batch(x, self.dim, owner=f"{type(self).__name__}.inverse", like=self._reference())
        reason = self.why_not_invertible()
        if reason is not None:
            raise NotInvertibleError(f"{type(self).__name__}.inverse: {reason}")
        z, log_det, _ = self._inverse_where(x)
        return z, log_det

    def inverse_where(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Like ``inverse`` but never raises on non-invertible parameters.

        Returns ``(z, log_det, unique)`` where ``unique`` (bool, shape (N,)) is False at points
        with more than one preimage; there ``z`` is one preimage and the density is not exact.
        A NaN/inf row of ``x`` gives a non-finite row of ``z`` and ``log_det`` (as in
        ``forward``).
        """
        check_batch(x, self.dim, owner=f"{type(self).__name__}.inverse_where",
                    like=self._reference())
        z, log_det, unique = self._inverse_where(x)
        if unique is None:
            unique = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
        return z, log_det, unique

    def why_not_invertible(self) -> str | None:
        """``None`` if the map is a bijection with the current parameters, else the reason."""
        return None

    def _forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def _inverse_where(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """``(z, log_det, unique)``; ``unique = None`` means every point has one preimage."""
        raise NotImplementedError


def standard_normal_log_prob(z: Tensor) -> Tensor:
    """``ln N(z; 0, I) = -½‖z‖² - (D/2) ln 2π`` over the last axis (D = ``z.shape[-1]``), no
    input checks: the one formula behind ``StandardNormal``, Glow's latents and the VAE prior."""
    return -0.5 * (z * z).sum(-1) - 0.5 * z.shape[-1] * math.log(2 * math.pi)


class StandardNormal(nn.Module):
    """Standard normal N(0, I) on R^dim: ``log p(z) = -½‖z‖² - (dim/2) ln 2π``."""

    def __init__(self, dim: int = 2) -> None:
        super().__init__()
        self.dim = check_count("dim", dim, owner="StandardNormal", hi=MAX_DIM)
        self.register_buffer("_anchor", torch.zeros(()))

    def log_prob(self, z: Tensor) -> Tensor:
        """Log density at ``z`` (N, dim) -> (N,); NaN at a NaN/inf row of ``z``."""
        check_batch(z, self.dim, owner="StandardNormal.log_prob", name="z")
        return standard_normal_log_prob(z)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Draw ``n`` points (1 ≤ n ≤ ``MAX_POINTS``), shape (n, dim), in this module's dtype
        and device."""
        n = check_count("n", n, owner="StandardNormal.sample", hi=MAX_POINTS)
        check_generator("generator", generator, owner="StandardNormal.sample")
        a = self._anchor
        return torch.randn(n, self.dim, generator=generator, dtype=a.dtype, device=a.device)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class DiagonalNormal(nn.Module):
    """Gaussian with diagonal covariance: ``z = loc + exp(log_scale) ⊙ ε``, ``ε ~ N(0, I)``.

    ``log p(z) = Σⱼ [-½((zⱼ - locⱼ)/σⱼ)² - ln σⱼ] - (dim/2) ln 2π``; loc and log_scale train.
    """

    def __init__(self, loc: Tensor | list[float], log_scale: Tensor | list[float]) -> None:
        super().__init__()
        loc_t = as_parameter_tensor("loc", loc, owner="DiagonalNormal", ndim=1)
        ls_t = as_parameter_tensor("log_scale", log_scale, owner="DiagonalNormal", ndim=1,
                                   dtype=loc_t.dtype)
        check_same_shape("DiagonalNormal", loc=loc_t, log_scale=ls_t)
        self.dim = loc_t.shape[0]
        self.loc = nn.Parameter(loc_t)
        self.log_scale = nn.Parameter(ls_t)

    def log_prob(self, z: Tensor) -> Tensor:
        """Log density at ``z`` (N, dim) -> (N,); non-finite at a NaN/inf row of ``z``."""
        check_batch(z, self.dim, owner="DiagonalNormal.log_prob", name="z", like=self.loc)
        e = (z - self.loc) * torch.exp(-self.log_scale)
        return (-0.5 * (e * e) - self.log_scale).sum(-1) - 0.5 * self.dim * math.log(2 * math.pi)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Draw ``n`` points (1 ≤ n ≤ ``MAX_POINTS``), shape (n, dim)."""
        n = check_count("n", n, owner="DiagonalNormal.sample", hi=MAX_POINTS)
        check_generator("generator", generator, owner="DiagonalNormal.sample")
        eps = torch.randn(n, self.dim, generator=generator, dtype=self.loc.dtype,
                          device=self.loc.device)
        return self.loc + torch.exp(self.log_scale) * eps
