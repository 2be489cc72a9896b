"""nfwidgets.contours, the wrapper over contourpy: closed rings, levels, padding, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from nfwidgets.contours import contour_lines, contour_paths, pad_paths


def _grid(n: int = 61, lo: float = -3.0, hi: float = 3.0) -> tuple[np.ndarray, ...]:
    xs = np.linspace(lo, hi, n)
    ys = np.linspace(lo, hi, n)
    gx, gy = np.meshgrid(xs, ys, indexing="xy")  # rows = y, columns = x
    return xs, ys, gx, gy


def test_a_circle_is_one_closed_ring_on_the_circle() -> None:
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


def test_rows_are_y_and_columns_are_x() -> None:
    # a field that depends on x only: its level set is a vertical line, open, border to border
    xs, ys = np.linspace(0.0, 4.0, 9), np.linspace(-1.0, 1.0, 5)
    field = np.tile(xs, (ys.shape[0], 1))
    (path,) = contour_paths(field, xs, ys, 1.25)
    np.testing.assert_allclose(path[:, 0], 1.25)
    assert sorted([path[0, 1], path[-1, 1]]) == [-1.0, 1.0]


def test_levels_each_give_their_rings_and_rows_are_padded() -> None:
    xs, ys, gx, gy = _grid(31)
    x, y = contour_lines(gx**2 + gy**2, xs, ys, (1.0, 4.0))
    assert x.shape == y.shape and x.shape[0] == 2
    assert np.isfinite(x).all() and np.isfinite(y).all()
    radii = sorted(float(np.hypot(x[r], y[r]).mean()) for r in range(2))
    assert radii == pytest.approx([1.0, 2.0], abs=0.01)
    two_blobs = np.exp(-((gx - 1.5) ** 2 + gy**2)) + np.exp(-((gx + 1.5) ** 2 + gy**2))
    paths = contour_paths(two_blobs, xs, ys, 0.5)
    assert sorted(np.sign(p[:, 0].mean()) for p in paths) == [-1.0, 1.0]


def test_no_level_crossed_and_non_finite_cells() -> None:
    xs, ys, gx, _ = _grid(11)
    assert contour_paths(gx * 0.0, xs, ys, 1.0) == []
    x, y = contour_lines(gx * 0.0, xs, ys, (1.0, 2.0))  # one degenerate row: draws nothing
    assert x.shape == y.shape == (1, 2) and not x.any() and not y.any()
    f = gx.copy()
    f[:, 5] = np.nan  # a column of NaN: the cells touching it are left out
    assert all(np.isfinite(p).all() for p in contour_paths(f, xs, ys, 1.5))
    assert contour_paths(f, xs, ys, 1.5)


def test_pad_paths() -> None:
    a = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    b = np.array([[5.0, 5.0], [6.0, 6.0]])
    x, y = pad_paths([a, b])
    assert x.shape == y.shape == (2, 3)
    np.testing.assert_array_equal(x[1], [5.0, 6.0, 6.0])
    np.testing.assert_array_equal(y[1], [5.0, 6.0, 6.0])
    x, y = pad_paths([])
    assert x.shape == (1, 2) and np.isfinite(x).all()


@pytest.mark.parametrize(("bad", "match"), [
    (dict(field=np.zeros(3)), "2-D array"),
    (dict(field=np.zeros((1, 3))), "at least 2 × 2"),
    (dict(xs=np.zeros(4)), "columns and rows"),
    (dict(xs=np.array([0.0, 2.0, 1.0])), "strictly increasing"),
    (dict(ys=np.array([0.0, np.inf, 1.0])), "finite"),
    (dict(level=float("nan")), "level must be a finite number"),
    (dict(level="1"), "level must be a finite number"),
])
def test_bad_input_is_rejected(bad: dict, match: str) -> None:
    args = dict(field=np.zeros((3, 3)), xs=np.arange(3.0), ys=np.arange(3.0), level=0.5)
    args.update(bad)
    with pytest.raises(ValueError, match=match):
        contour_paths(args["field"], args["xs"], args["ys"], args["level"])
    with pytest.raises(ValueError, match=match):
        contour_lines(args["field"], args["xs"], args["ys"], [args["level"]])
