"""Whole-flow passes on the fast path: a batched forward for training and staged passes for
plot grids, whose per-layer stages are kept until the caller says a layer changed."""

from __future__ import annotations

from collections.abc import Callable
from weakref import WeakKeyDictionary

import torch
from torch import Tensor

from .._checks import MAX_POINTS, check_count
from ..flows.base import Layer
from ..flows.compose import Flow
from ..flows.planar import Planar
from .layers import inverse_where, layer_forward
from .planar import planar_run

__all__ = ["ForwardCache", "InverseCache", "LayerScratch", "StagedPass", "forward",
           "sample_and_log_prob"]


def _runs(layers: list[Layer]) -> list[list[Layer]]:
    """Consecutive planar layers with one ``constrain`` setting form one run; others stand
    alone."""
    runs: list[list[Layer]] = []
    for layer in layers:
        prev = runs[-1][-1] if runs else None
        if (isinstance(layer, Planar) and isinstance(prev, Planar)
                and prev.constrain == layer.constrain):
            runs[-1].append(layer)
        else:
            runs.append([layer])
    return runs


def forward(flow: Flow, z: Tensor) -> tuple[Tensor, Tensor]:
    """``flow(z)``: the same values and gradients, with runs of planar layers batched
    (``planar_run``)."""
    flow._check(z, "forward")
    flow._check_like(z, "forward")
    log_det = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
    for run in _runs(list(flow.layers)):
        z, ld = planar_run(run, z) if isinstance(run[0], Planar) else run[0]._forward(z)
        log_det = log_det + ld
    return z, log_det


def sample_and_log_prob(flow: Flow, n: int, generator: torch.Generator | None = None
                        ) -> tuple[Tensor, Tensor]:
    """``flow.sample_and_log_prob(n, generator)`` through ``forward``: the same draws."""
    n = check_count("n", n, owner="sample_and_log_prob", hi=MAX_POINTS)
    z = flow.base.sample(n, generator=generator)
    x, log_det = forward(flow, z)
    return x, flow.base.log_prob(z) - log_det


class LayerScratch:
    """What a layer's fast route derives from its parameters alone (a planar layer's û and
    inverse table), one dict per layer object, shared by the passes of one view so that it is
    derived once per change, not once per pass.

    ``invalidate(k)`` marks layer k (0-based) as changed; the first pass to run afterwards
    drops its dict (``settle``), the passes after it in the same redraw reuse what that one
    derived. A dict made in another dtype or device is never handed out.
    """

    def __init__(self) -> None:
        self._dicts: WeakKeyDictionary[Layer, tuple[tuple, dict]] = WeakKeyDictionary()
        self._changed: set[int] | None = set()  # layer indices; None: all

    def invalidate(self, layer: int | None = None) -> None:
        """Layer ``layer`` (0-based index in ``flow.layers``) changed; ``None``: every layer."""
        if layer is None or self._changed is None:
            self._changed = None
        else:
            self._changed.add(int(layer))

    def settle(self, flow: Flow) -> None:
        """Drop the dicts of the layers of ``flow`` marked as changed (indices beyond a
        truncated ``flow`` stay marked until a flow that long runs)."""
        if self._changed is None:
            self._dicts, self._changed = WeakKeyDictionary(), set()
            return
        for k in [k for k in self._changed if k < len(flow.layers)]:
            self._dicts.pop(flow.layers[k], None)
            self._changed.discard(k)

    def of(self, layer: Layer, like: Tensor) -> dict:
        """The dict of ``layer``, for points like ``like`` (a new one for another dtype or
        device)."""
        key = (like.dtype, like.device)
        kept = self._dicts.get(layer)
        if kept is None or kept[0] != key:
            kept = self._dicts[layer] = (key, {})
        return kept[1]


