"""Evaluate a flow on a regular 2-D grid: exact density, log|det J| and a deformed grid (numpy out).

Every array returned is float32, C-contiguous and finite, laid out like bqplot's ``HeatMap``:
rows follow y, columns follow x (``torch.meshgrid(..., indexing="xy")``).

Bad input (the contract of ``nfwidgets.flows``): every function raises ``ValueError`` naming the
parameter, the value and what is allowed; bounds with NaN or inf are refused (naming the axis),
and grids have at most 4096 points per side.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ._checks import check_count, check_device, check_dtype, check_real, shown
from .fast import ForwardCache, InverseCache, base_log_prob, flow_inverse_where, forward
from .flows.compose import Flow

__all__ = [
    "LOG_DENSITY_FLOOR",
    "LOG_DET_LIMIT",
    "Bounds",
    "DeformedGrid",
    "DensityGrid",
    "LogDetGrid",
    "check_bounds",
    "deformed_grid",
    "density_grid",
    "grid_points",
    "line_points",
    "log_det_grid",
]

Bounds = tuple[tuple[float, float], tuple[float, float]]

#: log densities below this are shown as this value (density ≈ 2e-22, invisible on any scale).
LOG_DENSITY_FLOOR = -50.0
#: |log|det J|| is clipped to this; beyond it the map is (nearly) singular or explosive.
LOG_DET_LIMIT = 30.0


def check_bounds(bounds: Sequence[Sequence[float]]) -> Bounds:
    """Validate ``((x_min, x_max), (y_min, y_max))`` and return it as floats: finite numbers
    (not bools), ``min < max`` on each axis, with a span ``max - min`` a float can hold."""
    allowed = "((x_min, x_max), (y_min, y_max)) with finite numbers, min < max"
    try:
        (x0, x1), (y0, y1) = (
            tuple(check_real("bounds", v, owner="bounds") for v in pair) for pair in bounds)
    except (TypeError, ValueError):
        raise ValueError(f"bounds must be {allowed}; got {shown(bounds)}") from None
    for lo, hi, axis in ((x0, x1, "x"), (y0, y1, "y")):
        if not (lo < hi and math.isfinite(hi - lo)):
            raise ValueError(f"bounds must be {allowed}; the {axis} axis is ({lo:g}, {hi:g}) "
                             f"in {shown(bounds)}")
    return (x0, x1), (y0, y1)


def _check_n(n: int, name: str = "n", minimum: int = 2) -> int:
    return check_count(name, n, owner="grid", lo=minimum, hi=4096)


def grid_points(bounds: Sequence[Sequence[float]], n: int, *, dtype: torch.dtype = torch.float32,
                device: torch.device | str | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Cell centres of an n×n grid: ``(xs (n,), ys (n,), points (n*n, 2))``.

    ``points[i * n + j] = (xs[j], ys[i])``: row i is y, column j is x.
    """
    (x0, x1), (y0, y1) = check_bounds(bounds)
    n = _check_n(n)
    dtype = check_dtype("dtype", dtype, owner="grid_points")
    device = check_device("device", device, owner="grid_points")
    hx, hy = (x1 - x0) / n, (y1 - y0) / n
    xs = torch.linspace(x0 + hx / 2, x1 - hx / 2, n, dtype=dtype, device=device)
    ys = torch.linspace(y0 + hy / 2, y1 - hy / 2, n, dtype=dtype, device=device)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    return xs, ys, torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=-1)


def line_points(bounds: Sequence[Sequence[float]], n_lines: int, n_points: int, *,
                dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
                ) -> Tensor:
    """Points along the lines of an ``n_lines``-per-axis coordinate grid, ``n_points`` per
    line, shape (2 n_lines n_points, 2): first the vertical lines x = const (left to right),
    then the horizontal ones y = const (bottom to top)."""
    (x0, x1), (y0, y1) = check_bounds(bounds)
    n_lines, n_points = _check_n(n_lines, "n_lines"), _check_n(n_points, "n_points")
    dtype = check_dtype("dtype", dtype, owner="line_points")
    device = check_device("device", device, owner="line_points")
    lx = torch.linspace(x0, x1, n_lines, dtype=dtype, device=device)
    ly = torch.linspace(y0, y1, n_lines, dtype=dtype, device=device)
    tx = torch.linspace(x0, x1, n_points, dtype=dtype, device=device)
    ty = torch.linspace(y0, y1, n_points, dtype=dtype, device=device)
    vertical = torch.stack(torch.broadcast_tensors(lx[:, None], ty[None, :]), dim=-1)
    horizontal = torch.stack(torch.broadcast_tensors(tx[None, :], ly[:, None]), dim=-1)
    return torch.cat([vertical, horizontal]).reshape(-1, 2)


def _numpy(t: Tensor, shape: tuple[int, ...]) -> np.ndarray:
    return np.ascontiguousarray(t.detach().reshape(shape).to("cpu", torch.float32).numpy())


