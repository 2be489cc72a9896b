"""FFJORD's 2-D toy data sets (Grathwohl et al. 2019, ``lib/toy_data.py``) and their mode regions.

Each data set's geometry (moon arcs, blob centres, ring radii, pinwheel arms, spiral arms) is
written once and used both to draw the points and to define the mode regions.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
from torch import Tensor

from .._checks import check_real, shown
from ._common import Modes, check_sample_args

__all__ = [
    "ENTROPY_FLOORS",
    "TOY_DATA_DESCRIPTIONS",
    "TOY_DATA_NAMES",
    "entropy_floor",
    "toy_data",
    "toy_data_description",
    "toy_modes",
]

TOY_DATA_NAMES: tuple[str, ...] = (
    "two_moons",
    "eight_gaussians",
    "checkerboard",
    "rings",
    "pinwheel",
    "two_spirals",
)

TOY_DATA_DESCRIPTIONS: dict[str, str] = {
    "two_moons": "Two interleaved half circles (sklearn's make_moons), stretched by 2.",
    "eight_gaussians": "Eight small Gaussian blobs evenly spaced on a circle of radius ≈ 2.83.",
    "checkerboard": "Uniform on the 8 dark squares of a 4 × 4 checkerboard covering [-4, 4]².",
    "rings": "Four concentric noisy circles of radii 0.75, 1.5, 2.25 and 3.",
    "pinwheel": "Five curved arms spiralling out of the origin like a pinwheel.",
    "two_spirals": "Two interleaved spirals, each the point reflection of the other.",
}

#: Entropy H(p) = -E_p[ln p(x)] in nats of the toy data sets where it is known (in the FFJORD
#: scaling). Since E_p[-ln q(x)] = H(p) + KL(p‖q) ≥ H(p), no model q can reach an average
#: test negative log-likelihood below this floor.
#:
#: - checkerboard: uniform on 8 squares of side 2, total area 32, so H = ln 32 ≈ 3.4657.
#: - eight_gaussians: mixture of 8 equal-weight isotropic Gaussians, std 0.5/1.414, centres at
#:   radius 4/1.414. The blobs barely overlap, so H is just below ln 8 + ln(2πe σ²) ≈ 2.8382;
#:   quadrature on a fine grid gives H = 2.83188.
ENTROPY_FLOORS: dict[str, float] = {
    "checkerboard": math.log(32.0),
    "eight_gaussians": 2.8319,
}

#: Keyword options each toy data set accepts, with their defaults.
_TOY_OPTIONS: dict[str, dict[str, float]] = {name: {} for name in TOY_DATA_NAMES}
_TOY_OPTIONS["two_moons"] = {"noise": 0.1}

#: FFJORD's names, to point learners coming from that code base to ours.
_FFJORD_NAMES = {"moons": "two_moons", "8gaussians": "eight_gaussians", "2spirals": "two_spirals"}

_F64 = torch.float64


def _toy_key(name: object) -> str:
    key = name.strip().lower() if isinstance(name, str) else None
    if key not in TOY_DATA_DESCRIPTIONS:
        hint = ""
        if key in _FFJORD_NAMES:
            hint = f" (FFJORD's {key!r} is called {_FFJORD_NAMES[key]!r} here)"
        raise ValueError(f"unknown toy data set {shown(name)}{hint}: name must be one of "
                         f"{', '.join(TOY_DATA_NAMES)} (case-insensitive)")
    return key


# --------------------------------------------------------------------------------------------
# Geometry: each data set's curves or centres, written once
# --------------------------------------------------------------------------------------------

#: two_moons: sklearn's arcs, scaled by 2 and shifted.
_MOON_SCALE, _MOON_SHIFT = 2.0, (-1.0, -0.2)
#: eight_gaussians: centres 4·(cos kπ/4, sin kπ/4), blob std 0.5, everything divided by 1.414.
_EIGHT_RADIUS, _EIGHT_STD, _EIGHT_SHRINK = 4.0, 0.5, 1.414
_COMPASS = ("E", "NE", "N", "NW", "W", "SW", "S", "SE")
#: rings: radii and noise.
_RING_RADII, _RING_NOISE = (0.75, 1.5, 2.25, 3.0), 0.08
#: pinwheel: arms, radial and tangential std, twist, scale.
_ARMS, _RADIAL_STD, _TANGENTIAL_STD, _TWIST, _PINWHEEL_SCALE = 5, 0.3, 0.1, 0.25, 2.0
#: two_spirals: FFJORD's 540° of turn, uniform jitter U(0, ½), scale 1/3, noise 0.1.
_SPIRAL_TURN = 540.0 * 2.0 * math.pi / 360.0
_SPIRAL_JITTER, _SPIRAL_SCALE, _SPIRAL_NOISE = 0.5, 3.0, 0.1


def _moon_arcs(t: Tensor) -> tuple[Tensor, Tensor]:
    """The upper arc ``(cos t, sin t)`` and the lower arc ``(1 - cos t, ½ - sin t)``."""
    c, s = torch.cos(t), torch.sin(t)
    return torch.stack((c, s), dim=1), torch.stack((1.0 - c, 0.5 - s), dim=1)


def _moon_place(x: Tensor) -> Tensor:
    return _MOON_SCALE * x + torch.tensor(_MOON_SHIFT, dtype=x.dtype)


def _eight_centres(k: Tensor) -> Tensor:
    angle = (math.pi / 4.0) * k.to(_F64)
    return _EIGHT_RADIUS * torch.stack((torch.cos(angle), torch.sin(angle)), dim=1)


def _pinwheel_place(arm: Tensor, f0: Tensor, f1: Tensor) -> Tensor:
    """Radial ``f0`` and tangential ``f1`` coordinates on the arm at angle ``arm``, twisted by
    ``0.25·exp(f0)`` and rotated as a row vector by FFJORD's ``[[cos, -sin], [sin, cos]]``."""
    angle = arm + _TWIST * torch.exp(f0)
    c, s = torch.cos(angle), torch.sin(angle)
    return _PINWHEEL_SCALE * torch.stack((f0 * c + f1 * s, -f0 * s + f1 * c), dim=1)


