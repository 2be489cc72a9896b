"""The view model of ``ChangeOfVariables1D``: one ``Frame1D`` of plot-ready arrays per state.

Torch and numpy only. ``View1D.compute`` evaluates a one-layer 1-D flow on a grid of cell
centres with the engine: the exact density (through the inverse), the map f and log|f′| (through
the forward pass), and a histogram of base samples pushed through f.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from ._checks import check_count, is_number, shown
from .flows.compose import Flow

__all__ = ["ABS_DET_RANGE", "Frame1D", "View1D"]

#: |f′| is drawn on a log scale over this range; ``Frame1D.abs_det`` is clipped a little wider.
ABS_DET_RANGE = (0.1, 10.0)
#: Share of the mass in one grid cell above which p_x has a spike the grid cannot resolve.
SPIKE_SHARE = 0.05


@dataclass(frozen=True)
class Frame1D:
    """One state of a 1-D map (float32 arrays on the grid).

    Attributes:
        x: grid of cell centres (the same points serve as z on the map and |f′| plots).
        base_density: p_z(x).
        density: p_x(x) = exp(flow.log_prob(x)), exact.
        f: f(z) at z = x.
        log_det: log|f′(z)| from the forward pass.
        abs_det: |f′(z)| = exp(log|f′(z)|), clipped to [e⁻⁷, e⁷] for the log-scale plot.
        hist_edges, hist_density: histogram of pushed samples, normalised as a density
            (counts / (n_samples · bin width)).
        mass: ∫ p_x over the view (midpoint rule on the grid).
        peak: max of p_x on the grid.
        spike_unresolved: one grid cell holds more than ``SPIKE_SHARE`` of the mass (peak ×
            cell width): p_x has a spike narrower than the grid (f′ ≈ 0 nearby), so ``mass``
            is rough.
        compute_ms: wall time of ``compute``.
    """

    x: np.ndarray
    base_density: np.ndarray
    density: np.ndarray
    f: np.ndarray
    log_det: np.ndarray
    abs_det: np.ndarray
    hist_edges: np.ndarray
    hist_density: np.ndarray
    mass: float
    peak: float
    spike_unresolved: bool
    compute_ms: float


def _finite32(a: torch.Tensor | np.ndarray, limit: float = 1e6) -> np.ndarray:
    """float32 for the plots: NaN → 0, ±inf and beyond ±limit → ±limit."""
    arr = np.asarray(a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a,
                     dtype=np.float64)
    arr = np.nan_to_num(arr, nan=0.0, posinf=limit, neginf=-limit).clip(-limit, limit)
    return np.ascontiguousarray(arr, dtype=np.float32)


class View1D:
    """Evaluates a 1-D ``flow`` (its layer may change between calls) over ``x_range``.

    Arguments:
        flow: a 1-D ``Flow``.
        x_range: the plotted interval (x and z), finite, low < high.
        n_points: grid cells on it.
        n_samples: base samples pushed through f for the histogram (fixed by ``seed``).
        bins: histogram bins over ``x_range``.
    """

    def __init__(self, flow: Flow, x_range: tuple[float, float] = (-5.0, 5.0),
                 n_points: int = 400, n_samples: int = 1000, bins: int = 50,
                 seed: int = 0) -> None:
        if not isinstance(flow, Flow) or flow.dim != 1:
            raise ValueError(f"View1D needs a 1-D nfwidgets Flow; got {shown(flow)}")
        if not (isinstance(x_range, tuple | list | np.ndarray) and len(x_range) == 2
                and all(is_number(v) for v in x_range)):
            raise ValueError(f"x_range must be (low, high), two numbers; got {shown(x_range)}")
        lo, hi = (float(v) for v in x_range)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi and math.isfinite(hi - lo)):
            raise ValueError(f"x_range needs finite low < high (and a span high - low that a "
                             f"float holds); got {shown(x_range)}")
        n_points = check_count("n_points", n_points, lo=8, hi=100_000)
        n_samples = check_count("n_samples", n_samples, lo=1, hi=100_000)
        bins = check_count("bins", bins, lo=1, hi=100_000)
        seed = check_count("seed", seed, lo=0, hi=2**32 - 1)
        self.flow = flow
        self.x_range = (lo, hi)
        self.n_points, self.bins = n_points, bins
        self.cell = (hi - lo) / n_points
        ref = next(iter(flow.base.buffers()), torch.zeros((), dtype=torch.float64))
        gen = torch.Generator().manual_seed(seed)
        self.base_samples = flow.base.sample(n_samples, generator=gen).to(ref.dtype)
        h = self.cell
        self.grid = torch.linspace(lo + h / 2, hi - h / 2, n_points, dtype=ref.dtype)

    @torch.no_grad()
    def compute(self) -> Frame1D:
        """The current map on the grid, from the engine."""
        start = time.perf_counter()
        x = self.grid[:, None]
        log_px = self.flow.log_prob(x)  # exact: base log-density at f⁻¹(x) + inverse log-det
        log_pz = self.flow.base.log_prob(x)
        fz, log_det = self.flow(x)  # the same grid read as z: f(z) and log|f′(z)|
        pushed, _ = self.flow(self.base_samples)
        density = _finite32(torch.exp(log_px))
        counts, edges = np.histogram(_finite32(pushed[:, 0]), bins=self.bins,
                                     range=self.x_range)
        hist = counts / (pushed.shape[0] * (edges[1] - edges[0]))
        log_det32 = _finite32(log_det, 700.0)
        peak = float(density.max())
        return Frame1D(x=_finite32(self.grid), base_density=_finite32(torch.exp(log_pz)),
                       density=density, f=_finite32(fz[:, 0]), log_det=log_det32,
                       abs_det=np.exp(np.clip(log_det32, -7.0, 7.0)).astype(np.float32),
                       hist_edges=_finite32(edges), hist_density=_finite32(hist),
                       mass=float(np.sum(density, dtype=np.float64) * self.cell), peak=peak,
                       spike_unresolved=peak * self.cell > SPIKE_SHARE,
                       compute_ms=(time.perf_counter() - start) * 1e3)
