"""What the TrainingDashboard trains: seeded flows (planar, radial, coupling), targets, settings.

Construction only (torch, no widgets): every flow is built from a seed without touching the
global RNG, so a dashboard and a bare training loop given the same seed start from the same
parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ._checks import check_choice, check_count, check_real, shown
from .flows.base import StandardNormal
from .flows.compose import Flow
from .flows.conditioners import MLPConditioner
from .flows.coupling import AffineCoupling
from .flows.planar import Planar
from .flows.radial import Radial
from .targets import ENERGY_NAMES, TOY_DATA_NAMES, Energy, energy, toy_data

__all__ = [
    "DRAW",
    "FLOW_KINDS",
    "TARGETS",
    "Target",
    "blob",
    "check_settings",
    "make_flow",
    "make_target",
]

#: Flows the dashboard builds by itself: kind → label.
FLOW_KINDS: dict[str, str] = {
    "planar": "planar × K",
    "radial": "radial × K",
    "coupling": "coupling × K (RealNVP)",
}
#: The target made of the points the learner draws.
DRAW = "draw"
#: Target name → label (toy data sets, energies, drawing).
TARGETS: dict[str, str] = {
    **{name: f"data: {name.replace('_', ' ')}" for name in TOY_DATA_NAMES},
    **{name: f"energy: {name}" for name in ENERGY_NAMES},
    DRAW: "draw points (click the plot)",
}
# β raw value with softplus(β) = 1, i.e. β̂ = -α + softplus(β) = 0 for α = 1: a radial layer
# that starts as the identity.
_RADIAL_IDENTITY_BETA = math.log(math.e - 1.0)


def make_flow(kind: str, n_layers: int, seed: int, hidden: tuple[int, ...] = (64, 64)) -> Flow:
    """A 2-D flow of ``n_layers`` layers of one kind, near the identity, initialised from
    ``seed`` (the global RNG is left as it was).

    - ``"planar"``: ``w, u ~ 0.3·N(0, I)``, ``b = 0`` (Rezende & Mohamed 2015, eq. 10).
    - ``"radial"``: ``z₀ ~ N(0, I)``, ``α = 1``, ``β̂ = 0.1·N(0, 1)`` (eq. 14).
    - ``"coupling"``: affine coupling layers with alternating masks ``[1, 0]``, ``[0, 1]``
      and MLP conditioners (zero-initialised last layer: each layer starts as the identity;
      Dinh et al. 2017, RealNVP).

    Raises:
        ValueError: for an unknown kind or a layer count outside 1..256.
    """
    if kind not in FLOW_KINDS:
        raise ValueError(f"unknown flow kind {kind!r}; choose one of {sorted(FLOW_KINDS)}")
    if not isinstance(n_layers, int) or isinstance(n_layers, bool) or not 1 <= n_layers <= 256:
        raise ValueError(f"the number of layers must be an integer in [1, 256]; "
                         f"got {shown(n_layers)}")
    g = torch.Generator().manual_seed(int(seed))
    if kind == "planar":
        layers = [Planar(0.3 * torch.randn(2, generator=g), 0.3 * torch.randn(2, generator=g),
                         0.0) for _ in range(n_layers)]
    elif kind == "radial":
        layers = [Radial(torch.randn(2, generator=g), 1.0,
                         _RADIAL_IDENTITY_BETA + 0.1 * float(torch.randn((), generator=g)))
                  for _ in range(n_layers)]
    else:
        # nn.Linear initialises from the global RNG: fork it, so it is seeded here and left
        # untouched outside.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            layers = [AffineCoupling([k % 2, 1 - k % 2], MLPConditioner(1, 1, hidden=hidden))
                      for k in range(n_layers)]
    return Flow(layers, base=StandardNormal(2))


def blob(centre: Tensor, n: int, std: float, seed: int) -> Tensor:
    """``n`` points ``centre + std·N(0, I)`` from a generator seeded with ``seed``."""
    g = torch.Generator().manual_seed(int(seed))
    return centre[None, :] + std * torch.randn(n, 2, generator=g, dtype=centre.dtype)


@dataclass(frozen=True)
class Target:
    """What the dashboard fits: data points (maximum likelihood) or an energy (reverse KL).

    Attributes:
        name: a key of ``TARGETS``.
        data: training points (N, 2) for data targets (``None`` for an energy).
        energy: the energy for reverse KL (``None`` for data).
    """

    name: str
    data: Tensor | None = None
    energy: Energy | None = None

    @property
    def is_energy(self) -> bool:
        return self.energy is not None


def _reverse_kl_energy(name: str) -> Energy:
    """The energy fitted by reverse KL: U1 as it is; U2–U4 with ``Energy.confined()`` (a
    smooth wall outside the box), since they are not integrable on ℝ² and reverse KL against
    them has no lower bound (see ``Energy.domain_note``)."""
    target = energy(name)
    return target if name == "U1" else target.confined()


def make_target(name: str, n_data: int, seed: int, drawn: Tensor | None = None) -> Target:
    """The target ``name``: ``n_data`` toy points drawn with ``seed``, an energy, or the points
    drawn so far (``drawn``, possibly empty).

    Raises:
        ValueError: for an unknown name.
    """
    if name not in TARGETS:
        raise ValueError(f"unknown target {name!r}; choose one of {list(TARGETS)}")
    if name == DRAW:
        return Target(name, data=drawn if drawn is not None else torch.zeros(0, 2))
    if name in ENERGY_NAMES:
        return Target(name, energy=_reverse_kl_energy(name))
    return Target(name, data=toy_data(name, n_data, seed=seed))


def check_settings(*, target: object, lr: object, seed: object, resolution: object,
                   coarse_resolution: object, redraw_share: object,
                   numbers: dict[str, tuple[object, float | None]],
                   integers: dict[str, tuple[object, int, int]]) -> dict[str, object]:
    """The dashboard's settings as plain Python numbers, by name; ``ValueError`` naming the
    first bad one and what is allowed.

    ``numbers``: name → (value, largest), each a finite number in ``[0, largest]`` (``None``:
    no largest);
    ``integers``: name → (value, least, largest).
    """
    check_choice("target", target, list(TARGETS))
    out: dict[str, object] = {
        "lr": check_real("lr", lr, lo=0, lo_open=True, hi=10),
        "seed": check_count("seed", seed, lo=0, hi=2**31 - 1),
        "resolution": check_count("resolution", resolution, lo=8, hi=1024),
        "coarse_resolution": check_count("coarse_resolution", coarse_resolution, lo=8,
                                         hi=1024, optional=True),
        "redraw_share": check_real("redraw_share", redraw_share, lo=0, lo_open=True, hi=1)}
    for name, (value, largest) in numbers.items():
        out[name] = check_real(name, value, lo=0, hi=largest)
    for name, (value, least, largest) in integers.items():
        out[name] = check_count(name, value, lo=least, hi=largest)
    return out
