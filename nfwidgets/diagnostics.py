"""Training diagnostics: mass per mode (mode collapse), plateau hints, the variational bound."""

from __future__ import annotations

import functools
import math
import numbers
from collections import deque
from collections.abc import Callable

import torch
from torch import Tensor

from ._checks import check_count, check_flag, check_generator, check_real, shown
from .flows.compose import Flow
from .grid import grid_points
from .targets import (
    ENERGY_NAMES,
    TOY_DATA_NAMES,
    Energy,
    Modes,
    energy,
    toy_data,
    toy_modes,
)

__all__ = [
    "PlateauDetector",
    "bound_reference",
    "has_modes",
    "mode_masses",
    "mode_names",
    "reference_mode_masses",
    "variational_bound",
]

_F64 = torch.float64
#: Most samples ``variational_bound`` draws, and the longest plateau window.
MAX_SAMPLES, MAX_WINDOW = 10_000_000, 100_000


# --------------------------------------------------------------------------------------------
# Mode masses (the regions are defined by each target: Energy.modes, targets.toy_modes)
# --------------------------------------------------------------------------------------------


def _target_key(target: object) -> str | None:
    """The canonical name of ``target`` (an Energy or a name), or None if it is not one."""
    if isinstance(target, Energy):
        return target.name
    if isinstance(target, str):
        key = target.strip()
        if key.upper() in ENERGY_NAMES:
            return key.upper()
        if key.lower() in TOY_DATA_NAMES:
            return key.lower()
    return None


def _modes(key: str | None) -> Modes | None:
    if key in ENERGY_NAMES:
        return energy(key).modes
    if key in TOY_DATA_NAMES:
        return toy_modes(key)
    return None


#: Targets with named mode regions, in the order of ``ENERGY_NAMES`` and ``TOY_DATA_NAMES``.
_MULTIMODAL: tuple[str, ...] = tuple(name for name in (*ENERGY_NAMES, *TOY_DATA_NAMES)
                                     if _modes(name) is not None)


def _modes_of(target: object) -> tuple[str, Modes]:
    key = _target_key(target)
    modes = _modes(key)
    if modes is None:
        why = ("has no separate modes" if key is not None
               else "is not a known target (an energy or a toy data set name)")
        what = repr(key) if key is not None else f"{target!r:.80}"
        raise ValueError(f"target {what} {why}; mode masses are defined for the targets "
                         f"{', '.join(_MULTIMODAL)}")
    return key, modes


def has_modes(target: Energy | str) -> bool:
    """True if :func:`mode_masses` is defined for ``target`` (U2 and checkerboard have none;
    any other name, such as the drawn target ``"draw"``, has none either).

    Raises:
        ValueError: for a ``target`` that is neither an ``Energy`` nor a name (a str).
    """
    if not isinstance(target, Energy | str):
        raise ValueError(f"target must be an Energy or a target's name; got {shown(target)}")
    return _target_key(target) in _MULTIMODAL


def mode_names(target: Energy | str) -> list[str]:
    """The names of the mode regions of ``target``, in the order :func:`mode_masses` uses.

    Raises:
        ValueError: for a target without modes, naming the targets that have some.
    """
    return list(_modes_of(target)[1].names)


