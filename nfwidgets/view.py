"""The view model between the engine and the plots: one ``Frame`` of plot-ready arrays per state.

No bqplot here, no maths beyond calling the engine: ``FlowView.compute`` evaluates the current
flow on the view's grid (exact density and log|det J| through the inverse, the deformed grid
through the forward map, optional samples) and returns numpy arrays for the plots.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ._checks import check_count, shown
from .fast import ForwardCache, InverseCache, LayerScratch
from .fast.planar import effective as planar_effective
from .flows.compose import Flow
from .flows.planar import Planar
from .grid import Bounds, check_bounds, deformed_grid, density_grid

__all__ = ["FlowView", "Frame", "line_segment"]


@dataclass(frozen=True)
class Frame:
    """Everything one redraw shows (float32 numpy arrays, rows = y, columns = x)."""

    resolution: int
    density: np.ndarray
    log_det: np.ndarray
    unique: np.ndarray
    clipped: np.ndarray
    mass: float
    peak: float
    grid_x: np.ndarray
    grid_y: np.ndarray
    samples: np.ndarray | None
    compute_ms: float

    @property
    def invertible(self) -> bool:
        return bool(self.unique.all())


class FlowView:
    """Evaluates a 2-D ``Flow`` for display over fixed ``bounds``.

    Results are kept layer by layer between calls (``nfwidgets.fast``): whoever changes a
    layer's parameters or settings calls ``invalidate(k)`` (or ``invalidate()``) before the
    next ``compute``. A different stack of layers, points or dtype is noticed without a call.

    Arguments:
        flow: the flow shown (its parameters may change between calls).
        bounds: the view ``((x_min, x_max), (y_min, y_max))``.
        resolution: grid cells per side for density and log|det J|.
        n_lines: coordinate lines per axis of the deformed grid.
        n_samples: base samples pushed through the flow (0 for none); fixed by ``seed``.
    """

    def __init__(self, flow: Flow, bounds: Bounds = ((-4.0, 4.0), (-4.0, 4.0)),
                 resolution: int = 200, n_lines: int = 17, n_samples: int = 300,
                 seed: int = 0) -> None:
        if not isinstance(flow, Flow) or flow.dim != 2:
            raise ValueError(f"flow must be a 2-D nfwidgets Flow; got {shown(flow)}")
        self.flow = flow
        self.bounds = check_bounds(bounds)
        self.resolution = check_count("resolution", resolution, lo=8, hi=1024)
        self.n_lines = check_count("n_lines", n_lines, lo=2, hi=200)
        n_samples = check_count("n_samples", n_samples, lo=0, hi=100_000)
        seed = check_count("seed", seed, lo=0, hi=2**32 - 1)
        # Every pass shares one LayerScratch: a layer's û (and planar table) is derived once
        # per change, not once per pass.
        self._scratch = LayerScratch()
        self._caches: dict[int, InverseCache] = {}  # one per grid size (coarse and full)
        self._lines_cache = ForwardCache(self._scratch)
        self._samples_cache = ForwardCache(self._scratch)
        gen = torch.Generator().manual_seed(seed)
        self._base_samples = (flow.base.sample(n_samples, generator=gen)
                              if n_samples > 0 else None)

    def invalidate(self, layer: int | None = None) -> None:
        """Layer ``layer`` (0-based index in ``flow.layers``) changed; ``None``: everything
        (also after a change of the stack or dtype, or when unsure). The next ``compute``
        recomputes the inverse pass through layers ``layer, layer - 1, …, 0`` and the forward
        passes (deformed grid, samples) through ``layer, …, K - 1``."""
        if layer is not None and not (isinstance(layer, int) and not isinstance(layer, bool)
                                      and layer >= 0):
            raise ValueError(f"FlowView.invalidate: layer must be None or an integer ≥ 0; "
                             f"got {shown(layer)}")
        for cache in (*self._caches.values(), self._lines_cache, self._samples_cache):
            cache.invalidate(layer)
        self._scratch.invalidate(layer)

    @torch.no_grad()
    def planar_parameters(self, layer: Planar) -> tuple[Tensor, Tensor, Tensor]:
        """``layer.effective()`` = ``(û, c, 1 + c)`` of a planar layer of the view's flow, from
        the scratch its passes share: derived once per change, and the readouts show exactly
        the numbers the pictures were computed with."""
        if not isinstance(layer, Planar):
            raise ValueError(f"planar_parameters needs a Planar layer; got {shown(layer)}")
        self._scratch.settle(self.flow)
        return planar_effective(layer, self._scratch.of(layer, layer.w))

    @torch.no_grad()
    def compute(self, resolution: int | None = None, flow: Flow | None = None,
                samples: bool = True) -> Frame:
        """Evaluate ``flow`` (default: the view's flow) at ``resolution`` (default: the view's);
        ``samples=False`` skips pushing the samples (``Frame.samples`` is then ``None``)."""
        start = time.perf_counter()
        flow = self.flow if flow is None else flow
        n = self.resolution if resolution is None else resolution
        params = [p.reshape(-1) for p in flow.parameters()]
        # A sum is finite when every term is (one that overflows only costs the loop below).
        if params and not math.isfinite(float(torch.cat(params).sum())):
            for k, layer in enumerate(flow.layers):  # a broken state is reported, never drawn
                for name, p in layer.named_parameters():
                    if not bool(torch.isfinite(p).all()):
                        raise ValueError(f"layer {k + 1} ({type(layer).__name__}): parameter "
                                         f"{name} = {p.detach().tolist()} is not finite")
        cache = self._caches.get(n)
        if cache is None:  # a new resolution: its pass starts from nothing
            cache = self._caches[n] = InverseCache(self._scratch)
        dens = density_grid(flow, self.bounds, n, cache=cache)
        lines = deformed_grid(flow, self.bounds, self.n_lines, 60, cache=self._lines_cache)
        pushed = None
        if samples and self._base_samples is not None:
            ref = next(iter(flow.parameters()), self._base_samples)
            x, _ = self._samples_cache.forward(flow, self._base_samples.to(ref.dtype))
            pushed = np.ascontiguousarray(
                torch.nan_to_num(x, nan=0.0, posinf=1e3, neginf=-1e3).clamp(-1e3, 1e3)
                .to(torch.float32).numpy())
        peak = float(dens.density.max()) if dens.density.size else 0.0
        return Frame(resolution=n, density=dens.density, log_det=dens.log_det,
                     unique=dens.unique, clipped=dens.clipped, mass=dens.mass, peak=peak,
                     grid_x=lines.x, grid_y=lines.y, samples=pushed,
                     compute_ms=(time.perf_counter() - start) * 1e3)


def line_segment(w: tuple[float, float], value: float, bounds: Bounds
                 ) -> tuple[list[float], list[float]] | None:
    """End points of the part of the line ``w·p = value`` inside ``bounds`` (None if outside)."""
    (x0, x1), (y0, y1) = bounds
    w1, w2 = float(w[0]), float(w[1])
    pts: list[tuple[float, float]] = []
    if abs(w2) > 1e-12:
        for x in (x0, x1):
            y = (value - w1 * x) / w2
            if y0 <= y <= y1:
                pts.append((x, y))
    if abs(w1) > 1e-12:
        for y in (y0, y1):
            x = (value - w2 * y) / w1
            if x0 <= x <= x1:
                pts.append((x, y))
    if len(pts) < 2:
        return None
    pts.sort()
    return [pts[0][0], pts[-1][0]], [pts[0][1], pts[-1][1]]