def _flow_dtype(flow: Flow) -> tuple[torch.dtype, torch.device]:
    """The dtype and device the flow computes in (its first floating tensor decides: ``Flow``
    checks that the layers agree)."""
    for t in itertools.chain(flow.parameters(), flow.buffers()):  # (stops at the first)
        if t.is_floating_point():
            return t.dtype, t.device
    return torch.get_default_dtype(), torch.device("cpu")


def _check_flow(flow: object) -> Flow:
    if not isinstance(flow, Flow) or flow.dim != 2:
        got = f"a Flow of dimension {flow.dim}" if isinstance(flow, Flow) else shown(flow)
        raise ValueError(f"flow must be a 2-D nfwidgets Flow (grids are 2-D); got {got}")
    return flow


@dataclass(frozen=True)
class DensityGrid:
    """Exact density of a flow on a grid (float32 arrays, rows = y, columns = x).

    Attributes:
        xs, ys: cell centres, shape (n,).
        density: p(x) ≥ 0, shape (n, n); 0 where ``unique`` is False.
        log_density: log p(x) clipped to [LOG_DENSITY_FLOOR, log_ceiling], shape (n, n).
        log_det: log|det ∂f/∂z| of the forward map at the preimage z = f⁻¹(x) of each grid point
            x (so ``log p_x(x) = log p_z(z) - log_det``), clipped to ±LOG_DET_LIMIT.
        unique: True where the point has exactly one preimage (the density is exact there).
        clipped: True where log p was non-finite or above ``log_ceiling`` before clipping.
        mass: ∑ density × cell area, the probability mass inside the view (midpoint rule).
    """

    xs: np.ndarray
    ys: np.ndarray
    density: np.ndarray
    log_density: np.ndarray
    log_det: np.ndarray
    unique: np.ndarray
    clipped: np.ndarray
    mass: float

    @property
    def invertible(self) -> bool:
        """True when every grid point has a single preimage."""
        return bool(self.unique.all())


@dataclass(frozen=True)
class LogDetGrid:
    """log|det ∂x/∂z| of the forward map at grid points z (float32, rows = y, columns = x).

    ``log_det`` is clipped to ±LOG_DET_LIMIT; ``clipped`` marks where it was (including the
    fold line where det J = 0 and log|det J| = -∞).
    """

    xs: np.ndarray
    ys: np.ndarray
    log_det: np.ndarray
    clipped: np.ndarray


@dataclass(frozen=True)
class DeformedGrid:
    """Images under the forward map of the grid lines x = const and y = const.

    ``x``, ``y``: shape (2 * n_lines, n_points); rows 0..n_lines-1 are the images of vertical
    lines, the rest of horizontal lines (the layout bqplot's ``Lines`` takes for many lines).
    """

    x: np.ndarray
    y: np.ndarray


