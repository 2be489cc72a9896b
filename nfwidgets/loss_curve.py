"""The loss plot's data: per-step losses binned for sending, their moving average, the bound
estimates, the reference line and the axis ranges (numpy only; the widget assigns them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["MAX_POINTS", "LossCurve", "binned", "loss_curve", "moving_average",
           "smoothing_window"]

#: At most this many points per curve are sent to the browser.
MAX_POINTS = 600


def binned(values: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """``(step, mean)`` of ``values`` (value k is step k + 1) in at most ``max_points`` equal
    bins: a long history is sent as bin means, a short one as it is."""
    v = np.asarray(values, dtype=np.float64)
    n = v.shape[0]
    steps = np.arange(1, n + 1, dtype=np.float64)
    if n <= max_points:
        return steps, v
    edges = np.linspace(0, n, max_points + 1).astype(np.int64)
    sums, counts = np.add.reduceat(v, edges[:-1]), np.diff(edges)
    centres = np.add.reduceat(steps, edges[:-1]) / counts
    return centres, sums / counts


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` values (fewer at the start), same length as ``values``."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return v
    window = max(1, int(window))
    c = np.concatenate([[0.0], np.cumsum(v)])
    idx = np.arange(1, v.size + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


def smoothing_window(n: int) -> int:
    """The moving average's window for a history of ``n`` losses: 2% of it, at least 10."""
    return max(10, n // 50)


def _f32(a: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


@dataclass(frozen=True)
class LossCurve:
    """Everything the loss plot shows, as float32 arrays ready to send.

    Attributes:
        raw_x, raw_y: the per-step loss (bin means of a long history).
        smooth_x, smooth_y: its moving average (window ``smoothing_window``), binned alike.
        bound_x, bound_y: bound estimates and their steps (empty when there are none).
        reference: the horizontal reference line (``None``: none).
        x_max: the x axis runs over ``[0, x_max]``.
        y_min, y_max: the y axis range.
        loss_label, reference_label, bound_label: legend texts.
    """

    raw_x: np.ndarray
    raw_y: np.ndarray
    smooth_x: np.ndarray
    smooth_y: np.ndarray
    bound_x: np.ndarray
    bound_y: np.ndarray
    reference: float | None
    x_max: float
    y_min: float
    y_max: float
    loss_label: str
    reference_label: str
    bound_label: str


def _y_range(means: np.ndarray, reference: float | None, bound: np.ndarray
             ) -> tuple[float, float]:
    """A range showing the curve's bulk: the top ignores the first few large losses (the 95th
    percentile of the bin means), the bottom includes the reference and the bound."""
    parts = [means] if means.size else []
    if bound.size:
        parts.append(bound)
    if not parts:
        return (0.0, 1.0) if reference is None else (reference - 1.0, reference + 1.0)
    values = np.concatenate(parts)
    lo = float(values.min())
    hi = float(np.percentile(values, 95)) if values.size >= 20 else float(values.max())
    if reference is not None:
        lo, hi = min(lo, reference), max(hi, reference)
    pad = max(0.05 * (hi - lo), 1e-3 * max(1.0, abs(hi)))
    return lo - pad, hi + pad


def loss_curve(losses: Sequence[float] | np.ndarray, total_steps: int, *,
               reference: float | None = None, reference_label: str = "reference",
               loss_label: str = "loss per step", bound_steps: Sequence[float] = (),
               bound_values: Sequence[float] = (),
               bound_label: str = "bound F (fresh samples)") -> LossCurve:
    """The :class:`LossCurve` of ``losses`` (one per step), with the x range
    ``[0, max(total_steps, len(losses))]``; a non-finite ``reference`` counts as none."""
    v = np.asarray(losses, dtype=np.float64)
    n = v.shape[0]
    steps, means = binned(v)
    smooth_steps, smooth = binned(moving_average(v, smoothing_window(n)))
    if reference is not None and not math.isfinite(reference):
        reference = None
    by = np.asarray(bound_values, dtype=np.float64)
    y_min, y_max = _y_range(means, reference, by)
    return LossCurve(
        raw_x=_f32(steps), raw_y=_f32(means), smooth_x=_f32(smooth_steps),
        smooth_y=_f32(smooth), bound_x=_f32(bound_steps), bound_y=_f32(by),
        reference=reference, x_max=float(max(total_steps, n, 1)), y_min=y_min, y_max=y_max,
        loss_label=loss_label, reference_label=reference_label, bound_label=bound_label)