def mode_masses(target: Energy | str, samples: Tensor) -> dict[str, float]:
    r"""The fraction of ``samples`` in each mode region of ``target``: mode collapse, measured.

    Reverse KL, :math:`\mathrm{KL}(q\,\|\,p)`, is mode-seeking: a flow ``q`` fitted by it may put
    (almost) all its mass on one mode of a multimodal ``p``; forward KL (maximum likelihood)
    covers every mode. Counting where a flow's samples fall shows which happened. The regions
    are the target's own (``Energy.modes``, ``targets.toy_modes``); they partition the plane
    (every point, however far out, belongs to its nearest region), so the fractions sum to 1:

    - ``U1``: the two lobes of the ring (left, right);
    - ``U3``, ``U4``: the upper ridge and the lower branch, where the two are apart;
    - ``eight_gaussians``: the nearest blob centre, named by compass direction (``"blob E"``…);
    - ``rings``: the nearest ring;
    - ``two_moons``, ``pinwheel``, ``two_spirals``: the nearest noise-free curve.

    The exact rules live with the targets (``nfwidgets.targets.energies``, ``.toy``). ``U2`` (a
    single ridge) and ``checkerboard`` (uniform on squares that touch) have no separate modes.
    Non-finite samples (a diverged flow's NaN rows) are left out of the count by design: the
    fractions are those of the finite samples.

    Arguments:
        target: an :class:`~nfwidgets.targets.Energy`, or the name of an energy or a toy data set.
        samples: points of shape ``(N, 2)``, e.g. ``flow.sample(4096)``.

    Returns:
        ``{mode name: fraction}`` in the order of :func:`mode_names`.

    Raises:
        ValueError: for a target without modes (naming those with modes), samples that are not a
            floating tensor of shape ``(N, 2)``, or no finite sample.

    References:
        D. J. Rezende and S. Mohamed, "Variational Inference with Normalizing Flows", ICML 2015,
        arXiv:1505.05770 (U1–U4); T. Minka, "Divergence measures and message passing",
        Microsoft Research TR-2005-173, 2005 (reverse KL is mode-seeking).
    """
    _, modes = _modes_of(target)
    if not isinstance(samples, Tensor) or samples.ndim != 2 or samples.shape[1] != 2:
        got = f"shape {tuple(samples.shape)}" if isinstance(samples, Tensor) else shown(samples)
        raise ValueError(f"mode_masses: samples must be a tensor of shape (N, 2); got {got}")
    if not samples.is_floating_point():
        raise ValueError(f"mode_masses: samples must be floating point; got {samples.dtype}")
    z = samples.detach().to("cpu", _F64)
    z = z[torch.isfinite(z).all(dim=1)]
    if z.shape[0] == 0:
        raise ValueError(f"mode_masses: samples must hold at least one finite point; got "
                         f"{tuple(samples.shape)} with none")
    counts = torch.bincount(modes.assign(z), minlength=len(modes.names)).to(_F64)
    fractions = (counts / z.shape[0]).tolist()
    return dict(zip(modes.names, fractions, strict=True))


@functools.cache
def _reference_mode_masses(key: str) -> tuple[tuple[str, float], ...]:
    modes = _modes(key)
    if key in ENERGY_NAMES:
        target = energy(key)
        _, _, z = grid_points(target.bounds, 500, dtype=_F64)
        weight = torch.softmax(-target(z), dim=0)
        masses = torch.zeros(len(modes.names), dtype=_F64).index_add_(0, modes.assign(z), weight)
        return tuple(zip(modes.names, masses.tolist(), strict=True))
    masses = mode_masses(key, toy_data(key, 100_000, seed=12345, dtype=_F64))
    return tuple(masses.items())


def reference_mode_masses(target: Energy | str) -> dict[str, float]:
    """The mode masses of the target itself: what a perfect fit would give.

    For U1, U3, U4: the mass of ``exp(-U)`` normalised on the box ``[-4, 4]²`` in each region
    (midpoint rule, 500 × 500 grid). For toy data sets: :func:`mode_masses` of 100 000 fresh
    points (a Monte Carlo error of about 0.001). Computed once per target, then cached.

    Raises:
        ValueError: for a target without modes.
    """
    key, _ = _modes_of(target)
    return dict(_reference_mode_masses(key))


# --------------------------------------------------------------------------------------------
# Plateau detection
# --------------------------------------------------------------------------------------------