def _spiral_arm(t: Tensor, u0: Tensor | float, u1: Tensor | float) -> Tensor:
    return torch.stack((-torch.cos(t) * t + u0, torch.sin(t) * t + u1), dim=1)


# --------------------------------------------------------------------------------------------
# Samplers: points and the mode (mixture component) each was drawn from
# --------------------------------------------------------------------------------------------


def _two_moons(n: int, g: torch.Generator, noise: float) -> tuple[Tensor, Tensor]:
    lower = torch.randint(0, 2, (n,), generator=g) != 0
    upper_arc, lower_arc = _moon_arcs(math.pi * torch.rand(n, generator=g, dtype=_F64))
    x = torch.where(lower[:, None], lower_arc, upper_arc)
    x = x + noise * torch.randn(n, 2, generator=g, dtype=_F64)
    return _moon_place(x), lower.long()


def _eight_gaussians(n: int, g: torch.Generator) -> tuple[Tensor, Tensor]:
    k = torch.randint(0, 8, (n,), generator=g)
    x = _eight_centres(k) + _EIGHT_STD * torch.randn(n, 2, generator=g, dtype=_F64)
    return x / _EIGHT_SHRINK, k


def _checkerboard(n: int, g: torch.Generator) -> tuple[Tensor, None]:
    x1 = 4.0 * torch.rand(n, generator=g, dtype=_F64) - 2.0
    x2 = torch.rand(n, generator=g, dtype=_F64) - 2.0 * torch.randint(0, 2, (n,), generator=g)
    x2 = x2 + torch.floor(x1) % 2
    return 2.0 * torch.stack((x1, x2), dim=1), None


def _rings(n: int, g: torch.Generator) -> tuple[Tensor, Tensor]:
    k = torch.randint(0, len(_RING_RADII), (n,), generator=g)
    radius = torch.tensor(_RING_RADII, dtype=_F64)[k]
    theta = 2.0 * math.pi * torch.rand(n, generator=g, dtype=_F64)
    x = radius[:, None] * torch.stack((torch.cos(theta), torch.sin(theta)), dim=1)
    return x + _RING_NOISE * torch.randn(n, 2, generator=g, dtype=_F64), k


def _pinwheel(n: int, g: torch.Generator) -> tuple[Tensor, Tensor]:
    k = torch.randint(0, _ARMS, (n,), generator=g)
    arm = (2.0 * math.pi / _ARMS) * k.to(_F64)
    f = torch.randn(n, 2, generator=g, dtype=_F64) * torch.tensor(
        [_RADIAL_STD, _TANGENTIAL_STD], dtype=_F64)
    return _pinwheel_place(arm, f[:, 0] + 1.0, f[:, 1]), k


def _two_spirals(n: int, g: torch.Generator) -> tuple[Tensor, Tensor]:
    k = torch.randint(0, 2, (n,), generator=g)
    sign = 1.0 - 2.0 * k.to(_F64)
    t = torch.sqrt(torch.rand(n, generator=g, dtype=_F64)) * _SPIRAL_TURN
    u = _SPIRAL_JITTER * torch.rand(n, 2, generator=g, dtype=_F64)
    arm = _spiral_arm(t, u[:, 0], u[:, 1])
    noise = _SPIRAL_NOISE * torch.randn(n, 2, generator=g, dtype=_F64)
    return sign[:, None] * arm / _SPIRAL_SCALE + noise, k


