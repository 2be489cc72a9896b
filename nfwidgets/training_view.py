"""``TrainingView``: what the training dashboard shows, computed per frame (torch, no widgets).

A view belongs to one run: a target, the flow being trained and its trainer. Each
:meth:`TrainingView.frame` returns a :class:`TrainingFrame` — the exact density of the flow (or
of its first k layers) on the grid, the loss curve with its moving average and reference line,
the bound F for reverse KL, the mass of q per mode, and the plateau hint. Frames never touch
the trainer's random generator, so drawing does not change training.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from .contours import contour_lines
from .diagnostics import (
    PlateauDetector,
    has_modes,
    mode_masses,
    reference_mode_masses,
    variational_bound,
)
from .flows.compose import Flow
from .grid import Bounds, check_bounds, density_grid, grid_points
from .loss_curve import LossCurve, loss_curve, smoothing_window
from .targets import Energy, entropy_floor
from .train import ReverseKL, Trainer
from .training_setup import DRAW, Target

__all__ = [
    "BOUND_SAMPLES",
    "MASS_SAMPLES",
    "Overlay",
    "TrainingFrame",
    "TrainingView",
    "density_top",
    "energy_contours",
    "target_peak",
]

#: Samples for the bound F and for the mode masses of each frame.
BOUND_SAMPLES = 2048
MASS_SAMPLES = 1024
#: The mode masses use their own fixed generator: never the trainer's stream.
MASS_SEED = 12345
#: Data points shown over the density (a fixed subsample).
SHOWN_POINTS = 500
#: At most this many bound estimates are kept for the plot (older ones are thinned).
MAX_BOUND_POINTS = 300


@dataclass(frozen=True)
class TrainingFrame:
    """What one frame of the dashboard shows.

    Attributes:
        step: the trainer's step count (0 before training).
        after_layer: k, the density is that of the first k layers (``flow.truncated(k)``).
        resolution: grid cells per side.
        density: exact density of ``flow.truncated(k)`` on the grid (rows = y), float32.
        mass: its mass inside the view (midpoint rule).
        peak: its largest value.
        loss: the moving average of the loss at ``step`` (``nan`` before training).
        beta: the inverse temperature β_t of reverse KL at ``step`` (``None`` for data).
        bound: ``(F, standard error)`` of the bound at β = 1 for reverse KL, else ``None``.
        masses: mass of q per mode when the target has modes, else ``None``.
        reference_masses: the target's own mass per mode (``None`` when unknown).
        hint: the plateau hint (or ``None``).
        curve: the loss plot's data.
        compute_ms: time to compute the frame.
    """

    step: int
    after_layer: int
    resolution: int
    density: np.ndarray
    mass: float
    peak: float
    loss: float
    beta: float | None
    bound: tuple[float, float] | None
    masses: dict[str, float] | None
    reference_masses: dict[str, float] | None
    hint: str | None
    curve: LossCurve
    compute_ms: float


@dataclass(frozen=True)
class Overlay:
    """What is drawn over the density: the energy's contour lines (``kind = "contours"``, one
    line per row of ``x`` and ``y``) or the data points (``kind = "points"``, 1-D ``x``, ``y``)."""

    kind: str
    x: np.ndarray
    y: np.ndarray


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10ᵏ that is ≥ value."""
    if not (math.isfinite(value) and value > 0):
        return 1.0
    exp = math.floor(math.log10(value))
    for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * 10.0 ** exp >= value * (1 - 1e-9):
            return m * 10.0 ** exp
    return 10.0 ** (exp + 1)  # pragma: no cover - the loop always returns


@torch.no_grad()
def target_peak(target: Target, bounds: Bounds, n: int = 64) -> float:
    """Largest density of the target on an n×n grid over ``bounds``: the energy normalised
    (``exp(-U - ln Z)``), or a histogram of the data on (n/2)² cells, 3×3-smoothed (0.25 when
    there is no data yet)."""
    if target.is_energy:
        _, _, pts = grid_points(bounds, n, dtype=torch.float64)
        log_p = -target.energy(pts) - target.energy.log_z
        return float(torch.exp(log_p.max()))
    data = target.data
    if data is None or data.shape[0] == 0:
        return 0.25
    (x0, x1), (y0, y1) = bounds
    cells = n // 2
    h, _, _ = np.histogram2d(data[:, 0].numpy(), data[:, 1].numpy(), bins=cells,
                             range=[[x0, x1], [y0, y1]])
    k = np.ones(3) / 3
    h = np.apply_along_axis(np.convolve, 0, h, k, "same")
    h = np.apply_along_axis(np.convolve, 1, h, k, "same")
    area = (x1 - x0) * (y1 - y0) / cells**2
    return float(h.max() / (data.shape[0] * area))