class PlateauDetector:
    r"""Notices when the training loss stops improving and says what to try.

    Feed it every step's loss. Once ``window`` finite losses have been seen (since the start or
    the last :meth:`reset`), it compares the mean loss of the older half of the last ``window``
    steps with the mean of the newer half. Averaging over half-windows makes the test robust to
    the mini-batch noise of a stochastic loss: for losses with per-step standard deviation σ the
    difference of the two means has standard deviation :math:`2\sigma/\sqrt{\text{window}}`.

    - improvement ``< min_improvement`` → a plateau (left again only once the improvement
      exceeds ``2 × min_improvement``: hysteresis, so noise does not make the hint flicker).
      If a ``floor`` is known (the data's entropy for maximum likelihood, ``-ln Z`` for
      reverse KL) and the loss is within ``floor_tolerance`` of it, the hint says the fit has
      converged; otherwise it suggests a larger learning rate, a longer flow or another seed.
    - with ``detect_rise``, a loss whose mean *rose* by more than ``5 × min_improvement`` gets a
      hint to lower the learning rate. (While reverse KL anneals, ``β_t U`` grows and the loss
      rises by design: feed the β = 1 loss, or call :meth:`reset` once annealing ends.)

    NaN and ±inf losses are ignored. A ``step`` not larger than the previous one means training
    was restarted: the detector resets itself first. The detector is deterministic: the same
    losses give the same hints.

    Arguments:
        window: number of recent finite losses compared (an even integer ≥ 4).
        min_improvement: the smallest drop of the mean loss (nats) over ``window / 2`` steps
            that counts as progress.
        floor: optional lower bound of the expected loss, for the "converged" hint.
        floor_tolerance: how close to ``floor`` counts as converged.
        detect_rise: also hint when the loss is rising.
    """

    def __init__(self, window: int = 200, min_improvement: float = 0.01, *,
                 floor: float | None = None, floor_tolerance: float = 0.05,
                 detect_rise: bool = True) -> None:
        owner = "PlateauDetector"
        window = check_count("window", window, owner=owner, lo=4, hi=MAX_WINDOW)
        if window % 2:
            raise ValueError(f"{owner}: window must be an even integer ≥ 4; got {shown(window)}")
        self.window = window
        self.min_improvement = check_real("min_improvement", min_improvement, owner=owner,
                                          lo=0.0, lo_open=True)
        self.floor = check_real("floor", floor, owner=owner, optional=True)
        self.floor_tolerance = check_real("floor_tolerance", floor_tolerance, owner=owner,
                                          lo=0.0, lo_open=True)
        self.detect_rise = check_flag("detect_rise", detect_rise, owner=owner)
        self._losses: deque[float] = deque(maxlen=window)
        self._last_step: int | None = None
        #: The hint of the last update (None when there is no plateau).
        self.hint: str | None = None

    def reset(self) -> None:
        """Forget every loss seen (after a Reset of the training, or when annealing ends)."""
        self._losses.clear()
        self._last_step = None
        self.hint = None

    def update(self, step: int, loss: float) -> str | None:
        """Record the loss of ``step`` (an integer ≥ 0); return a hint while the loss is on a
        plateau (or rising), else None. The same hint is returned at every step the condition
        holds. ``loss``: a number or a 0-d tensor; NaN and ±inf losses (a diverged step) are
        ignored by design, as the class docstring says."""
        step = check_count("step", step, owner="PlateauDetector.update", lo=0)
        if isinstance(loss, Tensor) and loss.ndim == 0 and loss.is_floating_point():
            loss = loss.item()
        if isinstance(loss, bool) or not isinstance(loss, numbers.Real):
            raise ValueError(f"PlateauDetector.update: loss must be a number; got {shown(loss)}")
        if self._last_step is not None and step <= self._last_step:
            self.reset()
        self._last_step = step
        value = float(loss)
        if not math.isfinite(value):
            return self.hint
        self._losses.append(value)
        self.hint = self._judge() if len(self._losses) == self.window else None
        return self.hint

    def _judge(self) -> str | None:
        half = self.window // 2
        losses = list(self._losses)
        older = math.fsum(losses[:half]) / half
        newer = math.fsum(losses[half:]) / half
        improvement = older - newer
        if self.detect_rise and improvement < -5.0 * self.min_improvement:
            return (f"The loss is rising (mean {older:.3f} → {newer:.3f} over the last "
                    f"{self.window} steps): try a smaller learning rate.")
        # Hysteresis: once on a plateau, it takes twice the progress to leave it, so mini-batch
        # noise does not make the hint flicker on and off.
        on_plateau = self.hint is not None and not self.hint.startswith("The loss is rising")
        if improvement >= self.min_improvement * (2.0 if on_plateau else 1.0):
            return None
        if self.floor is not None and newer - self.floor <= self.floor_tolerance:
            return (f"Converged: the loss ({newer:.3f}) is within {self.floor_tolerance:g} of "
                    f"its floor ({self.floor:.3f}); more steps will not help.")
        return (f"Plateau: the loss (now {newer:.3f}) has not improved by more than "
                f"{self.min_improvement:g} over the last {self.window} steps. Try a larger "
                f"learning rate, a longer flow (more layers), or Reset with another seed.")


# --------------------------------------------------------------------------------------------
# The variational bound
# --------------------------------------------------------------------------------------------


def _as_energy(target: object, owner: str) -> Callable[[Tensor], Tensor]:
    if isinstance(target, str):
        return energy(target)
    if not callable(target):
        raise ValueError(f"{owner}: energy must be an Energy, a name in {ENERGY_NAMES} or a "
                         f"callable U(x) -> (N,); got {shown(target)}")
    return target


