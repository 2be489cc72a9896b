"""Contour lines of a field on a grid: vectorised marching squares, joined into polylines (numpy).

Used to draw an energy's level sets over a flow's density. Pure numpy: arrays in, arrays out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["contour_lines", "contour_paths", "contour_segments", "pad_paths"]

# Corners of cell (i, j): 0 = (i, j), 1 = (i, j+1), 2 = (i+1, j+1), 3 = (i+1, j), with i the row
# (y) and j the column (x). Edges: 0 = bottom (0-1), 1 = right (1-2), 2 = top (3-2), 3 = left (0-3).
# Case index = Σ 2^corner over corners above the level. Each case lists the edge pairs its
# segments join; the saddles 5 and 10 have two variants (centre above / below the level).
_CASES: dict[int, tuple[tuple[int, int], ...]] = {
    0: (), 15: (),
    1: ((3, 0),), 14: ((3, 0),),
    2: ((0, 1),), 13: ((0, 1),),
    3: ((3, 1),), 12: ((3, 1),),
    4: ((1, 2),), 11: ((1, 2),),
    6: ((0, 2),), 9: ((0, 2),),
    7: ((3, 2),), 8: ((3, 2),),
}
#: Saddles: (centre below, centre above) segment pairs.
_SADDLES: dict[int, tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]] = {
    5: (((3, 0), (1, 2)), ((3, 2), (0, 1))),   # corners 0 and 2 above
    10: (((0, 1), (3, 2)), ((3, 0), (1, 2))),  # corners 1 and 3 above
}


def _check(field: np.ndarray, xs: np.ndarray, ys: np.ndarray, level: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
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
    if not np.isfinite(level):
        raise ValueError(f"level must be a finite number; got {level!r}")
    return f, x, y, float(level)


def _edge_ids(ii: np.ndarray, jj: np.ndarray, edge: int, nx: int, n_horizontal: int
              ) -> np.ndarray:
    """Global id of edge ``edge`` of cells (ii, jj): horizontal edges first, then vertical."""
    if edge == 0:
        return ii * (nx - 1) + jj
    if edge == 2:
        return (ii + 1) * (nx - 1) + jj
    if edge == 3:
        return n_horizontal + ii * nx + jj
    return n_horizontal + ii * nx + jj + 1  # edge 1 (right)


def _segments_by_edge(f: np.ndarray, level: float) -> np.ndarray:
    """Marching squares: every segment as a pair of global edge ids, shape (M, 2)."""
    ny, nx = f.shape
    above = f > level
    case = (above[:-1, :-1].astype(np.int64) + 2 * above[:-1, 1:] + 4 * above[1:, 1:]
            + 8 * above[1:, :-1])
    corners = np.stack([f[:-1, :-1], f[:-1, 1:], f[1:, 1:], f[1:, :-1]])
    valid = np.isfinite(corners).all(axis=0)
    n_horizontal = ny * (nx - 1)
    pairs: list[np.ndarray] = []

    def emit(mask: np.ndarray, segs: tuple[tuple[int, int], ...]) -> None:
        ii, jj = np.nonzero(mask & valid)
        if ii.size == 0:
            return
        for a, b in segs:
            pairs.append(np.stack([_edge_ids(ii, jj, a, nx, n_horizontal),
                                   _edge_ids(ii, jj, b, nx, n_horizontal)], axis=1))

    for c, segs in _CASES.items():
        if segs:
            emit(case == c, segs)
    centre_above = corners.mean(axis=0) > level
    for c, (below, over) in _SADDLES.items():
        emit((case == c) & ~centre_above, below)
        emit((case == c) & centre_above, over)
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64)
    return np.concatenate(pairs)


def _edge_points(f: np.ndarray, x: np.ndarray, y: np.ndarray, level: float,
                 ids: np.ndarray) -> np.ndarray:
    """Where the level crosses each edge (linear interpolation along the edge), shape (N, 2)."""
    ny, nx = f.shape
    n_horizontal = ny * (nx - 1)
    out = np.empty((ids.shape[0], 2))
    h = ids < n_horizontal
    i, j = np.divmod(ids[h], nx - 1)
    a, b = f[i, j], f[i, j + 1]
    t = (level - a) / (b - a)
    out[h, 0] = x[j] + t * (x[j + 1] - x[j])
    out[h, 1] = y[i]
    i, j = np.divmod(ids[~h] - n_horizontal, nx)
    a, b = f[i, j], f[i + 1, j]
    t = (level - a) / (b - a)
    out[~h, 0] = x[j]
    out[~h, 1] = y[i] + t * (y[i + 1] - y[i])
    return out


def contour_segments(field: np.ndarray, xs: np.ndarray, ys: np.ndarray, level: float
                     ) -> np.ndarray:
    """Line segments of the level set ``field = level`` by marching squares, shape (M, 2, 2).

    The field is sampled at ``(xs[j], ys[i]) -> field[i, j]`` (rows = y, columns = x, as
    ``nfwidgets.grid``). Each grid cell whose corners straddle the level contributes one
    segment (two at a saddle, resolved by the cell's mean) between the points where the
    level crosses its edges, found by linear interpolation along each edge. Cells with a
    non-finite corner are skipped.

    Arguments:
        field: values on the grid, shape (ny, nx), ny, nx ≥ 2.
        xs, ys: strictly increasing cell coordinates, shapes (nx,) and (ny,).
        level: the contour value.

    Returns:
        ``segments[k] = [[x_a, y_a], [x_b, y_b]]``.

    References:
        W. E. Lorensen and H. E. Cline, "Marching cubes: a high resolution 3D surface
        construction algorithm", SIGGRAPH 1987 (the 2-D case: marching squares).
    """
    f, x, y, level = _check(field, xs, ys, level)
    pairs = _segments_by_edge(f, level)
    if pairs.shape[0] == 0:
        return np.zeros((0, 2, 2))
    return _edge_points(f, x, y, level, pairs.reshape(-1)).reshape(-1, 2, 2)


def contour_paths(field: np.ndarray, xs: np.ndarray, ys: np.ndarray, level: float
                  ) -> list[np.ndarray]:
    """The level set ``field = level`` as polylines, each of shape (L, 2) with L ≥ 2.

    The marching-squares segments (see ``contour_segments``) are joined where they share a grid
    edge; a closed contour ends on its first point.
    """
    f, x, y, level = _check(field, xs, ys, level)
    pairs = _segments_by_edge(f, level)
    if pairs.shape[0] == 0:
        return []
    # An edge is shared by at most two cells, so each edge id appears in at most two segments.
    neighbours: dict[int, list[int]] = {}
    for k, (a, b) in enumerate(pairs.tolist()):
        neighbours.setdefault(a, []).append(k)
        neighbours.setdefault(b, []).append(k)
    used = np.zeros(pairs.shape[0], dtype=bool)

    def walk(start_seg: int, start_edge: int) -> list[int]:
        """Edges visited from ``start_edge`` through ``start_seg`` onwards."""
        chain = [start_edge]
        seg, edge = start_seg, start_edge
        while True:
            used[seg] = True
            a, b = pairs[seg]
            edge = int(b if a == edge else a)
            chain.append(edge)
            nxt = [s for s in neighbours[edge] if not used[s]]
            if not nxt:
                return chain
            seg = nxt[0]

    # Open contours start at an edge with a single segment (the border or a skipped cell).
    order = sorted(neighbours, key=lambda e: len(neighbours[e]))
    paths: list[list[int]] = []
    for edge in order:
        for seg in neighbours[edge]:
            if not used[seg]:
                paths.append(walk(seg, edge))
    return [_edge_points(f, x, y, level, np.asarray(p, dtype=np.int64)) for p in paths]


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
    paths: list[np.ndarray] = []
    for level in levels:
        paths.extend(contour_paths(field, xs, ys, level))
    return pad_paths(paths)