def density_top(target: Target, bounds: Bounds) -> float:
    """The top of the density's colour range for a target: a round number above 1.2 × the
    target's peak (in [0.02, 20]), fixed per target so q and the target share colours and
    nothing jumps while training."""
    return min(max(_nice_ceiling(1.2 * target_peak(target, bounds)), 0.02), 20.0)


@torch.no_grad()
def energy_contours(target: Energy, bounds: Bounds, levels: tuple[float, ...] = (0.1, 0.4, 0.8),
                    n: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """Contour lines of ``exp(-U)`` at the given fractions of its peak on an n×n grid over
    ``bounds``, as ``(x, y)`` arrays, one row per line (``contours.contour_lines``)."""
    xs, ys, pts = grid_points(bounds, n, dtype=torch.float64)
    log_p = (-target(pts)).reshape(n, n).numpy()
    relative = np.exp(log_p - log_p.max())  # density / its peak
    return contour_lines(relative, xs.numpy(), ys.numpy(), levels)


def _overlay(target: Target, bounds: Bounds) -> Overlay:
    if target.is_energy:
        return Overlay("contours", *energy_contours(target.energy, bounds))
    data = target.data if target.data is not None else torch.zeros(0, 2)
    if data.shape[0] > SHOWN_POINTS:
        data = data[:: math.ceil(data.shape[0] / SHOWN_POINTS)]
    return Overlay("points", data[:, 0].numpy(), data[:, 1].numpy())


def _first_full_beta(trainer: ReverseKL) -> int:
    """The first step at which the annealing has reached β = 1 (bisection: β_t rises with t)."""
    hi = 1
    while trainer.beta(hi) < 1.0 and hi < 2**40:
        hi *= 2
    lo = 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if trainer.beta(mid) < 1.0 else (lo, mid)
    return hi


class TrainingView:
    """The dashboard's view model for one run: a target, the flow and its trainer.

    Arguments:
        target: what is fitted (``training_setup.Target``: data or an energy).
        flow: the flow being trained (read, never changed).
        trainer: its trainer (``None`` while there is no data to train on).
        bounds: the view ``((x_min, x_max), (y_min, y_max))``.
        plateau_window: steps the plateau detector compares (even, ≥ 4).

    Attributes (fixed for the run):
        floor: the reference line: ``-ln Z`` for an energy (only F at β = 1 obeys
            ``F ≥ -ln Z``), the data's entropy where it is known, else ``None``.
        floor_label: its legend text.
        reference_masses: the target's own mass per mode (``None`` when unknown).
        density_top: top of the density's colour range (:func:`density_top`).
        overlay: the :class:`Overlay` drawn over the density.
        plateau: the :class:`~nfwidgets.diagnostics.PlateauDetector` fed with β = 1 losses.
    """

    def __init__(self, target: Target, flow: Flow, trainer: Trainer | None, bounds: Bounds,
                 *, plateau_window: int = 200) -> None:
        self.target, self.flow, self.trainer = target, flow, trainer
        self.bounds = check_bounds(bounds)
        if target.is_energy:
            self.floor: float | None = -target.energy.log_z
            self.floor_label = "−ln Z: only F at β = 1 obeys F ≥ −ln Z"
        else:
            self.floor = None if target.name == DRAW else entropy_floor(target.name)
            self.floor_label = "entropy H(p): the NLL's floor"
        self.plateau = PlateauDetector(plateau_window, floor=self.floor)
        self._fed = 0  # steps fed to the plateau detector
        self.reference_masses: dict[str, float] | None = None
        if has_modes(target.name):
            if target.is_energy:
                self.reference_masses = reference_mode_masses(target.name)
            elif target.data is not None and target.data.shape[0]:
                self.reference_masses = mode_masses(target.name, target.data)
        self.density_top = density_top(target, self.bounds)
        self.overlay = _overlay(target, self.bounds)
        self._bound_points: list[tuple[int, float]] = []
        self._last_bound: tuple[float, float] | None = None
        self._masses_at: tuple[int, dict[str, float] | None] | None = None
        self._full_beta = (_first_full_beta(trainer) if isinstance(trainer, ReverseKL)
                           else None)

    @property
    def step(self) -> int:
        return 0 if self.trainer is None else self.trainer.step_count

    @property
    def losses(self) -> list[float]:
        return [] if self.trainer is None else self.trainer.history

    def beta(self) -> float | None:
        """β_t of reverse KL at the current step (``None`` for data)."""
        t = self.trainer
        return t.beta(max(self.step, 1)) if isinstance(t, ReverseKL) else None

    def loss_label(self) -> str:
        """The loss curve's name: reverse KL's loss is the annealed objective
        ``E[ln q + β_t U]`` while β_t < 1, which is not bounded by -ln Z."""
        beta = self.beta()
        if beta is None:
            return "loss per step"
        if beta < 1.0:
            return "annealed objective (β_t < 1)"
        if self._full_beta is not None and self._full_beta > 1:
            return f"objective (annealed until step {self._full_beta}, then β = 1)"
        return "objective F (β = 1)"

    @torch.no_grad()
    def frame(self, resolution: int, *, after_layer: int | None = None,
              total_steps: int = 0) -> TrainingFrame:
        """Compute the frame at ``resolution`` cells per side, showing the density after
        ``after_layer`` layers (``None``: the whole flow); ``total_steps`` sets the loss plot's
        x range."""
        start = time.perf_counter()
        k = len(self.flow) if after_layer is None else int(after_layer)
        shown = self.flow if k >= len(self.flow) else self.flow.truncated(k)
        dens = density_grid(shown, self.bounds, resolution)
        step = self.step
        losses = np.asarray(self.losses, dtype=np.float64)
        loss = float(losses[-smoothing_window(losses.size):].mean()) if losses.size else math.nan
        bound = self._bound(step)
        masses = self._masses(step)
        self._feed_plateau()
        curve = loss_curve(
            losses, total_steps, reference=self.floor, reference_label=self.floor_label,
            loss_label=self.loss_label(), bound_steps=[s for s, _ in self._bound_points],
            bound_values=[v for _, v in self._bound_points],
            bound_label="bound F at β = 1 (fresh samples)")
        return TrainingFrame(
            step=step, after_layer=min(k, len(self.flow)), resolution=resolution,
            density=dens.density, mass=dens.mass, peak=float(dens.density.max()), loss=loss,
            beta=self.beta(), bound=bound, masses=masses,
            reference_masses=self.reference_masses, hint=self.plateau.hint, curve=curve,
            compute_ms=(time.perf_counter() - start) * 1e3)

    def _bound(self, step: int) -> tuple[float, float] | None:
        """F at β = 1 (``diagnostics.variational_bound``), estimated once per step."""
        if not self.target.is_energy:
            return None
        if self._bound_points and self._bound_points[-1][0] == step:
            return self._last_bound
        try:
            bound = variational_bound(self.flow, self.target.energy, BOUND_SAMPLES)
        except ValueError:
            bound = None  # non-finite samples: nothing to plot at this step
        if bound is not None:
            self._bound_points.append((step, bound[0]))
            if len(self._bound_points) > MAX_BOUND_POINTS:
                self._bound_points = self._bound_points[::2]
        self._last_bound = bound
        return bound

    def _masses(self, step: int) -> dict[str, float] | None:
        """Mass of q per mode, estimated once per step (a scrub or a control change between
        steps shows the same flow, so the same masses)."""
        if not has_modes(self.target.name):
            return None
        if self._masses_at is not None and self._masses_at[0] == step:
            return self._masses_at[1]
        gen = torch.Generator().manual_seed(MASS_SEED)
        try:
            masses = mode_masses(self.target.name, self.flow.sample(MASS_SAMPLES, generator=gen))
        except ValueError:
            masses = None
        self._masses_at = (step, masses)
        return masses

    def _feed_plateau(self) -> None:
        """Give the detector the losses of the steps since the last frame (β = 1 steps only:
        while reverse KL anneals, the loss rises by design)."""
        t = self.trainer
        if t is None:
            return
        history = t.history
        for s in range(self._fed + 1, len(history) + 1):
            if t.beta(s) >= 1.0:
                self.plateau.update(s, history[s - 1])
        self._fed = len(history)
