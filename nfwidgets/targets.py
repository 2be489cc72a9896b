"""Two-dimensional targets: the energies U1–U4 of Rezende & Mohamed (2015) and FFJORD's toy data."""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

__all__ = [
    "ENERGY_NAMES",
    "ENTROPY_FLOORS",
    "TOY_DATA_DESCRIPTIONS",
    "TOY_DATA_NAMES",
    "Energy",
    "energy",
    "entropy_floor",
    "toy_data",
    "toy_data_description",
]

Box = tuple[tuple[float, float], tuple[float, float]]

ENERGY_NAMES: tuple[str, ...] = ("U1", "U2", "U3", "U4")
TOY_DATA_NAMES: tuple[str, ...] = (
    "two_moons",
    "eight_gaussians",
    "checkerboard",
    "rings",
    "pinwheel",
    "two_spirals",
)

#: The plotting box of Figure 3 in Rezende & Mohamed (2015): z₁, z₂ ∈ [-4, 4].
_BOX: Box = ((-4.0, 4.0), (-4.0, 4.0))


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _check_points(z: object) -> None:
    """Raise ``ValueError`` unless ``z`` is a floating-point tensor of shape ``(N, 2)``."""
    if not isinstance(z, Tensor):
        shape = getattr(z, "shape", None)
        got = type(z).__name__ + (f" of shape {tuple(shape)}" if shape is not None else "")
        raise ValueError(
            f"expected a torch.Tensor of shape (N, 2), got {got}; "
            "convert it with torch.as_tensor(...)"
        )
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"expected a tensor of shape (N, 2), got shape {tuple(z.shape)}")
    if not z.is_floating_point():
        raise ValueError(f"expected a floating-point tensor, got dtype {z.dtype}")


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


# --------------------------------------------------------------------------------------------
# Energies U1–U4 (Rezende & Mohamed 2015, Table 1)
# --------------------------------------------------------------------------------------------


def _check_sample_args(n: object, seed: object, dtype: object) -> None:
    """The arguments every sampler takes: a count, a seed and a floating dtype."""
    if not _is_int(n) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if not _is_int(seed):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")


def _w1(z1: Tensor) -> Tensor:
    """``w₁(z) = sin(2π z₁ / 4)``."""
    return torch.sin(2.0 * math.pi * z1 / 4.0)


def _w2(z1: Tensor) -> Tensor:
    """``w₂(z) = 3 exp(-½ ((z₁ - 1) / 0.6)²)``."""
    return 3.0 * torch.exp(-0.5 * ((z1 - 1.0) / 0.6) ** 2)


def _w3(z1: Tensor) -> Tensor:
    """``w₃(z) = 3 σ((z₁ - 1) / 0.3)`` with the logistic sigmoid σ."""
    return 3.0 * torch.sigmoid((z1 - 1.0) / 0.3)


def _neg_log_add_exp(a: Tensor, b: Tensor) -> Tensor:
    """``-ln(eᵃ + eᵇ)``, computed with ``logsumexp`` so it neither overflows nor underflows."""
    return -torch.logsumexp(torch.stack((a, b)), dim=0)


def _u1(z: Tensor) -> Tensor:
    z1 = z[:, 0]
    # vector_norm has gradient 0 (not NaN) at the origin, unlike sqrt(z₁² + z₂²).
    radius = torch.linalg.vector_norm(z, dim=1)
    ring = 0.5 * ((radius - 2.0) / 0.4) ** 2
    return ring + _neg_log_add_exp(-0.5 * ((z1 - 2.0) / 0.6) ** 2, -0.5 * ((z1 + 2.0) / 0.6) ** 2)


def _u2(z: Tensor) -> Tensor:
    return 0.5 * ((z[:, 1] - _w1(z[:, 0])) / 0.4) ** 2


def _u3(z: Tensor) -> Tensor:
    z1, z2 = z[:, 0], z[:, 1]
    w1 = _w1(z1)
    return _neg_log_add_exp(
        -0.5 * ((z2 - w1) / 0.35) ** 2, -0.5 * ((z2 - w1 + _w2(z1)) / 0.35) ** 2
    )


def _u4(z: Tensor) -> Tensor:
    z1, z2 = z[:, 0], z[:, 1]
    w1 = _w1(z1)
    return _neg_log_add_exp(-0.5 * ((z2 - w1) / 0.4) ** 2, -0.5 * ((z2 - w1 + _w3(z1)) / 0.35) ** 2)


