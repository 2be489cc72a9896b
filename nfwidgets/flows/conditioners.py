"""Conditioners of coupling layers: networks (or closed forms) ``(s, t) = NN(z_c)``."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .._checks import MAX_DIM, MAX_WIDTH, as_parameter_tensor, check_batch, check_count, shown

__all__ = ["AdditiveConditioner", "MLPConditioner", "SimpleConditioner"]


def _check_widths(hidden: object, owner: str) -> list[int]:
    """A sequence of hidden-layer widths, each an integer in [1, MAX_WIDTH]."""
    if isinstance(hidden, str) or not isinstance(hidden, Sequence) or not all(
            isinstance(h, numbers.Integral) and not isinstance(h, bool) and 1 <= h <= MAX_WIDTH
            for h in hidden):
        raise ValueError(f"{owner}: hidden must be a sequence of integers in [1, {MAX_WIDTH}] "
                         f"such as (64, 64); got {shown(hidden)}")
    return [int(h) for h in hidden]


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
        owner = "MLPConditioner"
        in_features = check_count("in_features", in_features, owner=owner, hi=MAX_DIM)
        out_features = check_count("out_features", out_features, owner=owner, hi=MAX_DIM)
        widths = _check_widths(hidden, owner)
        if not (isinstance(activation, type) and issubclass(activation, nn.Module)):
            raise ValueError(f"{owner}: activation must be a torch.nn activation class such as "
                             f"nn.ReLU; got {shown(activation)}")
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
        """``z_cond`` (N, d_c) -> ``(s, t)``, each (N, d_t); a NaN row gives NaN rows."""
        check_batch(z_cond, self.in_features, owner="MLPConditioner.forward", name="z_cond",
                    like=self.net[-1].weight)
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
        """``z_cond`` (N, d_c) -> ``(s, t)``, each (N, 1), shared by all transformed coordinates
        (a NaN row gives NaN rows)."""
        check_batch(z_cond, None, owner="SimpleConditioner.forward", name="z_cond",
                    like=self.s_slope)
        # (one conditioning column is its own sum: torch reduces over a width-1 axis slowly)
        c = z_cond if z_cond.shape[-1] == 1 else z_cond.sum(-1, keepdim=True)
        s = self.s_slope * c + self.s_shift
        t = self.t_amplitude * torch.sin(self.t_frequency * c) + self.t_shift
        return s, t


class AdditiveConditioner(nn.Module):
    """NICE's additive coupling function: a shift ``t = MLP(z_c)`` and a log-scale of 0.

    With it an ``AffineCoupling`` becomes NICE's additive coupling ``x_t = z_t + t(z_c)``
    (Dinh et al. 2015, eq. 5), which preserves volume (``log|det J| = 0``). The MLP has two
    hidden ReLU layers; its last layer is zero-initialised, so a fresh layer is the identity.

    Arguments:
        in_features, out_features: numbers of conditioning and transformed coordinates.
        hidden: width of the hidden layers.
    """

    def __init__(self, in_features: int = 1, out_features: int = 1, hidden: int = 32) -> None:
        super().__init__()
        owner = "AdditiveConditioner"
        self.in_features = check_count("in_features", in_features, owner=owner, hi=MAX_DIM)
        out_features = check_count("out_features", out_features, owner=owner, hi=MAX_DIM)
        hidden = check_count("hidden", hidden, owner=owner, hi=MAX_WIDTH)
        self.net = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, out_features))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, z_cond: Tensor) -> tuple[Tensor, Tensor]:
        """``z_cond`` (N, d_c) -> ``(0, t)``, each (N, d_t); a NaN row gives NaN rows."""
        check_batch(z_cond, self.in_features, owner="AdditiveConditioner.forward",
                    name="z_cond", like=self.net[-1].weight)
        t = self.net(z_cond)
        return 0.0 * t, t  # log-scale 0 (0·t, not zeros: a NaN row stays NaN)
