"""View-model pieces the 2-D widgets need beside ``nfwidgets.view.FlowView`` (torch and numpy).

- ``base_picture``: what the base panel shows (p_z on the grid, straight grid lines, samples);
- ``PrefixView``: a ``FlowView`` of the first k layers of a stack (``FlowBuilder``'s scrubber);
- ``coupling_probe``: a coupling layer's Jacobian, image and log|det J| at one point;
- ``circle_lines``: polylines of circles (the radial layer's fold circles).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .flows.compose import Flow
from .flows.coupling import AffineCoupling
from .grid import grid_points
from .view import FlowView, Frame

__all__ = ["BasePicture", "PrefixView", "Probe", "base_picture", "circle_lines",
           "coupling_probe"]


@dataclass(frozen=True)
class BasePicture:
    """The base panel: ``density`` (n×n float32, rows = y), the straight coordinate lines
    (``lines_x``, ``lines_y``: one polyline per row) and the base samples (or ``None``)."""

    density: np.ndarray
    lines_x: np.ndarray
    lines_y: np.ndarray
    samples: np.ndarray | None


@torch.no_grad()
def base_picture(view: FlowView) -> BasePicture:
    """p_z on ``view``'s grid, its ``n_lines`` straight lines per axis and its base samples
    (the same samples ``view`` pushes through the flow)."""
    base, n, bounds = view.flow.base, view.resolution, view.bounds
    ref = next(iter(base.buffers()), None)
    _, _, pts = grid_points(bounds, n, dtype=ref.dtype if ref is not None else torch.float32)
    density = base.log_prob(pts).exp().reshape(n, n).to(torch.float32).numpy()
    (x0, x1), (y0, y1) = bounds
    k = view.n_lines
    lx, ly = np.linspace(x0, x1, k), np.linspace(y0, y1, k)
    xs = np.concatenate([np.repeat(lx[:, None], 2, 1), np.tile([x0, x1], (k, 1))])
    ys = np.concatenate([np.tile([y0, y1], (k, 1)), np.repeat(ly[:, None], 2, 1)])
    samples = view._base_samples  # FlowView's seeded samples (the ones it pushes)
    return BasePicture(np.ascontiguousarray(density), xs.astype(np.float32),
                       ys.astype(np.float32),
                       None if samples is None else samples.to(torch.float32).numpy())


class PrefixView(FlowView):
    """A ``FlowView`` of the first ``after`` layers of its flow (all when ``None``).

    ``flow.truncated(k)`` shares the parameters, so its density is exactly that of
    ``f_k ∘ … ∘ f_1`` (Rezende & Mohamed 2015, eq. 7, summed to k).
    """

    after: int | None = None

    def compute(self, resolution: int | None = None, flow: Flow | None = None,
                samples: bool = True) -> Frame:
        if flow is None and self.after is not None and self.after < len(self.flow):
            flow = self.flow.truncated(max(0, self.after))
        return super().compute(resolution, flow, samples)


@dataclass(frozen=True)
class Probe:
    """A coupling layer at one base point z: ``x = f(z)``, ``jacobian`` ∂x/∂z (float64) and
    ``log_det`` = log|det J|."""

    z: tuple[float, float]
    x: np.ndarray
    jacobian: np.ndarray
    log_det: float


def coupling_probe(layer: AffineCoupling, z: Sequence[float]) -> Probe:
    """J, f(z) and log|det J| at ``z`` from the engine (``AffineCoupling.jacobian``).

    Raises ``ValueError`` naming the parameters that are not finite, or when J overflows.
    """
    ref = layer.mask
    point = torch.tensor([[float(z[0]), float(z[1])]], dtype=ref.dtype, device=ref.device)
    jac = layer.jacobian(point)[0].cpu().double().numpy()
    with torch.no_grad():
        x, log_det = layer(point)
    x = x[0].cpu().double().numpy()
    if not (np.isfinite(jac).all() and np.isfinite(x).all()
            and bool(torch.isfinite(log_det).all())):
        bad = [n for n, p in layer.named_parameters() if not bool(torch.isfinite(p).all())]
        raise ValueError(f"parameter(s) {bad} of the layer are not finite" if bad else
                         "the Jacobian at the probe point overflows; choose smaller scale "
                         "parameters or a bounded scale rule")
    return Probe((float(z[0]), float(z[1])), x, jac, float(log_det[0]))


def circle_lines(centre: Sequence[float], radii: Sequence[float], n: int = 121
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Polylines of circles around ``centre``, one row per radius (for ``plots.set_lines``)."""
    theta = np.linspace(0.0, 2.0 * np.pi, n)
    r = np.asarray(radii, dtype=np.float64)[:, None]
    return centre[0] + r * np.cos(theta), centre[1] + r * np.sin(theta)