_ENERGY_FUNCTIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "U1": _u1,
    "U2": _u2,
    "U3": _u3,
    "U4": _u4,
}


def _envelope(z: Tensor, bounds: Box, width: float) -> Tensor:
    """``E(z) = ½ (d(z)/width)²`` with ``d(z)`` the Euclidean distance from ``z`` to the box."""
    (a1, b1), (a2, b2) = bounds
    lo = torch.tensor([a1, a2], dtype=z.dtype, device=z.device)
    hi = torch.tensor([b1, b2], dtype=z.dtype, device=z.device)
    excess = torch.relu(lo - z) + torch.relu(z - hi)  # per coordinate, 0 inside the box
    return 0.5 * (excess / width).square().sum(dim=1)


def _log_integral(log_f: Callable[[Tensor], Tensor], box: Box, cell: float) -> float:
    """``ln ∫_box exp(log_f(z)) dz`` by the midpoint rule with cells of side ``≤ cell``,
    in float64, summed in log space row block by row block (small memory, no overflow)."""
    (a1, b1), (a2, b2) = box
    n1, n2 = math.ceil((b1 - a1) / cell), math.ceil((b2 - a2) / cell)
    h1, h2 = (b1 - a1) / n1, (b2 - a2) / n2
    c1 = a1 + h1 * (torch.arange(n1, dtype=torch.float64) + 0.5)
    c2 = a2 + h2 * (torch.arange(n2, dtype=torch.float64) + 0.5)
    partial = []
    for start in range(0, n2, 250):
        g1, g2 = torch.meshgrid(c1, c2[start : start + 250], indexing="xy")
        partial.append(torch.logsumexp(log_f(torch.stack((g1.reshape(-1), g2.reshape(-1)),
                                                         dim=1)), dim=0))
    return float(torch.logsumexp(torch.stack(partial), dim=0)) + math.log(h1 * h2)


@functools.cache
def _log_z_confined(name: str, width: float) -> float:
    """``ln ∫_ℝ² exp(-U(z) - E(z)) dz``: the box's ``ln Z`` (:func:`_log_z_on_box`) plus the
    four strips of depth 10·width around it (midpoint rule, cells ≤ 0.01 — ample for the
    envelope's width and the ridges' 0.35). Beyond the strips ``exp(-E) < e⁻⁵⁰``."""
    u = _ENERGY_FUNCTIONS[name]
    (a1, b1), (a2, b2) = _BOX
    m = 10.0 * width
    strips: list[Box] = [((a1 - m, a1), (a2 - m, b2 + m)), ((b1, b1 + m), (a2 - m, b2 + m)),
                         ((a1, b1), (a2 - m, a2)), ((a1, b1), (b2, b2 + m))]
    parts = [_log_z_on_box(name)] + [
        _log_integral(lambda z: -u(z) - _envelope(z, _BOX, width), strip, 0.01)
        for strip in strips]
    return float(torch.logsumexp(torch.tensor(parts, dtype=torch.float64), dim=0))


@functools.cache
def _log_z_on_box(name: str, n: int = 1000) -> float:
    """``ln ∫_box exp(-U(z)) dz`` by the midpoint rule on an ``n × n`` grid, in float64.

    The sum of ``exp(-U)`` over the cells is taken in log space (``logsumexp``), row block by
    row block, so memory stays small and nothing overflows. With ``n = 1000`` the cell width is
    0.008, far below the narrowest feature of U1–U4 (a width of 0.35): the result agrees with
    ``n = 2000`` to better than 1e-6 (the midpoint rule converges much faster than O(h²) on
    these smooth, rapidly decaying integrands).
    """
    u = _ENERGY_FUNCTIONS[name]
    (a1, b1), (a2, b2) = _BOX
    h1, h2 = (b1 - a1) / n, (b2 - a2) / n
    mid = torch.arange(n, dtype=torch.float64) + 0.5
    c1, c2 = a1 + h1 * mid, a2 + h2 * mid
    rows = 250
    partial = []
    for start in range(0, n, rows):
        g1, g2 = torch.meshgrid(c1, c2[start : start + rows], indexing="xy")
        points = torch.stack((g1.reshape(-1), g2.reshape(-1)), dim=1)
        partial.append(torch.logsumexp(-u(points), dim=0))
    return float(torch.logsumexp(torch.stack(partial), dim=0)) + math.log(h1 * h2)


