"""The loss plot's data: binning, the moving average, the ranges and labels."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nfwidgets.loss_curve import (
    MAX_POINTS,
    binned,
    loss_curve,
    moving_average,
    smoothing_window,
)


def test_binned_keeps_a_short_history_and_averages_a_long_one() -> None:
    steps, values = binned(np.array([3.0, 1.0, 2.0]))
    np.testing.assert_array_equal(steps, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(values, [3.0, 1.0, 2.0])
    v = np.arange(10 * MAX_POINTS, dtype=np.float64)
    steps, values = binned(v)
    assert steps.shape == values.shape == (MAX_POINTS,)
    # every bin holds 10 consecutive values: its mean is the mean of its steps minus 1
    np.testing.assert_allclose(values, steps - 1.0)
    assert values.mean() == pytest.approx(v.mean())


def test_moving_average_is_a_trailing_mean() -> None:
    v = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_allclose(moving_average(v, 2), [1.0, 1.5, 2.5, 3.5, 4.5])
    np.testing.assert_allclose(moving_average(v, 100), np.cumsum(v) / np.arange(1, 6))
    assert moving_average(np.zeros(0), 3).shape == (0,)
    assert smoothing_window(0) == 10 and smoothing_window(5000) == 100


def test_curve_ranges_include_the_reference_and_the_bound() -> None:
    losses = np.linspace(5.0, 2.0, 100)
    curve = loss_curve(losses, 400, reference=1.5, reference_label="floor",
                       bound_steps=[50, 100], bound_values=[2.5, 1.8])
    assert curve.x_max == 400.0 and curve.reference == 1.5
    assert curve.y_min < 1.5 < 5.0 and curve.y_max >= 4.8
    assert curve.bound_x.dtype == np.float32 and curve.bound_y.tolist() == pytest.approx([2.5, 1.8])
    assert curve.smooth_y[-1] == pytest.approx(losses[-10:].mean(), rel=1e-6)
    for a in (curve.raw_x, curve.raw_y, curve.smooth_x, curve.smooth_y):
        assert a.dtype == np.float32 and a.flags.c_contiguous
    # more steps than planned stretch the x range; a non-finite reference is no reference
    curve = loss_curve(np.ones(500), 100, reference=math.inf)
    assert curve.x_max == 500.0 and curve.reference is None
    empty = loss_curve([], 10)
    assert (empty.y_min, empty.y_max) == (0.0, 1.0) and empty.raw_x.size == 0