class StagedPass:
    """A pass of a flow over fixed points, kept stage by stage.

    Stage ``i`` holds the points, summed log-det and ``unique`` mask after the ``i``-th layer
    of the pass (first to last for a forward pass, last to first for an inverse pass). A stage
    stays valid until ``invalidate`` says that one of the layers it went through changed;
    parameters are never watched. Per-layer scratch (``LayerScratch``) is kept alike and
    dropped when its layer is invalidated; passes over the same flow may share one
    (``scratch=``), whose owner then invalidates it. Structural changes are recognised
    without being told: the stages are tied to the layer objects they ran (by identity) and to
    the points tensor (by identity, shape and dtype); new points or different layers start
    afresh.
    """

    inverse = True

    def __init__(self, scratch: LayerScratch | None = None) -> None:
        self._points: Tensor | None = None
        self._stages: list[tuple[Layer, Tensor, Tensor, Tensor]] = []
        self._changed: set[int] | None = set()  # layer indices; None: all
        self._kept: tuple[tuple, object] | None = None
        self._owns_scratch = scratch is None
        self.scratch = LayerScratch() if scratch is None else scratch

    def invalidate(self, layer: int | None = None) -> None:
        """Layer ``layer`` (0-based index in ``flow.layers``) changed; ``None``: everything.
        A shared ``scratch`` is invalidated by its owner, once for all its passes."""
        if layer is None or self._changed is None:
            self._changed = None
        else:
            self._changed.add(int(layer))
        if self._owns_scratch:
            self.scratch.invalidate(layer)

    def kept(self, key: tuple, build: Callable[[], object]) -> object:
        """``build()``, built once per ``key`` and then handed out as the same object (so the
        pass sees the same points tensor, e.g. the grid of ``grid_points``)."""
        if self._kept is None or self._kept[0] != key:
            self._kept = (key, build())
        return self._kept[1]

    def _valid(self, n_layers: int) -> int:
        """How many leading stages no invalidated layer has touched."""
        if self._changed is None:
            return 0
        positions = [n_layers - 1 - k if self.inverse else k
                     for k in self._changed if 0 <= k < n_layers]
        return min([len(self._stages), *positions])

    def run(self, flow: Flow, points: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(x, log_det, unique)`` of the pass, recomputing only stages that are not valid."""
        what = "inverse_where" if self.inverse else "forward"
        flow._check(points, what)
        flow._check_like(points, what)
        if (points is not self._points or self._points.shape != points.shape
                or self._points.dtype != points.dtype):
            # New points (another grid, or a dtype change): every stage starts over.
            self._points, self._stages = points, []
        layers = list(reversed(flow.layers)) if self.inverse else list(flow.layers)
        reuse = min(self._valid(len(layers)), len(layers))
        for i in range(reuse):
            if self._stages[i][0] is not layers[i]:
                reuse = i
                break
        self.scratch.settle(flow)
        if self._changed is None:
            self._changed = set()
        self._changed -= set(range(len(layers)))  # (layers beyond a truncated flow stay marked)
        if reuse:
            _, x, log_det, unique = self._stages[reuse - 1]
        else:
            x = points
            log_det = torch.zeros(points.shape[0], dtype=points.dtype, device=points.device)
            unique = torch.ones(points.shape[0], dtype=torch.bool, device=points.device)
        del self._stages[reuse:]
        for layer in layers[reuse:]:
            if self.inverse:
                x, ld, u = inverse_where(layer, x, self.scratch.of(layer, points))
            else:
                x, ld = layer_forward(layer, x, self.scratch.of(layer, points))
            if self.inverse and u is not None:
                unique = unique & u
            log_det = log_det + ld
            self._stages.append((layer, x, log_det, unique))
        return x, log_det, unique


class InverseCache(StagedPass):
    """``inverse_where(flow, points)`` equals ``flow.inverse_where(points)``; after
    ``invalidate(k)`` only layers k, k-1, …, 0 are recomputed (the pass runs from the data
    side)."""

    inverse = True

    def inverse_where(self, flow: Flow, points: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return self.run(flow, points)


class ForwardCache(StagedPass):
    """``forward(flow, z)`` equals ``flow(z)``; after ``invalidate(k)`` only layers
    k, …, K-1 are recomputed."""

    inverse = False

    def forward(self, flow: Flow, points: Tensor) -> tuple[Tensor, Tensor]:
        x, log_det, _ = self.run(flow, points)
        return x, log_det
