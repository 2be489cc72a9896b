"""Affine coupling layer (RealNVP) with choosable split, scale rule and conditioner."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import MAX_DIM, as_parameter_tensor, check_batch, check_choice, check_real, shown
from .base import Layer
from .conditioners import MLPConditioner

__all__ = ["SCALE_RULES", "AffineCoupling"]

#: Names of the rules that turn the conditioner's raw output ``s`` into a log-scale.
SCALE_RULES = ("exp", "tanh", "softclip", "sigmoid")


def _log_scale(s: Tensor, rule: str, bound: float) -> Tensor:
    """Log-scale from the raw conditioner output under one of ``SCALE_RULES``."""
    if rule == "exp":  # unbounded: scale = exp(s)   (normflows, NICE/RealNVP in its plain form)
        return s
    if rule == "tanh":  # scale = exp(B tanh(s / B))   (RealNVP's bounded form)
        return bound * torch.tanh(s / bound)
    if rule == "softclip":  # scale = exp(s / (1 + |s| / B))   (zuko's soft clip)
        return s / (1 + torch.abs(s) / bound)
    # "sigmoid": scale = σ(s + 2)   (Glow); log σ(v) = -softplus(-v)
    return -F.softplus(-(s + 2.0))


def _check_conditioner(conditioner: object, mask: Tensor, n_trans: int) -> None:
    """A module that maps one row of conditioning coordinates to ``(s, t)`` of width d_t or 1
    (tried once on a row of zeros, so a mismatch shows here rather than at the first call)."""
    allowed = (f"a torch.nn.Module mapping (N, {int(mask.sum())}) to (s, t), each (N, "
               f"{n_trans}) or (N, 1), such as MLPConditioner({int(mask.sum())}, {n_trans})")
    if not isinstance(conditioner, nn.Module):
        raise ValueError(f"AffineCoupling: conditioner must be {allowed}; got {shown(conditioner)}")
    ref = next((p for p in conditioner.parameters() if p.is_floating_point()), mask)
    try:  # (in the conditioner's own dtype: only the shapes are checked here)
        with torch.no_grad():
            s, t = conditioner(ref.new_zeros(1, int(mask.sum())))
        ok = all(isinstance(v, Tensor) and v.shape in ((1, n_trans), (1, 1)) for v in (s, t))
    except (RuntimeError, TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"AffineCoupling: conditioner must be {allowed}; got "
                         f"{type(conditioner).__name__}, which does not fit this mask")


class AffineCoupling(Layer):
    r"""Affine coupling layer (Dinh et al. 2017, RealNVP, arXiv:1605.08803, eq. 6–9).

    With a binary mask ``b`` (1 = the coordinate conditions and passes unchanged), write
    :math:`z_c` for the conditioning and :math:`z_t` for the transformed coordinates:

    .. math:: x_c = z_c, \qquad x_t = z_t \odot e^{\ell(z_c)} + t(z_c), \qquad
              \log|\det J| = \textstyle\sum_{j} \ell_j(z_c),

    where :math:`\ell = \text{rule}(s)` is the log-scale obtained from the conditioner's raw
    output ``s`` by one of ``SCALE_RULES``: ``"exp"`` (ℓ = s, unbounded), ``"tanh"``
    (ℓ = B tanh(s/B)), ``"softclip"`` (ℓ = s/(1 + |s|/B)) or ``"sigmoid"`` (ℓ = log σ(s + 2),
    Glow). The Jacobian is triangular, and the inverse is exact:
    :math:`z_t = (x_t - t(x_c)) \odot e^{-\ell(x_c)}`.

    Arguments:
        mask: sequence of 0/1 of length D; 1 marks the conditioning coordinates. In 2-D,
            ``[1, 0]`` means "x₁ conditions x₂" and ``[0, 1]`` the reverse. Stacked layers must
            alternate, or some coordinates are never transformed.
        conditioner: module mapping ``z_c`` (N, d_c) to ``(s, t)``, each (N, d_t) or (N, 1).
            Defaults to ``MLPConditioner(d_c, d_t)``.
        scale: the scale rule, one of ``SCALE_RULES``.
        bound: B for the bounded rules.
    """

    def __init__(self, mask: Sequence[int] | Tensor, conditioner: nn.Module | None = None,
                 scale: str = "tanh", bound: float = 3.0) -> None:
        super().__init__()
        m = as_parameter_tensor("mask", mask, owner="AffineCoupling", ndim=1)
        if not bool(((m == 0) | (m == 1)).all()) or bool((m == m[0]).all()):
            raise ValueError(f"AffineCoupling: mask must be 0s and 1s, both (1 = conditions, "
                             f"0 = transformed); got {shown(mask)}")
        if m.shape[0] > MAX_DIM:
            raise ValueError(f"AffineCoupling: mask may have at most {MAX_DIM} entries; got "
                             f"{shown(mask)}")
        self.scale = check_choice("scale", scale, SCALE_RULES, owner="AffineCoupling")
        self.bound = check_real("bound", bound, owner="AffineCoupling", lo=0, lo_open=True)
        self.dim = int(m.shape[0])
        cond = torch.nonzero(m == 1).flatten()
        trans = torch.nonzero(m == 0).flatten()
        self.register_buffer("mask", m)
        self.register_buffer("cond_index", cond, persistent=False)
        self.register_buffer("trans_index", trans, persistent=False)
        # x = cat([x_c, x_t])[:, unpermute] puts every coordinate back in its place.
        self.register_buffer("unpermute", torch.argsort(torch.cat([cond, trans])),
                             persistent=False)
        if conditioner is None:
            conditioner = MLPConditioner(int(cond.numel()), int(trans.numel()))
        _check_conditioner(conditioner, m, int(trans.numel()))
        self.conditioner = conditioner

    def _reference(self) -> Tensor:
        return self.mask

    def _scale_shift(self, v_cond: Tensor, n_trans: int) -> tuple[Tensor, Tensor]:
        s, t = self.conditioner(v_cond)
        ls = _log_scale(s, self.scale, self.bound)
        if ls.shape[-1] != n_trans:
            ls = ls.expand(-1, n_trans)
        return ls, t

    def _split(self, v: Tensor) -> tuple[Tensor, Tensor]:
        """``(v_c, v_t)``: the conditioning and the transformed coordinates."""
        return v[:, self.cond_index], v[:, self.trans_index]

    def _join(self, v_c: Tensor, v_t: Tensor) -> Tensor:
        """Put both groups back in their places."""
        return torch.cat([v_c, v_t], dim=1)[:, self.unpermute]

    def _forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        z_c, z_t = self._split(z)
        ls, t = self._scale_shift(z_c, z_t.shape[1])
        x_t = z_t * torch.exp(ls) + t
        return self._join(z_c, x_t), ls.sum(-1)

    def _inverse_where(self, x: Tensor) -> tuple[Tensor, Tensor, None]:
        x_c, x_t = self._split(x)
        ls, t = self._scale_shift(x_c, x_t.shape[1])
        z_t = (x_t - t) * torch.exp(-ls)
        return self._join(x_c, z_t), -ls.sum(-1), None

    def jacobian(self, z: Tensor) -> Tensor:
        r"""The Jacobian :math:`\partial x/\partial z` at base points ``z`` (N, D) -> (N, D, D).

        Ordered as (conditioning, transformed) coordinates the matrix is block-triangular:

        .. math:: \frac{\partial x}{\partial z} = \begin{pmatrix} I & 0 \\
                  \partial x_t/\partial z_c & \operatorname{diag}\bigl(e^{\ell(z_c)}\bigr)
                  \end{pmatrix},

        so :math:`\log|\det J| = \sum_j \ell_j(z_c)` needs no derivative of the conditioner
        (Dinh et al. 2017, eq. 6). The identity, the zero block (exactly 0: x_c does not depend
        on z_t) and the diagonal are filled in directly; only the dense block
        :math:`\partial x_t/\partial z_c = z_t \odot \partial e^{\ell}/\partial z_c +
        \partial t/\partial z_c` is taken by autograd through the conditioner, which must act
        on each row of the batch separately (true of ``MLPConditioner`` and
        ``SimpleConditioner``).
        """
        check_batch(z, self.dim, owner="AffineCoupling.jacobian", name="z",
                    like=self._reference())
        n = z.shape[0]
        with torch.enable_grad():
            z_c, z_t = self._split(z.detach())
            z_c = z_c.clone().requires_grad_(True)
            ls, t = self._scale_shift(z_c, z_t.shape[1])
            scale = torch.exp(ls)
            x_t = z_t * scale + t
            rows = []
            for j in range(x_t.shape[1]):  # one backward pass per transformed coordinate
                (g,) = torch.autograd.grad(x_t[:, j].sum(), z_c, retain_graph=True,
                                           allow_unused=True)
                rows.append(torch.zeros_like(z_c) if g is None else g)
        jac = z.new_zeros(n, self.dim, self.dim)
        cond, trans = self.cond_index, self.trans_index
        jac[:, cond, cond] = 1.0
        jac[:, trans[:, None], cond[None, :]] = torch.stack(rows, dim=1).detach()
        jac[:, trans, trans] = scale.detach()
        return jac

    def extra_repr(self) -> str:
        return f"mask={self.mask.tolist()}, scale={self.scale!r}, bound={self.bound}"
