"""Elementwise affine layer ``x = z ⊙ exp(log_scale) + shift``."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .._checks import as_parameter_tensor, check_same_shape
from .base import Layer

__all__ = ["ElementwiseAffine"]


class ElementwiseAffine(Layer):
    r"""Elementwise affine map (diagonal linear flow).

    .. math:: x = z \odot e^{s} + t, \qquad \log|\det J| = \textstyle\sum_j s_j,
              \qquad z = (x - t) \odot e^{-s}.

    Parametrising the scale by its logarithm keeps it positive, so the map is always invertible
    (Dinh et al. 2015, NICE, arXiv:1410.8516, sec. 3.3, the diagonal scaling layer).

    Arguments:
        log_scale: s, shape (D,).
        shift: t, shape (D,).
    """

    def __init__(self, log_scale: Sequence[float] | Tensor, shift: Sequence[float] | Tensor
                 ) -> None:
        super().__init__()
        s = as_parameter_tensor("log_scale", log_scale, owner="ElementwiseAffine", ndim=1)
        t = as_parameter_tensor("shift", shift, owner="ElementwiseAffine", ndim=1, dtype=s.dtype)
        check_same_shape("ElementwiseAffine", log_scale=s, shift=t)
        self.dim = int(s.shape[0])
        self.log_scale = nn.Parameter(s)
        self.shift = nn.Parameter(t)

    def _reference(self) -> Tensor:
        return self.log_scale

    def _forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        x = z * torch.exp(self.log_scale) + self.shift
        return x, self.log_scale.sum().expand(z.shape[0]).clone()  # a fresh (N,) tensor

    def _inverse_where(self, x: Tensor) -> tuple[Tensor, Tensor, None]:
        z = (x - self.shift) * torch.exp(-self.log_scale)
        return z, (-self.log_scale.sum()).expand(x.shape[0]).clone(), None

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
