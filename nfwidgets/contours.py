"""Contour lines of a field on a grid, as polylines for one bqplot mark (``contourpy``).

Used to draw an energy's level sets over a flow's density. The level sets come from
``contourpy``, matplotlib's own contour engine (marching squares with linear interpolation along
cell edges); this module checks the input and lays the lines out for ``plots.set_lines``.
"""

from __future__ import annotations

from collections.abc import Sequence

import contourpy
import numpy as np

from ._checks import shown

__all__ = ["contour_lines", "contour_paths", "pad_paths"]


def _check(field: np.ndarray, xs: np.ndarray, ys: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    f = np.asarray(field, dtype=np.float64)
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2 or f.shape[1] < 2:
        raise ValueError(f"field must be a 2-D array of at least 2 × 2; got shape {f.shape}")
    if x.shape != (f.shape[1],) or y.shape != (f.shape[0],):
        raise ValueError(f"xs and ys must have the field's columns and rows ({f.shape[1]}, "
                         f"{f.shape[0]}); got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()
            and (np.diff(x) > 0).all() and (np.diff(y) > 0).all()):
        raise ValueError("xs and ys must be finite and strictly increasing")
    return f, x, y


def _check_level(level: float) -> float:
    if not (isinstance(level, int | float | np.floating | np.integer) and np.isfinite(level)):
        raise ValueError(f"level must be a finite number; got {shown(level)}")
    return float(level)


def _paths(field: np.ndarray, xs: np.ndarray, ys: np.ndarray, levels: Sequence[float]
           ) -> list[np.ndarray]:
    f, x, y = _check(field, xs, ys)
    checked = [_check_level(level) for level in levels]
    gen = contourpy.contour_generator(x, y, f, line_type=contourpy.LineType.Separate)
    return [np.asarray(p, dtype=np.float64) for level in checked for p in gen.lines(level)
            if len(p) >= 2]


def contour_paths(field: np.ndarray, xs: np.ndarray, ys: np.ndarray, level: float
                  ) -> list[np.ndarray]:
    """The level set ``field = level`` as polylines, each of shape (L, 2) with L ≥ 2.

    The field is sampled at ``(xs[j], ys[i]) -> field[i, j]`` (rows = y, columns = x, as
    ``nfwidgets.grid``). A closed contour ends on its first point; cells with a non-finite
    corner are left out, so a contour may stop there.

    References:
        W. E. Lorensen and H. E. Cline, "Marching cubes: a high resolution 3D surface
        construction algorithm", SIGGRAPH 1987 (the 2-D case: marching squares), as
        implemented by ``contourpy``.
    """
    return _paths(field, xs, ys, [level])


def pad_paths(paths: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Polylines of different lengths as two equal-width arrays ``(x, y)``, one row per path
    (a row layout ``plots.set_lines`` and bqplot's multi-line ``Lines`` both take): a short
    path repeats its last point, which draws nothing more. No path gives one degenerate row at
    the origin."""
    if not paths:
        return np.zeros((1, 2)), np.zeros((1, 2))
    width = max(p.shape[0] for p in paths)
    x = np.empty((len(paths), width))
    y = np.empty((len(paths), width))
    for r, p in enumerate(paths):
        x[r, :p.shape[0]], y[r, :p.shape[0]] = p[:, 0], p[:, 1]
        x[r, p.shape[0]:], y[r, p.shape[0]:] = p[-1, 0], p[-1, 1]
    return x, y


def contour_lines(field: np.ndarray, xs: np.ndarray, ys: np.ndarray,
                  levels: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The polylines of several levels as ``(x, y)``, each of shape (paths, width), one row per
    path (for one polyline mark, ``plots.set_lines``). See ``contour_paths`` and
    ``pad_paths``."""
    return pad_paths(_paths(field, xs, ys, levels))