@dataclass(frozen=True)
class Energy:
    """An unnormalised 2-D target density ``p(z) ∝ exp(-U(z))``.

    Calling the object evaluates ``U(z)`` for a batch ``z`` of shape ``(N, 2)`` and returns a
    tensor of shape ``(N,)`` with the dtype and device of ``z``. Build one with
    :func:`energy` rather than directly.

    Attributes:
        name: ``"U1"`` … ``"U4"``, as in Table 1 of Rezende & Mohamed (2015).
        description: one sentence for learners: what the density looks like.
        domain_note: on which domain ``log_z`` is computed and why.
        bounds: ``((z₁ min, z₁ max), (z₂ min, z₂ max))``, the box ``[-4, 4]²`` of the paper's
            Figure 3; plots use it, and ``log_z`` is the log normaliser on it.
        envelope: ``None``, or the width ``s`` of the confining envelope added outside the box
            (see :meth:`confined`); then ``log_z`` is the log normaliser on ℝ².

    References:
        D. J. Rezende and S. Mohamed, "Variational Inference with Normalizing Flows", ICML 2015,
        arXiv:1505.05770, Table 1 and Figure 3.
    """

    name: str
    description: str
    domain_note: str
    _u: Callable[[Tensor], Tensor] = field(repr=False, compare=False)
    bounds: Box = _BOX
    envelope: float | None = None

    def __call__(self, z: Tensor) -> Tensor:
        """Return the energy ``U(z)``, shape ``(N,)``, for ``z`` of shape ``(N, 2)``
        (plus the envelope ``E(z)`` for a confined energy)."""
        _check_points(z)
        if self.envelope is None:
            return self._u(z)
        return self._u(z) + _envelope(z, self.bounds, self.envelope)

    def confined(self, width: float = 0.2) -> Energy:
        r"""This energy plus a smooth wall outside its box, so that it is integrable on ℝ².

        .. math:: U_c(z) = U(z) + \tfrac12\,\bigl(d(z)/s\bigr)^2, \qquad
                  d(z) = \bigl\|\max(a - z, 0) + \max(z - b, 0)\bigr\|,

        where ``[a, b] = bounds`` (the box ``[-4, 4]²``) and ``d(z)`` is the distance from
        ``z`` to the box: ``U_c = U`` inside the box, and outside it grows like a Gaussian
        wall of width ``s``. The envelope is continuously differentiable (its gradient
        ``d ∇d / s²`` vanishes on the box's edge), so gradient training sees no kink.

        Why: U2–U4 do not decay along z₁, so ``exp(-U)`` is not integrable on ℝ² and reverse
        KL, ``E_q[ln q + U]``, has no lower bound there: a flow can lower it for ever by
        spreading its mass along the ridge, out of the box. With the envelope,
        ``Z_c = ∫_ℝ² exp(-U_c) < ∞`` and ``F(q) = E_q[ln q + U_c] ≥ -ln Z_c`` for *every* flow
        ``q``, with equality iff ``q ∝ exp(-U_c)``. The envelope adds mass outside the box
        (about ``2 s √(π/2) · 1.0`` for the ridges of U2–U4, ``≈ 0.5`` for ``s = 0.2``, beside
        ``Z ≈ 8``), so ``log_z`` of the confined energy — computed on ℝ² — is a little larger
        than that of the plain one on the box.

        Arguments:
            width: ``s > 0``, how far (in units of z) the density reaches past the box's
                edge; smaller is a steeper wall.

        Returns:
            A new :class:`Energy` with the same name and ``envelope = width``.

        Raises:
            ValueError: for a width that is not a finite number > 0.
        """
        if (not isinstance(width, numbers.Real) or isinstance(width, bool)
                or not (math.isfinite(width) and width > 0)):
            raise ValueError(f"confined: width must be a finite number > 0; got {width!r}")
        note = (f"Confined: U plus the envelope ½(d/{float(width):g})², d the distance to the "
                f"box [-4, 4]², so exp(-U) is integrable on ℝ²; ln Z (log_z) is computed on ℝ² "
                f"(the box widened by 10 widths, where the envelope exceeds 50).")
        return dataclasses.replace(self, envelope=float(width), domain_note=note)

    def log_density(self, z: Tensor) -> Tensor:
        """Return the unnormalised log density ``-U(z)``; subtract :attr:`log_z` to normalise."""
        return -self(z)

    def sample(self, n: int, seed: int = 0, *, dtype: torch.dtype = torch.float32) -> Tensor:
        """Draw ``n`` exact samples of ``p(z) ∝ exp(-U(z))`` by rejection sampling.

        Proposals are uniform on :attr:`bounds` (widened by 10 envelope widths when confined),
        accepted with probability ``exp(-U(z)) / M``, where ``M`` is 1.25 times the largest
        ``exp(-U)`` on a 400 × 400 grid of that box (U1–U4 vary on scales ≥ 0.35, far above
        the grid step 0.02, so the grid maximum is within a few per cent of the true one).
        Samples therefore follow the density *restricted to the box* — the density that
        :attr:`log_z` normalises. About 3–7 % of proposals are accepted.

        Arguments:
            n: number of samples, an integer ≥ 1.
            seed: seed of a private ``torch.Generator`` (the global RNG is untouched).
            dtype: floating dtype of the result (drawn in float64, then cast).

        Returns:
            A tensor of shape ``(n, 2)``.

        Raises:
            ValueError: for a bad ``n``, seed or dtype.

        References:
            C. P. Robert and G. Casella, "Monte Carlo Statistical Methods", 2nd ed., Springer
            2004, sec. 2.3 (the accept–reject method).
        """
        _check_sample_args(n, seed, dtype)
        f64 = torch.float64
        m = 0.0 if self.envelope is None else 10.0 * self.envelope
        (a1, b1), (a2, b2) = self.bounds
        lo = torch.tensor([a1 - m, a2 - m], dtype=f64)
        width = torch.tensor([b1 - a1 + 2 * m, b2 - a2 + 2 * m], dtype=f64)
        grid = lo + width * (torch.stack(torch.meshgrid(
            torch.linspace(0, 1, 400, dtype=f64), torch.linspace(0, 1, 400, dtype=f64),
            indexing="xy"), dim=-1).reshape(-1, 2))
        log_m = float(-self(grid).min()) + math.log(1.25)
        g = torch.Generator().manual_seed(int(seed))
        out: list[Tensor] = []
        have = 0
        while have < n:
            z = lo + width * torch.rand(max(4096, 20 * (n - have)), 2, generator=g, dtype=f64)
            keep = torch.rand(z.shape[0], generator=g, dtype=f64).log() < -self(z) - log_m
            out.append(z[keep])
            have += int(keep.sum())
        return torch.cat(out)[:n].to(dtype).contiguous()

    @property
    def log_z(self) -> float:
        """``ln Z = ln ∫ exp(-U(z)) dz`` over :attr:`bounds` (see :attr:`domain_note`); for a
        confined energy (:meth:`confined`) over ℝ².

        Computed once, on first access, by the midpoint rule on a 1000 × 1000 grid in float64
        (a fraction of a second; plus strips around the box when confined), then cached.
        With it, ``log_density(z) - log_z`` is the normalised log density on the box, and the
        reverse-KL loss of a flow is bounded below by ``-log_z`` for a flow whose samples stay
        in the box (for every flow, when confined).
        """
        if self.envelope is not None:
            return _log_z_confined(self.name, self.envelope)
        return _log_z_on_box(self.name)