_TOY_SAMPLERS: dict[str, Callable[..., tuple[Tensor, Tensor | None]]] = {
    "two_moons": _two_moons,
    "eight_gaussians": _eight_gaussians,
    "checkerboard": _checkerboard,
    "rings": _rings,
    "pinwheel": _pinwheel,
    "two_spirals": _two_spirals,
}


# --------------------------------------------------------------------------------------------
# Mode regions, from the same geometry
# --------------------------------------------------------------------------------------------


def _nearest_curve(curves: list[Tensor]) -> Callable[[Tensor], Tensor]:
    """Assign each point to the curve (a dense polyline (M, 2)) with the nearest vertex."""
    def assign(z: Tensor) -> Tensor:
        out = []
        for block in z.split(4096):  # bounded memory: (4096, M) distances per curve
            dist = torch.stack([torch.cdist(block, c).amin(dim=1) for c in curves], dim=1)
            out.append(dist.argmin(dim=1))
        return torch.cat(out)
    return assign


def _moon_modes() -> Modes:
    arcs = _moon_arcs(torch.linspace(0.0, math.pi, 721, dtype=_F64))
    return Modes(("upper moon", "lower moon"), _nearest_curve([_moon_place(a) for a in arcs]))


def _eight_modes() -> Modes:
    centres = _eight_centres(torch.arange(8)) / _EIGHT_SHRINK
    return Modes(tuple(f"blob {c}" for c in _COMPASS),
                 lambda z: torch.cdist(z, centres).argmin(dim=1))


def _ring_modes() -> Modes:
    radii = torch.tensor(_RING_RADII, dtype=_F64)

    def assign(z: Tensor) -> Tensor:
        radius = torch.linalg.vector_norm(z, dim=1)
        return (radius[:, None] - radii).abs().argmin(dim=1)
    return Modes(tuple(f"ring r = {r:g}" for r in _RING_RADII), assign)


def _pinwheel_modes() -> Modes:
    # the noise-free arms (f1 = 0) over the radial coordinate 1 ± 4σ (from 0.05 at least)
    f0 = torch.linspace(max(0.05, 1.0 - 4 * _RADIAL_STD), 1.0 + 4 * _RADIAL_STD, 431,
                        dtype=_F64)
    curves = [_pinwheel_place(torch.full_like(f0, 2.0 * math.pi * k / _ARMS), f0,
                              torch.zeros_like(f0)) for k in range(_ARMS)]
    return Modes(tuple(f"arm {k + 1}" for k in range(_ARMS)), _nearest_curve(curves))


def _spiral_modes() -> Modes:
    t = torch.linspace(0.0, _SPIRAL_TURN, 1200, dtype=_F64)
    mid = 0.5 * _SPIRAL_JITTER  # the jitter's mean
    arm = _spiral_arm(t, mid, mid) / _SPIRAL_SCALE
    return Modes(("spiral A", "spiral B"), _nearest_curve([arm, -arm]))


_MODE_MAKERS: dict[str, Callable[[], Modes]] = {
    "two_moons": _moon_modes,
    "eight_gaussians": _eight_modes,
    "rings": _ring_modes,
    "pinwheel": _pinwheel_modes,
    "two_spirals": _spiral_modes,
}


def toy_modes(name: str) -> Modes | None:
    """The mode regions of a toy data set (``None`` for checkerboard, whose squares touch):
    the nearest noise-free curve (moon arc, pinwheel arm, spiral) traced densely, the nearest
    blob centre, or the nearest ring radius.

    Raises:
        ValueError: for an unknown name.
    """
    return _modes(_toy_key(name))


@functools.cache
def _modes(key: str) -> Modes | None:
    return _MODE_MAKERS[key]() if key in _MODE_MAKERS else None


def _draw(name: str, n: int, seed: int, dtype: torch.dtype, options: dict[str, float]
          ) -> tuple[Tensor, Tensor | None]:
    """Checked arguments → ``(points, mode index of each point or None)``."""
    key = _toy_key(name)
    check_sample_args(n, seed, dtype, "toy_data")
    allowed = _TOY_OPTIONS[key]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        accepted = ", ".join(allowed) if allowed else "none"
        raise ValueError(
            f"toy data set {key!r} takes no option {unknown[0]!r}; accepted options: {accepted}"
        )
    kwargs = {**allowed, **options}
    for option, value in kwargs.items():
        kwargs[option] = check_real(option, value, owner="toy_data", lo=0)
    generator = torch.Generator(device="cpu")
    generator.manual_seed(int(seed))
    x, labels = _TOY_SAMPLERS[key](int(n), generator, **kwargs)
    return x.to(dtype).contiguous(), labels


