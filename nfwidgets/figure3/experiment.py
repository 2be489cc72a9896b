"""Figure 3 of Rezende & Mohamed (2015) as an experiment: planar vs NICE flows fitted to U1–U4.

Pure torch (no widgets): ``fit_figure3`` trains the flows, ``results_table`` tabulates their
bounds, ``true_density`` and ``fitted_density`` give the pictures the panel
(``nfwidgets.figure3.panel``) shows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .._checks import check_count, check_flag, is_integer, shown
from ..diagnostics import variational_bound
from ..flows.affine import ElementwiseAffine
from ..flows.compose import Flow
from ..flows.conditioners import AdditiveConditioner
from ..flows.coupling import AffineCoupling
from ..flows.planar import Planar
from ..grid import DensityGrid, density_grid, grid_points
from ..targets import ENERGY_NAMES, Energy, energy
from ..train import ReverseKL, TrainingDiverged

__all__ = [
    "FAST",
    "FLOW_KINDS",
    "FULL",
    "Figure3Result",
    "Figure3Settings",
    "colour_top",
    "fit_figure3",
    "fitted_density",
    "nice_flow",
    "planar_flow",
    "results_table",
    "true_density",
]

#: The two flow families compared in the paper's Figure 3.
FLOW_KINDS: tuple[str, ...] = ("planar", "nice")


@dataclass(frozen=True)
class Figure3Settings:
    """How the flows of Figure 3 are trained and shown.

    Attributes:
        steps: Adam steps per flow.
        n_samples: Monte Carlo samples per step (the reverse-KL estimate of each step).
        lr_planar, lr_nice: Adam learning rates of the planar and the NICE flows.
        anneal_steps: length of the annealing ramp ``β_t = min(1, 0.01 + t/anneal_steps)``.
        hidden: width of the two hidden layers of each NICE coupling's MLP.
        envelope: width of the wall added outside the box (``Energy.confined``).
        eval_samples: samples for the final bound estimate.
        grid: resolution of the density panels (``grid × grid``).
        grad_clip: optional bound on the global gradient norm (``Trainer``'s ``grad_clip``).
    """

    steps: int
    n_samples: int
    lr_planar: float
    lr_nice: float
    anneal_steps: int
    hidden: int
    envelope: float = 0.2
    eval_samples: int = 4096
    grid: int = 100
    grad_clip: float | None = None


#: Short runs (for the lesson and tests): the flows are under-trained, but the ordering
#: K = 2 < 8 < 32 already shows for most targets.
FAST = Figure3Settings(steps=80, n_samples=256, lr_planar=0.03, lr_nice=0.02, anneal_steps=20,
                       hidden=16, eval_samples=2048, grid=80, grad_clip=5.0)
#: The full-length run: the paper's annealing ``β_t = min(1, 0.01 + t/10⁴)``, followed by as
#: many steps again at β = 1 (20 000 steps per flow).
FULL = Figure3Settings(steps=20_000, n_samples=256, lr_planar=1e-3, lr_nice=1e-3,
                       anneal_steps=10_000, hidden=64, eval_samples=20_000, grid=200,
                       grad_clip=10.0)


# --------------------------------------------------------------------------------------------
# The flows
# --------------------------------------------------------------------------------------------


#: The longest flow Figure 3 fits (the paper's longest is K = 32).
MAX_K = 128


def _check_k(k: object, owner: str) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"{owner}: K must be a positive integer; got {shown(k)}")
    return k


def planar_flow(k: int, seed: int = 0) -> Flow:
    """``K`` planar layers (Rezende & Mohamed 2015, eq. 10) on a standard normal base, with
    small random ``w``, ``u`` (std 0.1, from a generator seeded with ``seed``) and ``b = 0``."""
    k = _check_k(k, "planar_flow")
    g = torch.Generator().manual_seed(seed)
    return Flow([Planar(0.1 * torch.randn(2, generator=g), 0.1 * torch.randn(2, generator=g), 0.0)
                 for _ in range(k)])


def nice_flow(k: int, hidden: int = 32, seed: int = 0) -> Flow:
    """A NICE flow (Dinh, Krueger & Bengio 2015, arXiv:1410.8516): ``K`` additive coupling
    layers, alternating which coordinate conditions the other, then NICE's diagonal scaling
    layer (sec. 3.3), here an ``ElementwiseAffine`` (scale and shift). Every layer starts as the
    identity; the MLPs' hidden weights are drawn from a generator seeded with ``seed``."""
    k = _check_k(k, "nice_flow")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        couplings = [AffineCoupling([i % 2, 1 - i % 2], AdditiveConditioner(1, 1, hidden),
                                    scale="exp") for i in range(k)]
    return Flow([*couplings, ElementwiseAffine([0.0, 0.0], [0.0, 0.0])])


_FLOW_MAKERS: dict[str, Callable[[int, Figure3Settings, int], Flow]] = {
    "planar": lambda k, s, seed: planar_flow(k, seed),
    "nice": lambda k, s, seed: nice_flow(k, s.hidden, seed),
}


# --------------------------------------------------------------------------------------------
# Training (pure torch)
# --------------------------------------------------------------------------------------------


@dataclass
class Figure3Result:
    """One fitted flow of Figure 3.

    Attributes:
        energy: ``"U1"`` … ``"U4"``.
        kind: ``"planar"`` or ``"nice"``.
        k: flow length K (number of planar or coupling layers).
        bound: the variational free energy ``F = E_q[ln q + U_c] ≥ -ln Z_c`` (nats) after
            training, estimated from ``settings.eval_samples`` samples.
        stderr: its Monte Carlo standard error.
        reference: ``-ln Z_c`` of the (confined) energy: no flow's bound lies below it.
        seconds: wall-clock training time.
        restarts: how often training diverged and went on from the last good parameters with
            half the learning rate.
        flow: the trained flow.
    """

    energy: str
    kind: str
    k: int
    bound: float
    stderr: float
    reference: float
    seconds: float
    restarts: int = 0
    flow: Flow | None = field(default=None, repr=False)

    @property
    def gap(self) -> float:
        """``F + ln Z = KL(q‖p)``, how far the flow is from the target (≥ 0 up to noise)."""
        return self.bound - self.reference


def _check_names(energies: Sequence[str], ks: Sequence[int]) -> tuple[list[str], list[int]]:
    if isinstance(energies, str):
        energies = (energies,)
    if not (isinstance(energies, Sequence) and energies
            and all(isinstance(name, str) for name in energies)):
        raise ValueError(f"energies must be names among {ENERGY_NAMES}; got {shown(energies)}")
    try:
        names = [energy(name).name for name in energies]
    except ValueError as err:
        raise ValueError(f"energies must be names among {ENERGY_NAMES}"
                         f"; got {shown(energies)}") from err
    if len(set(names)) != len(names):
        raise ValueError(f"energies must be distinct names among {ENERGY_NAMES}; "
                         f"got {shown(energies)}")
    if not (isinstance(ks, Sequence) and not isinstance(ks, str) and ks
            and all(is_integer(k) and 1 <= k <= MAX_K for k in ks) and len(set(ks)) == len(ks)):
        raise ValueError(f"ks must be distinct integers in [1, {MAX_K}]; got {shown(ks)}")
    return names, sorted(int(k) for k in ks)


def _train(flow: Flow, target: Energy, lr: float, settings: Figure3Settings, seed: int) -> int:
    """Reverse KL for ``settings.steps`` steps; on divergence go on with half the rate."""
    vi = ReverseKL(flow, target, n_samples=settings.n_samples,
                   anneal_steps=settings.anneal_steps, lr=lr, seed=seed,
                   grad_clip=settings.grad_clip)
    restarts = 0
    while vi.step_count < settings.steps:
        try:
            vi.step()
        except TrainingDiverged:
            restarts += 1
            if restarts > 5:
                break
            vi.lr = vi.lr / 2
    return restarts


def fit_figure3(energies: Sequence[str] = ENERGY_NAMES, ks: Sequence[int] = (2, 8, 32),
                *, full: bool = False, seed: int = 0, settings: Figure3Settings | None = None,
                kinds: Sequence[str] = FLOW_KINDS,
                progress: Callable[[Figure3Result], None] | None = None
                ) -> list[Figure3Result]:
    r"""Fit planar and NICE flows of each length K to each energy by reverse KL.

    Each flow ``q`` minimises the free energy of Rezende & Mohamed (2015), eq. 15, against the
    *confined* energy ``U_c = U + ½(d/s)²`` (``Energy.confined``: U2–U4 are not integrable on
    ℝ², so without the wall the loss has no lower bound), with the paper's annealing
    ``β_t = min(1, 0.01 + t/T)``; then ``F = E_q[ln q + U_c] ≥ -ln Z_c`` is estimated. The
    paper's finding: longer flows get tighter bounds, and planar flows need fewer parameters
    than NICE to get there — with these short runs, look at the ordering, not the values.

    Arguments:
        energies: names among ``ENERGY_NAMES``.
        ks: flow lengths K.
        full: use ``FULL`` (paper-length: 20 000 steps per flow) instead of ``FAST``.
        seed: seeds the flows' initial parameters and the training samples.
        settings: explicit settings (override ``full``).
        kinds: the flow families, a subset of ``FLOW_KINDS``.
        progress: called with each result as soon as it is ready.

    Returns:
        One :class:`Figure3Result` per (energy, kind, K), in that nesting order.

    References:
        D. J. Rezende and S. Mohamed, "Variational Inference with Normalizing Flows", ICML 2015,
        arXiv:1505.05770, sec. 6.1 and Figure 3; L. Dinh, D. Krueger and Y. Bengio, "NICE:
        Non-linear Independent Components Estimation", ICLR 2015 workshop, arXiv:1410.8516.
    """
    names, ks = _check_names(energies, ks)
    if not (isinstance(kinds, Sequence) and not isinstance(kinds, str) and kinds
            and all(isinstance(k, str) and k in FLOW_KINDS for k in kinds)):
        raise ValueError(f"kinds must be among {FLOW_KINDS}; got {shown(kinds)}")
    full = check_flag("full", full)
    seed = check_count("seed", seed, lo=0, hi=2**32 - 1)
    s = settings if settings is not None else (FULL if full else FAST)
    if not isinstance(s, Figure3Settings):
        raise ValueError(f"settings must be a Figure3Settings; got {type(s).__name__}")
    results = []
    for name in names:
        target = energy(name).confined(s.envelope)
        reference = -target.log_z
        for kind in kinds:
            lr = s.lr_planar if kind == "planar" else s.lr_nice
            for k in ks:
                flow = _FLOW_MAKERS[kind](k, s, seed)
                start = time.perf_counter()
                restarts = _train(flow, target, lr, s, seed)
                seconds = time.perf_counter() - start
                try:
                    bound, stderr = variational_bound(
                        flow, target, s.eval_samples,
                        generator=torch.Generator().manual_seed(seed + 1))
                except ValueError:
                    bound, stderr = math.inf, math.inf
                result = Figure3Result(name, kind, k, bound, stderr, reference, seconds,
                                       restarts, flow)
                results.append(result)
                if progress is not None:
                    progress(result)
    return results


def results_table(results: Sequence[Figure3Result]) -> dict[str, dict[str, float]]:
    """``{energy: {"-ln Z": …, "planar K=2": F, …, "nice K=32": F}}``, bounds in nats."""
    table: dict[str, dict[str, float]] = {}
    for r in results:
        row = table.setdefault(r.energy, {"-ln Z": r.reference})
        row[f"{r.kind} K={r.k}"] = r.bound
    return table


# --------------------------------------------------------------------------------------------
# Pictures
# --------------------------------------------------------------------------------------------


@torch.no_grad()
def true_density(target: Energy, n: int) -> np.ndarray:
    """``exp(-U - ln Z)`` of ``target`` at the cell centres of an n×n grid over its box
    (float32, rows = z₂, columns = z₁)."""
    _, _, pts = grid_points(target.bounds, n, dtype=torch.float64)
    dens = torch.exp(-target(pts) - target.log_z)
    return np.ascontiguousarray(dens.reshape(n, n).to(torch.float32).numpy())


def fitted_density(result: Figure3Result, settings: Figure3Settings) -> DensityGrid:
    """The exact density of a fitted flow on the ``settings.grid`` grid over the energy's box."""
    if result.flow is None:
        raise ValueError(f"fitted_density: the result {result.energy} {result.kind} K={result.k} "
                         f"holds no flow")
    return density_grid(result.flow, energy(result.energy).bounds, settings.grid)


def colour_top(value: float) -> float:
    """``value`` rounded up to two significant digits: a readable top for a colour bar."""
    if not (math.isfinite(value) and value > 0):
        return 1.0
    unit = 10.0 ** (math.floor(math.log10(value)) - 1)
    return math.ceil(value / unit * (1 - 1e-12)) * unit