_BOX_NOTE = (
    "ln Z (log_z) is computed on the box [-4, 4]² of the paper's Figure 3 (bounds): it "
    "normalises the density restricted to that box. Calling the energy does not restrict "
    "anything: U is evaluated wherever it is asked."
)
_NOT_INTEGRABLE = (
    "exp(-{name}) does not decay along z₁ (every vertical line z₁ = c carries mass of the same "
    "order, as the ridge follows sin(πz₁/2) forever), so it is not integrable on ℝ²: {name} "
    "only defines a probability density on a bounded domain. Reverse KL against it has no lower "
    "bound on ℝ² (a flow can lower the loss by spreading mass along z₁ out of the box); the "
    "bound F ≥ -ln Z holds for flows whose samples stay in the box; {name}.confined() adds a "
    "smooth wall outside the box, after which the bound holds for every flow. " + _BOX_NOTE
)

_ENERGIES: dict[str, Energy] = {
    "U1": Energy(
        name="U1",
        description="A ring of radius 2 whose mass is pulled into two blobs at z₁ = ±2.",
        domain_note=(
            "exp(-U1) decays in every direction, so U1 is integrable on ℝ², and all but about "
            "1e-8 of its mass lies in [-4, 4]²: ln Z on the box equals ln Z on ℝ² to about "
            "1e-8. " + _BOX_NOTE
        ),
        _u=_u1,
    ),
    "U2": Energy(
        name="U2",
        description="A sine-shaped ridge z₂ = sin(πz₁/2) of width 0.4 running across the box.",
        domain_note=_NOT_INTEGRABLE.format(name="U2"),
        _u=_u2,
    ),
    "U3": Energy(
        name="U3",
        description="The sine ridge plus a second branch that splits off below it around z₁ = 1.",
        domain_note=_NOT_INTEGRABLE.format(name="U3"),
        _u=_u3,
    ),
    "U4": Energy(
        name="U4",
        description="The sine ridge plus a copy shifted down by 3 for z₁ ≳ 1, joined by a step.",
        domain_note=_NOT_INTEGRABLE.format(name="U4"),
        _u=_u4,
    ),
}