def toy_data(
    name: str,
    n: int,
    seed: int = 0,
    *,
    dtype: torch.dtype = torch.float32,
    **options: float,
) -> Tensor:
    """Draw ``n`` i.i.d. points of a 2-D toy data set, in FFJORD's scaling.

    The data sets and their constructions (``x`` is the returned point):

    - ``two_moons``: sklearn's ``make_moons`` — upper arc ``(cos t, sin t)`` or lower arc
      ``(1 - cos t, ½ - sin t)``, ``t ~ U(0, π)``, plus ``noise · N(0, I)`` — then
      ``x = 2·(that) + (-1, -0.2)``. Option ``noise`` (default 0.1, FFJORD's value) is the
      noise std *before* the factor 2; ``noise=0`` puts every point exactly on the arcs.
    - ``eight_gaussians``: ``x = (4·(cos kπ/4, sin kπ/4) + 0.5·N(0, I)) / 1.414``, ``k`` uniform
      in {0, …, 7}: blobs of std ≈ 0.354 at radius ≈ 2.83.
    - ``checkerboard``: ``x₁ ~ U(-2, 2)``; ``x₂ ~ U(0, 1) - 2·Bernoulli(½) + (⌊x₁⌋ mod 2)``;
      ``x = 2·(x₁, x₂)``: uniform on the 8 squares of side 2 in ``[-4, 4]²`` where
      ``⌊x₁/2⌋ + ⌊x₂/2⌋`` is even.
    - ``rings``: radius uniform in {0.75, 1.5, 2.25, 3}, angle ``U(0, 2π)``, plus
      ``0.08·N(0, I)``.
    - ``pinwheel``: 5 arms; ``f = (1 + 0.3 ε₁, 0.1 ε₂)``, rotated (as a row vector, by FFJORD's
      matrix ``[[cos a, -sin a], [sin a, cos a]]``) by ``a = 2πk/5 + 0.25·exp(f₁)``; ``x = 2·f R``.
    - ``two_spirals``: ``t = 3π·√U``; arm ``(-t cos t + U(0, ½), t sin t + U(0, ½))``, negated
      for the second spiral; ``x = arm/3 + 0.1·N(0, I)``.

    One deliberate difference from FFJORD: mixture labels (moon, blob, ring, arm, spiral) and
    arc positions are drawn i.i.d. rather than in equal blocks or on ``linspace`` grids, so
    the points are independent and exactly ``n`` are returned for every ``n`` (FFJORD's
    pinwheel returns ``5·(n // 5)`` points). The population distribution is the same.

    Arguments:
        name: one of ``TOY_DATA_NAMES`` (case-insensitive).
        n: number of points, an integer in [1, ``MAX_POINTS``] (ten million).
        seed: an integer in [0, 2³² - 1], seed of a private ``torch.Generator``; the global RNG
            is never touched, and the same ``(name, n, seed, options)`` always gives the same
            points.
        dtype: floating dtype of the result. Points are drawn in float64 and then cast, so the
            float32 and float64 draws for one seed agree to float32 rounding.
        options: ``noise`` for ``two_moons``; other data sets take none.

    Returns:
        A CPU tensor of shape ``(n, 2)``.

    Raises:
        ValueError: for an unknown name or option, a non-integer or non-positive ``n``, a
            non-integer seed, a non-floating dtype, or a negative noise.

    References:
        W. Grathwohl, R. T. Q. Chen, J. Bettencourt, I. Sutskever and D. Duvenaud, "FFJORD:
        Free-form Continuous Dynamics for Scalable Reversible Generative Models", ICLR 2019,
        arXiv:1810.01367; code: github.com/rtqichen/ffjord, ``lib/toy_data.py``.
    """
    return _draw(name, n, seed, dtype, options)[0]


def toy_data_description(name: str) -> str:
    """Return the one-sentence description of a toy data set (see ``TOY_DATA_DESCRIPTIONS``)."""
    return TOY_DATA_DESCRIPTIONS[_toy_key(name)]


def entropy_floor(name: str) -> float | None:
    """Return the entropy in nats of a toy data set, or ``None`` where it is not known.

    No model can have an expected negative log-likelihood below it: for data ``p`` and model
    ``q``, ``E_p[-ln q] = H(p) + KL(p‖q) ≥ H(p)``. See ``ENTROPY_FLOORS``.

    Raises:
        ValueError: for an unknown name.
    """
    return ENTROPY_FLOORS.get(_toy_key(name))
