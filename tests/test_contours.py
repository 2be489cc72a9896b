"""Marching squares: level sets of known fields, joined paths, saddles, padding, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nfwidgets.contours import contour_lines, contour_paths, contour_segments, pad_paths


def _grid(n: int = 61, lo: float = -3.0, hi: float = 3.0) -> tuple[np.ndarray, ...]:
    xs = np.linspace(lo, hi, n)
    ys = np.linspace(lo, hi, n)
    gx, gy = np.meshgrid(xs, ys, indexing="xy")  # rows = y, columns = x
    return xs, ys, gx, gy


def test_a_circle_is_one_closed_path_on_the_circle() -> None:
    xs, ys, gx, gy = _grid()
    paths = contour_paths(gx**2 + gy**2, xs, ys, 4.0)
    assert len(paths) == 1
    path = paths[0]
    np.testing.assert_array_equal(path[0], path[-1])  # closed
    radius = np.hypot(path[:, 0], path[:, 1])
    # linear interpolation of r² along a cell edge of width h = 0.1: error ≤ h²/(8r)
    assert np.abs(radius - 2.0).max() < 0.1**2 / 8 / 2.0 * 2
    angles = np.unwrap(np.arctan2(path[:, 1], path[:, 0]))
    assert abs(abs(angles[-1] - angles[0]) - 2 * np.pi) < 1e-9  # goes once around


def test_a_linear_field_gives_the_exact_straight_line() -> None:
    xs, ys, gx, gy = _grid(21)
    paths = contour_paths(2.0 * gx - gy, xs, ys, 0.35)
    assert len(paths) == 1
    p = paths[0]
    np.testing.assert_allclose(2.0 * p[:, 0] - p[:, 1], 0.35, atol=1e-12)
    for end in (p[0], p[-1]):  # open: it runs from border to border
        assert np.isclose(np.abs(end), 3.0).any()
    assert not np.array_equal(p[0], p[-1])


def test_two_separate_blobs_give_two_paths_and_segments_agree() -> None:
    xs, ys, gx, gy = _grid()
    f = np.exp(-((gx - 1.5) ** 2 + gy**2)) + np.exp(-((gx + 1.5) ** 2 + gy**2))
    paths = contour_paths(f, xs, ys, 0.5)
    assert len(paths) == 2
    assert sorted(np.sign(p[:, 0].mean()) for p in paths) == [-1.0, 1.0]
    segments = contour_segments(f, xs, ys, 0.5)
    assert segments.shape == (sum(p.shape[0] - 1 for p in paths), 2, 2)


def test_saddles_are_resolved_by_the_cell_mean() -> None:
    xs = ys = np.array([0.0, 1.0])
    # corners 0 (bottom-left) and 2 (top-right) above 0.5: a saddle
    low_centre = np.array([[1.0, 0.0], [0.0, 0.8]])  # mean 0.45 < 0.5: corners cut off
    high_centre = np.array([[1.0, 0.0], [0.0, 1.2]])  # mean 0.55 > 0.5: corners 1, 3 cut off
    for f, cut_corners in ((low_centre, [(0, 0), (1, 1)]), (high_centre, [(1, 0), (0, 1)])):
        segs = contour_segments(f, xs, ys, 0.5)
        assert segs.shape == (2, 2, 2)
        mids = segs.mean(axis=1)
        for corner in cut_corners:  # each segment's midpoint is near the corner it cuts off
            assert np.min(np.hypot(*(mids - np.array(corner)).T)) < 0.5


def test_nothing_to_draw_and_non_finite_cells() -> None:
    xs, ys, gx, _ = _grid(11)
    assert contour_paths(gx * 0.0, xs, ys, 1.0) == []
    assert contour_segments(gx * 0.0, xs, ys, 1.0).shape == (0, 2, 2)
    f = gx.copy()
    f[:, 5] = np.nan  # a column of NaN: the cells touching it are skipped
    paths = contour_paths(f, xs, ys, 0.0)
    assert paths == [] or all(np.isfinite(p).all() for p in paths)
    assert all(np.isfinite(p).all() for p in contour_paths(f, xs, ys, 1.5))


def test_pad_paths_and_contour_lines() -> None:
    a = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    b = np.array([[5.0, 5.0], [6.0, 6.0]])
    x, y = pad_paths([a, b])
    assert x.shape == y.shape == (2, 3)
    np.testing.assert_array_equal(x[1], [5.0, 6.0, 6.0])
    np.testing.assert_array_equal(y[1], [5.0, 6.0, 6.0])
    x, y = pad_paths([])
    assert x.shape == (1, 2) and np.isfinite(x).all()
    xs, ys, gx, gy = _grid(31)
    x, y = contour_lines(gx**2 + gy**2, xs, ys, (1.0, 4.0))
    assert x.shape[0] == 2 and np.isfinite(x).all() and np.isfinite(y).all()


@pytest.mark.parametrize("bad", [
    dict(field=np.zeros(3)),
    dict(xs=np.zeros(4)),
    dict(xs=np.array([0.0, 2.0, 1.0])),
    dict(level=float("nan")),
])
def test_bad_input_is_rejected(bad: dict) -> None:
    args = dict(field=np.zeros((3, 3)), xs=np.arange(3.0), ys=np.arange(3.0), level=0.5)
    args.update(bad)
    with pytest.raises(ValueError):
        contour_segments(args["field"], args["xs"], args["ys"], args["level"])


@given(arrays(np.float64, (7, 9), elements=st.floats(-5, 5)), st.floats(-4, 4))
def test_every_point_lies_on_a_grid_edge_at_the_level(field: np.ndarray, level: float) -> None:
    xs, ys = np.linspace(0.0, 8.0, 9), np.linspace(0.0, 6.0, 7)
    for path in contour_paths(field, xs, ys, level):
        assert path.shape[0] >= 2
        for x, y in path:
            on_column = np.isclose(xs, x, rtol=0, atol=1e-12)
            on_row = np.isclose(ys, y, rtol=0, atol=1e-12)
            assert on_column.any() or on_row.any()
            if on_row.any():  # a horizontal edge: interpolate along x
                i = int(np.argmax(on_row))
                value = np.interp(x, xs, field[i])
            else:
                j = int(np.argmax(on_column))
                value = np.interp(y, ys, field[:, j])
            assert value == pytest.approx(level, abs=1e-9)