@torch.no_grad()
def density_grid(flow: Flow, bounds: Sequence[Sequence[float]], n: int = 200,
                 *, log_ceiling: float = 20.0, cache: InverseCache | None = None
                 ) -> DensityGrid:
    """Exact density ``p_x`` of ``flow`` on an n×n grid, through the inverse of every layer.

    ``log p_x(x) = log p_z(f⁻¹(x)) + log|det ∂f⁻¹/∂x|``. Non-invertible layers (constraint off)
    do not raise: points with several preimages get ``unique = False`` and density 0. With a
    ``cache`` (one per grid; ``nfwidgets.fast.InverseCache``), layers not invalidated since
    the last call are not recomputed.
    """
    flow = _check_flow(flow)
    n = _check_n(n)
    log_ceiling = check_real("log_ceiling", log_ceiling, owner="density_grid",
                             lo=LOG_DENSITY_FLOOR, lo_open=True)
    if cache is not None and not isinstance(cache, InverseCache):
        raise ValueError(f"density_grid: cache must be None or an InverseCache; got "
                         f"{shown(cache)}")
    dtype, device = _flow_dtype(flow)
    if cache is None:  # (no stage kept: the pass frees each layer's input as it goes)
        xs, ys, pts = grid_points(bounds, n, dtype=dtype, device=device)
        z, log_det, unique = flow_inverse_where(flow, pts)
    else:
        xs, ys, pts = cache.kept(("grid", check_bounds(bounds), n, dtype, device),
                                 lambda: grid_points(bounds, n, dtype=dtype, device=device))
        z, log_det, unique = cache.inverse_where(flow, pts)
    logp = base_log_prob(flow.base, z) + log_det
    shape = (n, n)
    unique_np = unique.reshape(shape).cpu().numpy()
    # The usual frame has every value finite and inside the ranges: two reductions say so
    # (a NaN makes both NaN), and the elementwise masks and clean-ups below are skipped
    # (torch's comparisons and isfinite cost several multiplications each).
    lo, hi = float(logp.min()), float(logp.max())
    if math.isfinite(lo) and hi <= log_ceiling:
        clipped_np = np.zeros(shape, dtype=bool)
        if lo < LOG_DENSITY_FLOOR:
            logp = logp.clamp_(min=LOG_DENSITY_FLOOR)
    else:
        # "clipped" marks values that could not be shown as they are: non-finite or above the
        # ceiling (det J ≈ 0). Below the floor the density is ≈ 0 and drawn as 0: nothing is
        # lost.
        clipped = ~torch.isfinite(logp) | (logp > log_ceiling)
        clipped_np = clipped.reshape(shape).cpu().numpy()
        # +inf (det J = 0 exactly: an infinite spike) is shown at the ceiling, -inf as 0, and
        # NaN (undefined) as 0 and marked clipped.
        logp = torch.nan_to_num(logp, nan=LOG_DENSITY_FLOOR, posinf=log_ceiling,
                                neginf=LOG_DENSITY_FLOOR).clamp(LOG_DENSITY_FLOOR, log_ceiling)
    dens = torch.exp(logp)
    if not unique_np.all():
        dens = torch.where(unique, dens, torch.zeros_like(dens))
    fwd_log_det = -log_det
    lo, hi = float(fwd_log_det.min()), float(fwd_log_det.max())
    if not (-LOG_DET_LIMIT <= lo and hi <= LOG_DET_LIMIT):  # also when NaN
        fwd_log_det = torch.nan_to_num(fwd_log_det, nan=0.0, posinf=LOG_DET_LIMIT,
                                       neginf=-LOG_DET_LIMIT).clamp(-LOG_DET_LIMIT, LOG_DET_LIMIT)
    (x0, x1), (y0, y1) = check_bounds(bounds)
    mass = float(dens.sum(dtype=torch.float64)) * (x1 - x0) * (y1 - y0) / (n * n)
    return DensityGrid(
        xs=_numpy(xs, (n,)), ys=_numpy(ys, (n,)), density=_numpy(dens, shape),
        log_density=_numpy(logp, shape), log_det=_numpy(fwd_log_det, shape),
        unique=unique_np, clipped=clipped_np, mass=mass,
    )


@torch.no_grad()
def log_det_grid(flow: Flow, bounds: Sequence[Sequence[float]], n: int = 200) -> LogDetGrid:
    """``log|det ∂x/∂z|`` of the forward map at the grid points z, clipped to ±LOG_DET_LIMIT."""
    flow = _check_flow(flow)
    dtype, device = _flow_dtype(flow)
    xs, ys, pts = grid_points(bounds, n, dtype=dtype, device=device)
    _, ld = forward(flow, pts)
    bad = ~torch.isfinite(ld) | (ld.abs() > LOG_DET_LIMIT)
    ld = torch.nan_to_num(ld, nan=0.0, posinf=LOG_DET_LIMIT, neginf=-LOG_DET_LIMIT)
    ld = ld.clamp(-LOG_DET_LIMIT, LOG_DET_LIMIT)
    shape = (n, n)
    return LogDetGrid(xs=_numpy(xs, (n,)), ys=_numpy(ys, (n,)), log_det=_numpy(ld, shape),
                      clipped=bad.reshape(shape).cpu().numpy())


@torch.no_grad()
def deformed_grid(flow: Flow, bounds: Sequence[Sequence[float]], n_lines: int = 17,
                  n_points: int = 100, *, limit: float = 1e3, cache: ForwardCache | None = None
                  ) -> DeformedGrid:
    """Push the lines of an ``n_lines``-per-axis coordinate grid through the forward map.

    Coordinates are clipped to ±``limit`` so the arrays stay finite when a layer explodes. With
    a ``cache`` (``nfwidgets.fast.ForwardCache``), leading layers not invalidated since the
    last call are not recomputed.
    """
    flow = _check_flow(flow)
    check_bounds(bounds)
    n_lines, n_points = _check_n(n_lines, "n_lines"), _check_n(n_points, "n_points")
    limit = check_real("limit", limit, owner="deformed_grid", lo=0, lo_open=True)
    if cache is not None and not isinstance(cache, ForwardCache):
        raise ValueError(f"deformed_grid: cache must be None or a ForwardCache; got "
                         f"{shown(cache)}")
    dtype, device = _flow_dtype(flow)
    if cache is None:
        out, _ = forward(flow, line_points(bounds, n_lines, n_points, dtype=dtype, device=device))
    else:
        pts = cache.kept(("lines", check_bounds(bounds), n_lines, n_points, dtype, device),
                         lambda: line_points(bounds, n_lines, n_points, dtype=dtype,
                                             device=device))
        out, _ = cache.forward(flow, pts)
    out = torch.nan_to_num(out, nan=0.0, posinf=limit, neginf=-limit).clamp(-limit, limit)
    shape = (2 * n_lines, n_points)
    return DeformedGrid(x=_numpy(out[:, 0], shape), y=_numpy(out[:, 1], shape))
