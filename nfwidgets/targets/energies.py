"""The energies U1–U4 of Rezende & Mohamed (2015, Table 1), their normalisers and mode regions."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from .._checks import check_choice, check_function, check_real, check_text, shown
from ..grid import check_bounds
from ._common import Box, Modes, box_envelope, check_points, check_sample_args, log_integral

__all__ = ["ENERGY_NAMES", "Energy", "energy"]

ENERGY_NAMES: tuple[str, ...] = ("U1", "U2", "U3", "U4")

#: The plotting box of Figure 3 in Rezende & Mohamed (2015): z₁, z₂ ∈ [-4, 4].
_BOX: Box = ((-4.0, 4.0), (-4.0, 4.0))

#: U1: a ring of radius 2 and width 0.4, weighted by two lobes at z₁ = ±2 of width 0.6.
_U1_RADIUS, _U1_RING_WIDTH = 2.0, 0.4
_U1_LOBE, _U1_LOBE_WIDTH = 2.0, 0.6
#: Widths of the upper and the lower ridge of U2 (one ridge), U3 and U4.
_U2_WIDTH = 0.4
_U3_WIDTHS = (0.35, 0.35)
_U4_WIDTHS = (0.4, 0.35)


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


def _lobes(z1: Tensor) -> tuple[Tensor, Tensor]:
    """U1's log lobe weights: the lobe at ``z₁ = +2`` and the lobe at ``z₁ = -2``."""
    return (-0.5 * ((z1 - _U1_LOBE) / _U1_LOBE_WIDTH) ** 2,
            -0.5 * ((z1 + _U1_LOBE) / _U1_LOBE_WIDTH) ** 2)


def _ridges(z: Tensor, shift: Callable[[Tensor], Tensor], widths: tuple[float, float]
            ) -> tuple[Tensor, Tensor]:
    """Log weights of the upper ridge ``z₂ = w₁`` and the lower ridge ``z₂ = w₁ - shift(z₁)``."""
    z1, z2 = z[:, 0], z[:, 1]
    w1 = _w1(z1)
    return (-0.5 * ((z2 - w1) / widths[0]) ** 2,
            -0.5 * ((z2 - w1 + shift(z1)) / widths[1]) ** 2)


def _u1(z: Tensor) -> Tensor:
    # vector_norm has gradient 0 (not NaN) at the origin, unlike sqrt(z₁² + z₂²).
    radius = torch.linalg.vector_norm(z, dim=1)
    ring = 0.5 * ((radius - _U1_RADIUS) / _U1_RING_WIDTH) ** 2
    return ring + _neg_log_add_exp(*_lobes(z[:, 0]))


def _u2(z: Tensor) -> Tensor:
    return 0.5 * ((z[:, 1] - _w1(z[:, 0])) / _U2_WIDTH) ** 2


def _u3(z: Tensor) -> Tensor:
    return _neg_log_add_exp(*_ridges(z, _w2, _U3_WIDTHS))


def _u4(z: Tensor) -> Tensor:
    return _neg_log_add_exp(*_ridges(z, _w3, _U4_WIDTHS))


_ENERGY_FUNCTIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "U1": _u1,
    "U2": _u2,
    "U3": _u3,
    "U4": _u4,
}


# --------------------------------------------------------------------------------------------
# Mode regions, from the same lobes and ridges
# --------------------------------------------------------------------------------------------


def _u1_assign(z: Tensor) -> Tensor:
    """The heavier lobe: 1 (right) where the lobe at +2 weighs at least the lobe at -2."""
    plus, minus = _lobes(z[:, 0])
    return (plus >= minus).long()


def _ridge_assign(shift: Callable[[Tensor], Tensor], widths: tuple[float, float]
                  ) -> Callable[[Tensor], Tensor]:
    """Upper ridge (0) or lower ridge (1) of ``_ridges(z, shift, widths)``.

    A point is on the lower ridge where the two ridges are apart (``shift > 2 · max(widths)``:
    two Gaussians of std σ make a bimodal mixture iff their centres are more than 2σ apart) and
    it lies below the half-way line between them; everywhere else on the upper ridge.
    """
    min_gap = 2.0 * max(widths)

    def assign(z: Tensor) -> Tensor:
        z1, z2 = z[:, 0], z[:, 1]
        gap = shift(z1)
        return ((gap > min_gap) & (z2 < _w1(z1) - 0.5 * gap)).long()
    return assign


_MODES: dict[str, Modes] = {
    "U1": Modes(("left lobe (z₁ < 0)", "right lobe (z₁ ≥ 0)"), _u1_assign),
    "U3": Modes(("upper ridge z₂ = w₁", "lower ridge z₂ = w₁ - w₂"),
                _ridge_assign(_w2, _U3_WIDTHS)),
    "U4": Modes(("upper ridge z₂ = w₁", "lower ridge z₂ = w₁ - w₃"),
                _ridge_assign(_w3, _U4_WIDTHS)),
}


# --------------------------------------------------------------------------------------------
# Normalisers
# --------------------------------------------------------------------------------------------