def energy(name: str) -> Energy:
    """Return the energy ``U1`` … ``U4`` of Rezende & Mohamed (2015), Table 1.

    With ``w₁ = sin(2πz₁/4)``, ``w₂ = 3 exp(-½((z₁-1)/0.6)²)``, ``w₃ = 3 σ((z₁-1)/0.3)``::

        U1(z) = ½((‖z‖ - 2)/0.4)² - ln(exp(-½((z₁-2)/0.6)²) + exp(-½((z₁+2)/0.6)²))
        U2(z) = ½((z₂ - w₁)/0.4)²
        U3(z) = -ln(exp(-½((z₂-w₁)/0.35)²) + exp(-½((z₂-w₁+w₂)/0.35)²))
        U4(z) = -ln(exp(-½((z₂-w₁)/0.4)²) + exp(-½((z₂-w₁+w₃)/0.35)²))

    The ``-ln(eᵃ + eᵇ)`` terms are evaluated with ``torch.logsumexp``, so the energies are
    finite (and have finite gradients) for any finite ``z``, in float32 and float64 alike.

    Arguments:
        name: one of ``ENERGY_NAMES`` (case-insensitive: ``"u1"`` works).

    Returns:
        The :class:`Energy`; call it on a tensor of shape ``(N, 2)``.

    Raises:
        ValueError: for an unknown name.

    References:
        D. J. Rezende and S. Mohamed, "Variational Inference with Normalizing Flows", ICML 2015,
        arXiv:1505.05770, Table 1.
    """
    key = name.strip().upper() if isinstance(name, str) else None
    if key not in _ENERGIES:
        raise ValueError(
            f"unknown energy {name!r}; choose one of {', '.join(ENERGY_NAMES)} (case-insensitive)"
        )
    return _ENERGIES[key]


# --------------------------------------------------------------------------------------------
# Toy data sets (FFJORD, Grathwohl et al. 2019, lib/toy_data.py)
# --------------------------------------------------------------------------------------------

TOY_DATA_DESCRIPTIONS: dict[str, str] = {
    "two_moons": "Two interleaved half circles (sklearn's make_moons), stretched by 2.",
    "eight_gaussians": "Eight small Gaussian blobs evenly spaced on a circle of radius ≈ 2.83.",
    "checkerboard": "Uniform on the 8 dark squares of a 4 × 4 checkerboard covering [-4, 4]².",
    "rings": "Four concentric noisy circles of radii 0.75, 1.5, 2.25 and 3.",
    "pinwheel": "Five curved arms spiralling out of the origin like a pinwheel.",
    "two_spirals": "Two interleaved spirals, each the point reflection of the other.",
}

#: Entropy H(p) = -E_p[ln p(x)] in nats of the toy data sets where it is known exactly (in the
#: FFJORD scaling). Since E_p[-ln q(x)] = H(p) + KL(p‖q) ≥ H(p), no model q can reach an average
#: test negative log-likelihood below this floor.
#:
#: - checkerboard: uniform on 8 squares of side 2, total area 32, so H = ln 32 ≈ 3.4657.
#: - eight_gaussians: mixture of 8 equal-weight isotropic Gaussians, std 0.5/1.414, centres at
#:   radius 4/1.414. The blobs barely overlap, so H is just below ln 8 + ln(2πe σ²) ≈ 2.8382;
#:   quadrature on a fine grid gives H = 2.83188 (often quoted as ≈ 2.833).
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
        raise ValueError(
            f"unknown toy data set {name!r}{hint}; choose one of {', '.join(TOY_DATA_NAMES)}"
        )
    return key


