"""Affine coupling layer (RealNVP) with choosable split, scale rule and conditioner."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import as_parameter_tensor, check_batch
from ._ops import join_columns, row_sum, tanh_abs
from .base import Layer

__all__ = ["SCALE_RULES", "AffineCoupling", "MLPConditioner", "SimpleConditioner"]

#: Names of the rules that turn the conditioner's raw output ``s`` into a log-scale.
SCALE_RULES = ("exp", "tanh", "softclip", "sigmoid")


def _log_scale(s: Tensor, rule: str, bound: float) -> Tensor:
    """Log-scale from the raw conditioner output under one of ``SCALE_RULES``."""
    if rule == "exp":  # unbounded: scale = exp(s)   (normflows, NICE/RealNVP in its plain form)
        return s
    if rule == "tanh":  # scale = exp(B tanh(s / B))   (RealNVP's bounded form)
        return bound * tanh_abs(s / bound)  # torch.tanh when a gradient is taken
    if rule == "softclip":  # scale = exp(s / (1 + |s| / B))   (zuko's soft clip)
        return s / (1 + torch.abs(s) / bound)
    # "sigmoid": scale = σ(s + 2)   (Glow); log σ(v) = -softplus(-v)
    return -F.softplus(-(s + 2.0))


class MLPConditioner(nn.Module):
    """Conditioner network ``(s, t) = NN(z_c)``: an MLP from the d_c conditioning coordinates to
    2·d_t outputs (a log-scale and a shift for each transformed coordinate).

    The last layer is zero-initialised, so a fresh coupling layer is the identity
    (Kingma & Dhariwal 2018, Glow, sec. 3.3).

    Arguments:
        in_features: d_c, the number of conditioning coordinates.
        out_features: d_t, the number of transformed coordinates.
        hidden: widths of the hidden layers.
        activation: a ``torch.nn`` activation class.
    """

    def __init__(self, in_features: int = 1, out_features: int = 1,
                 hidden: Sequence[int] = (64, 64),
                 activation: type[nn.Module] = nn.ReLU) -> None:
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"MLPConditioner: {name} must be a positive integer; got {v!r}")
        widths = [int(h) for h in hidden]
        if any(h < 1 for h in widths):
            raise ValueError(f"MLPConditioner: hidden widths must be positive; got {hidden!r}")
        layers: list[nn.Module] = []
        last = in_features
        for h in widths:
            layers += [nn.Linear(last, h), activation()]
            last = h
        out = nn.Linear(last, 2 * out_features)
        nn.init.zeros_(out.weight)
        nn.init.zeros_(out.bias)
        self.net = nn.Sequential(*layers, out)
        self.in_features = in_features
        self.out_features = out_features

    def forward(self, z_cond: Tensor) -> tuple[Tensor, Tensor]:
        """``z_cond`` (N, d_c) -> ``(s, t)``, each (N, d_t)."""
        s, t = self.net(z_cond).chunk(2, dim=-1)
        return s, t


class SimpleConditioner(nn.Module):
    r"""A closed-form conditioner with five scalar parameters, made for sliders.

    With :math:`c = \sum_{j \in \text{cond}} z_j` (the sum of the conditioning coordinates):

    .. math:: s(c) = \text{s\_slope}\,c + \text{s\_shift}, \qquad
              t(c) = \text{t\_amplitude}\,\sin(\text{t\_frequency}\,c) + \text{t\_shift},

    applied to every transformed coordinate. In 2-D with "x₁ conditions x₂" this stretches x₂ by
    ``exp(s(x₁))`` and bends it by the sine wave ``t(x₁)``.
    """

    PARAMETERS = ("s_slope", "s_shift", "t_amplitude", "t_frequency", "t_shift")

    def __init__(self, s_slope: float = 0.0, s_shift: float = 0.0, t_amplitude: float = 0.0,
                 t_frequency: float = 1.0, t_shift: float = 0.0) -> None:
        super().__init__()
        values = dict(s_slope=s_slope, s_shift=s_shift, t_amplitude=t_amplitude,
                      t_frequency=t_frequency, t_shift=t_shift)
        for name, v in values.items():
            t = as_parameter_tensor(name, v, owner="SimpleConditioner", ndim=0)
            setattr(self, name, nn.Parameter(t))

    def forward(self, z_cond: Tensor) -> tuple[Tensor, Tensor]:
        """``z_cond`` (N, d_c) -> ``(s, t)``, each (N, 1), shared by all transformed coordinates."""
        c = row_sum(z_cond).unsqueeze(-1)
        s = self.s_slope * c + self.s_shift
        t = self.t_amplitude * torch.sin(self.t_frequency * c) + self.t_shift
        return s, t


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
        if not bool(((m == 0) | (m == 1)).all()):
            raise ValueError(f"AffineCoupling: mask entries must be 0 or 1; got {m.tolist()}")
        if bool((m == 1).all()) or bool((m == 0).all()):
            raise ValueError(f"AffineCoupling: mask must mix 0s and 1s (some coordinates "
                             f"condition, the others are transformed); got {m.tolist()}")
        if scale not in SCALE_RULES:
            raise ValueError(f"AffineCoupling: scale must be one of {SCALE_RULES}; got {scale!r}")
        if not (isinstance(bound, int | float) and math.isfinite(bound) and bound > 0):
            raise ValueError(f"AffineCoupling: bound must be a finite number > 0; got {bound!r}")
        self.dim = int(m.shape[0])
        cond = torch.nonzero(m == 1).flatten()
        trans = torch.nonzero(m == 0).flatten()
        self.register_buffer("mask", m)
        self.register_buffer("cond_index", cond, persistent=False)
        self.register_buffer("trans_index", trans, persistent=False)
        # x = cat([x_c, x_t])[:, unpermute] puts every coordinate back in its place.
        self.register_buffer("unpermute", torch.argsort(torch.cat([cond, trans])),
                             persistent=False)
        # Fast path: when the two groups are contiguous blocks ([1, 0], [0, 0, 1, 1], ...) they
        # are taken by slicing and put back by concatenation, with no gathers.
        n_c = int(cond.numel())
        if bool((cond == torch.arange(n_c)).all()):
            self._blocks: tuple[slice, slice, bool] | None = (slice(0, n_c),
                                                               slice(n_c, None), True)
        elif bool((trans == torch.arange(self.dim - n_c)).all()):
            self._blocks = (slice(self.dim - n_c, None), slice(0, self.dim - n_c), False)
        else:
            self._blocks = None
        if conditioner is None:
            conditioner = MLPConditioner(int(cond.numel()), int(trans.numel()))
        self.conditioner = conditioner
        self.scale = scale
        self.bound = float(bound)

    def _reference(self) -> Tensor:
        return self.mask

    def _scale_shift(self, v_cond: Tensor, n_trans: int) -> tuple[Tensor, Tensor]:
        s, t = self.conditioner(v_cond)
        ls = _log_scale(s, self.scale, self.bound)
        if ls.shape[-1] != n_trans:
            ls = ls.expand(-1, n_trans)
        return ls, t

    def _split(self, v: Tensor) -> tuple[Tensor, Tensor]:
        if self._blocks is not None:
            return v[:, self._blocks[0]], v[:, self._blocks[1]]
        return v[:, self.cond_index], v[:, self.trans_index]

    def _join(self, v_c: Tensor, v_t: Tensor) -> Tensor:
        if self._blocks is not None:
            return join_columns(v_c, v_t) if self._blocks[2] else join_columns(v_t, v_c)
        return torch.cat([v_c, v_t], dim=1)[:, self.unpermute]

    def _forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        z_c, z_t = self._split(z)
        ls, t = self._scale_shift(z_c, z_t.shape[1])
        x_t = torch.addcmul(t, z_t, torch.exp(ls))
        return self._join(z_c, x_t), row_sum(ls)

    def _inverse_where(self, x: Tensor) -> tuple[Tensor, Tensor, None]:
        x_c, x_t = self._split(x)
        ls, t = self._scale_shift(x_c, x_t.shape[1])
        z_t = (x_t - t) * torch.exp(-ls)
        return self._join(x_c, z_t), -row_sum(ls), None

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
        check_batch(z, self.dim, owner="AffineCoupling.jacobian", like=self._reference())
        n = z.shape[0]
        with torch.enable_grad():
            z_c, z_t = self._split(z.detach())
            z_c = z_c.clone().requires_grad_(True)
            ls, t = self._scale_shift(z_c, z_t.shape[1])
            scale = torch.exp(ls)
            x_t = torch.addcmul(t, z_t, scale)
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