@functools.cache
def _log_z_on_box(name: str, n: int = 1000) -> float:
    """``ln ∫_box exp(-U(z)) dz`` by the midpoint rule with ``n`` cells per side, in float64.

    With ``n = 1000`` the cell width is 0.008, far below the narrowest feature of U1–U4 (a
    width of 0.35); the midpoint rule converges much faster than O(h²) on these smooth,
    rapidly decaying integrands.
    """
    (a1, b1), _ = _BOX
    u = _ENERGY_FUNCTIONS[name]
    return log_integral(lambda z: -u(z), _BOX, (b1 - a1) / n)


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
        log_integral(lambda z: -u(z) - box_envelope(z, _BOX, width), strip, 0.01)
        for strip in strips]
    return float(torch.logsumexp(torch.tensor(parts, dtype=torch.float64), dim=0))


# --------------------------------------------------------------------------------------------
# The Energy object
# --------------------------------------------------------------------------------------------


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
        modes: the energy's mode regions (``None`` for U2, a single ridge), built from the same
            lobes and ridges as ``U`` (``diagnostics.mode_masses`` counts in them).

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
    modes: Modes | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:  # (an Energy is built by ``energy``: this is a backstop)
        check_choice("name", self.name, ENERGY_NAMES, owner="Energy")  # log_z looks it up
        check_text("description", self.description, owner="Energy")
        check_text("domain_note", self.domain_note, owner="Energy")
        check_function("_u", self._u, owner="Energy")
        check_bounds(self.bounds)
        check_real("envelope", self.envelope, owner="Energy", lo=0, lo_open=True, optional=True)
        if self.modes is not None and not isinstance(self.modes, Modes):
            raise ValueError(f"Energy: modes must be None or a Modes; got {shown(self.modes)}")

    def __call__(self, z: Tensor) -> Tensor:
        """Return the energy ``U(z)``, shape ``(N,)``, for ``z`` of shape ``(N, 2)``
        (plus the envelope ``E(z)`` for a confined energy). A NaN/inf row of ``z`` gives a
        NaN/inf energy in that row (NaN propagates row-wise; it is not refused)."""
        check_points(z, f"Energy {self.name}")
        if self.envelope is None:
            return self._u(z)
        return self._u(z) + box_envelope(z, self.bounds, self.envelope)

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
        width = check_real("width", width, owner="Energy.confined", lo=0, lo_open=True)
        note = (f"Confined: U plus the envelope ½(d/{float(width):g})², d the distance to the "
                f"box [-4, 4]², so exp(-U) is integrable on ℝ²; ln Z (log_z) is computed on ℝ² "
                f"(the box widened by 10 widths, where the envelope exceeds 50).")
        return dataclasses.replace(self, envelope=float(width), domain_note=note)

    def log_density(self, z: Tensor) -> Tensor:
        """Return the unnormalised log density ``-U(z)``; subtract :attr:`log_z` to normalise.
        A NaN/inf row of ``z`` gives a non-finite value in that row; the others are exact."""
        return -self(z)

    def sample(self, n: int, seed: int = 0, *, dtype: torch.dtype = torch.float32) -> Tensor:
        """Draw ``n`` exact samples of ``p(z) ∝ exp(-U(z))`` by rejection sampling.

        Proposals are uniform on :attr:`bounds` (widened by 10 envelope widths when confined),
        accepted with probability ``exp(-U(z)) / M``, where ``M`` is 1.25 times the largest
        ``exp(-U)`` on a 400 × 400 grid of that box (U1–U4 vary on scales ≥ 0.35, far above
        the grid step 0.02, so the grid maximum is within a few per cent of the true one).
        Samples therefore follow the density *restricted to the box* — the density that
        :attr:`log_z` normalises.

        Arguments:
            n: number of samples, an integer in [1, ``MAX_POINTS``].
            seed: an integer in [0, 2³² - 1], seed of a private ``torch.Generator`` (the global
                RNG is untouched).
            dtype: floating dtype of the result (drawn in float64, then cast).

        Returns:
            A tensor of shape ``(n, 2)``.

        Raises:
            ValueError: for a bad ``n``, seed or dtype.

        References:
            C. P. Robert and G. Casella, "Monte Carlo Statistical Methods", 2nd ed., Springer
            2004, sec. 2.3 (the accept–reject method).
        """
        check_sample_args(n, seed, dtype, "Energy.sample")
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
        (plus strips around the box when confined), then cached.
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
        modes=_MODES["U1"],
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
        modes=_MODES["U3"],
    ),
    "U4": Energy(
        name="U4",
        description="The sine ridge plus a copy shifted down by 3 for z₁ ≳ 1, joined by a step.",
        domain_note=_NOT_INTEGRABLE.format(name="U4"),
        _u=_u4,
        modes=_MODES["U4"],
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

    ``name`` is one of ``ENERGY_NAMES`` (case-insensitive); an unknown name raises
    ``ValueError``. Call the returned :class:`Energy` on a tensor of shape ``(N, 2)``.

    References:
        D. J. Rezende and S. Mohamed, "Variational Inference with Normalizing Flows", ICML 2015,
        arXiv:1505.05770, Table 1.
    """
    key = name.strip().upper() if isinstance(name, str) else None
    if key not in _ENERGIES:
        raise ValueError(f"unknown energy {shown(name)}: name must be one of "
                         f"{', '.join(ENERGY_NAMES)} (case-insensitive)")
    return _ENERGIES[key]