def _two_moons(n: int, g: torch.Generator, noise: float) -> Tensor:
    upper = torch.randint(0, 2, (n,), generator=g) == 0
    t = math.pi * torch.rand(n, generator=g, dtype=_F64)
    x1 = torch.where(upper, torch.cos(t), 1.0 - torch.cos(t))
    x2 = torch.where(upper, torch.sin(t), 0.5 - torch.sin(t))
    x = torch.stack((x1, x2), dim=1) + noise * torch.randn(n, 2, generator=g, dtype=_F64)
    return 2.0 * x + torch.tensor([-1.0, -0.2], dtype=_F64)


def _eight_gaussians(n: int, g: torch.Generator) -> Tensor:
    angle = (math.pi / 4.0) * torch.randint(0, 8, (n,), generator=g).to(_F64)
    centres = 4.0 * torch.stack((torch.cos(angle), torch.sin(angle)), dim=1)
    return (centres + 0.5 * torch.randn(n, 2, generator=g, dtype=_F64)) / 1.414


def _checkerboard(n: int, g: torch.Generator) -> Tensor:
    x1 = 4.0 * torch.rand(n, generator=g, dtype=_F64) - 2.0
    x2 = torch.rand(n, generator=g, dtype=_F64) - 2.0 * torch.randint(0, 2, (n,), generator=g)
    x2 = x2 + torch.floor(x1) % 2
    return 2.0 * torch.stack((x1, x2), dim=1)


def _rings(n: int, g: torch.Generator) -> Tensor:
    radius = 0.75 * (torch.randint(0, 4, (n,), generator=g) + 1).to(_F64)
    theta = 2.0 * math.pi * torch.rand(n, generator=g, dtype=_F64)
    x = radius[:, None] * torch.stack((torch.cos(theta), torch.sin(theta)), dim=1)
    return x + 0.08 * torch.randn(n, 2, generator=g, dtype=_F64)


def _pinwheel(n: int, g: torch.Generator) -> Tensor:
    arm = (2.0 * math.pi / 5.0) * torch.randint(0, 5, (n,), generator=g).to(_F64)
    f = torch.randn(n, 2, generator=g, dtype=_F64) * torch.tensor([0.3, 0.1], dtype=_F64)
    f0, f1 = f[:, 0] + 1.0, f[:, 1]
    angle = arm + 0.25 * torch.exp(f0)
    c, s = torch.cos(angle), torch.sin(angle)
    # FFJORD multiplies the row vector f by [[cos, -sin], [sin, cos]].
    return 2.0 * torch.stack((f0 * c + f1 * s, -f0 * s + f1 * c), dim=1)


def _two_spirals(n: int, g: torch.Generator) -> Tensor:
    sign = 1.0 - 2.0 * torch.randint(0, 2, (n,), generator=g).to(_F64)
    t = torch.sqrt(torch.rand(n, generator=g, dtype=_F64)) * (540.0 * 2.0 * math.pi / 360.0)
    u = 0.5 * torch.rand(n, 2, generator=g, dtype=_F64)
    arm = torch.stack((-torch.cos(t) * t + u[:, 0], torch.sin(t) * t + u[:, 1]), dim=1)
    return sign[:, None] * arm / 3.0 + 0.1 * torch.randn(n, 2, generator=g, dtype=_F64)


_TOY_SAMPLERS: dict[str, Callable[..., Tensor]] = {
    "two_moons": _two_moons,
    "eight_gaussians": _eight_gaussians,
    "checkerboard": _checkerboard,
    "rings": _rings,
    "pinwheel": _pinwheel,
    "two_spirals": _two_spirals,
}


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
        n: number of points, an integer ≥ 1.
        seed: seed of a private ``torch.Generator``; the global RNG is never touched, and the
            same ``(name, n, seed, options)`` always gives the same points.
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
    key = _toy_key(name)
    _check_sample_args(n, seed, dtype)
    allowed = _TOY_OPTIONS[key]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        accepted = ", ".join(allowed) if allowed else "none"
        raise ValueError(
            f"toy data set {key!r} takes no option {unknown[0]!r}; accepted options: {accepted}"
        )
    kwargs = {**allowed, **options}
    for option, value in kwargs.items():
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value >= 0:
            raise ValueError(f"option {option!r} must be a real number >= 0, got {value!r}")
        kwargs[option] = float(value)
    generator = torch.Generator(device="cpu")
    generator.manual_seed(int(seed))
    return _TOY_SAMPLERS[key](int(n), generator, **kwargs).to(dtype).contiguous()


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