@torch.no_grad()
def variational_bound(flow: Flow, energy: Energy | str | Callable[[Tensor], Tensor],
                      n_samples: int = 4096, generator: torch.Generator | None = None
                      ) -> tuple[float, float]:
    r"""Monte Carlo estimate of the variational free energy of ``flow`` and its standard error.

    For a flow ``q`` and an unnormalised target :math:`p(x) = e^{-U(x)}/Z` (Rezende & Mohamed
    2015, eq. 15 with β = 1):

    .. math:: \mathcal F(q) = \mathbb E_{x\sim q}\bigl[\ln q(x) + U(x)\bigr]
              = \mathrm{KL}(q\,\|\,p) - \ln Z \;\ge\; -\ln Z,

    with equality iff ``q = p``: the quantity reverse KL minimises, an upper bound on
    :math:`-\ln Z` whose gap to it is exactly :math:`\mathrm{KL}(q\,\|\,p)`. Estimated from
    ``n_samples`` fresh samples :math:`x_i \sim q` as the mean of
    :math:`\ln q(x_i) + U(x_i)`, with standard error :math:`s/\sqrt{n}` (``s`` the sample
    standard deviation). For U2–U4 on ℝ² the bound holds only for flows whose samples stay in
    the box; use ``energy("U2").confined()`` for a target where it always holds. This is the
    package's one estimator of F: ``ReverseKL.free_energy``, the training dashboard and
    ``figure3`` call it.

    Arguments:
        flow: the flow q.
        energy: an :class:`~nfwidgets.targets.Energy`, an energy name, or any callable
            ``U(x) -> (N,)``.
        n_samples: number of samples (2 to ``MAX_SAMPLES``).
        generator: source of the base samples. ``None`` uses a private generator seeded with
            0, so repeated calls use the same base samples (common random numbers: a smooth
            curve when the bound is tracked during training) and the global RNG is untouched.

    Returns:
        ``(F, standard error)`` in nats.

    Raises:
        ValueError: for bad arguments (an energy that does not give one value per point), or
            if some sample gives a non-finite ``ln q + U`` (saying how many).

    References:
        D. J. Rezende and S. Mohamed, "Variational Inference with Normalizing Flows", ICML 2015,
        arXiv:1505.05770, eq. 15 and Table 1.
    """
    if not isinstance(flow, Flow):
        raise ValueError(f"variational_bound: flow must be an nfwidgets Flow; got "
                         f"{shown(flow)}")
    u = _as_energy(energy, "variational_bound")
    if isinstance(u, Energy) and flow.dim != 2:  # U1–U4 are energies of points in the plane
        raise ValueError(f"variational_bound: flow must be a 2-D Flow for the 2-D energy "
                         f"{u.name}; got a flow of dim={flow.dim}")
    n_samples = check_count("n_samples", n_samples, owner="variational_bound", lo=2,
                            hi=MAX_SAMPLES)
    check_generator("generator", generator, owner="variational_bound")
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    x, log_q = flow.sample_and_log_prob(n_samples, generator=generator)
    energies = u(x)
    if not isinstance(energies, Tensor) or tuple(energies.shape) != (n_samples,):
        got = tuple(energies.shape) if isinstance(energies, Tensor) else type(energies).__name__
        raise ValueError(f"variational_bound: energy must give one value per point, shape "
                         f"({n_samples},) for {n_samples} points; {u!r:.60} gave {got}")
    values = (log_q + energies).to(_F64)
    bad = int((~torch.isfinite(values)).sum())
    if bad:
        raise ValueError(f"variational_bound: {bad} of {n_samples} samples gave a non-finite "
                         f"ln q(x) + U(x); the flow has diverged or left the energy's domain")
    return float(values.mean()), float(values.std() / math.sqrt(n_samples))


def bound_reference(energy: Energy | str) -> float:
    r"""The reference line of the bound: :math:`-\ln Z` of ``energy`` (``-energy.log_z``).

    No flow's free energy :math:`\mathcal F` lies below it (see :func:`variational_bound`);
    the gap is :math:`\mathrm{KL}(q\,\|\,p)`. ``Z`` is the normaliser on the energy's box (for a
    confined energy, on ℝ²): see ``Energy.domain_note``.
    """
    target = energy if isinstance(energy, Energy) else _energy_by_name(energy)
    return -target.log_z


def _energy_by_name(name: object) -> Energy:
    if not isinstance(name, str):
        raise ValueError(f"bound_reference: energy must be an Energy or one of {ENERGY_NAMES}; "
                         f"got {shown(name)}")
    return energy(name)
