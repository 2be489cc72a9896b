"""The checks of the plot helpers' arguments (``plots``): arrays of real numbers, a panel's
scales, a colour range and polylines, each refused with a ``ValueError`` naming the argument and
showing the value (the contract in CONTRIBUTING.md, "Bad input")."""

from __future__ import annotations

import bqplot
import numpy as np

from ._checks import check_real, shown

__all__ = ["RANGE_LIMIT", "check_lines", "check_range", "check_scales", "real_array"]

#: Largest magnitude of a colour range's ends.
RANGE_LIMIT = 1e12


def real_array(name: str, value: object, ndims: tuple[int, ...]) -> np.ndarray:
    """``value`` as a NumPy array of real numbers with one of ``ndims`` dimensions."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be an array of numbers; got {shown(value)}") from err
    if arr.dtype.kind not in "iuf" or arr.ndim not in ndims:
        dims = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{name} must be a {dims} array of real numbers; got {shown(value)}")
    return arr


def check_scales(scales: object) -> dict[str, bqplot.Scale]:
    """A panel's scales: ``{'x': scale, 'y': scale}`` of bqplot scales."""
    if not (isinstance(scales, dict) and all(isinstance(scales.get(k), bqplot.Scale)
                                             for k in ("x", "y"))):
        raise ValueError(f"scales must be a panel's {{'x': scale, 'y': scale}} (bqplot "
                         f"scales); got {shown(scales)}")
    return scales


def check_range(vmin: object, vmax: object) -> tuple[float, float]:
    """A colour range: finite ``vmin < vmax``, each within ``±RANGE_LIMIT``."""
    vmin = check_real("vmin", vmin, lo=-RANGE_LIMIT, hi=RANGE_LIMIT)
    vmax = check_real("vmax", vmax, lo=-RANGE_LIMIT, hi=RANGE_LIMIT)
    if not vmin < vmax:
        raise ValueError(f"the colour range needs vmin < vmax; got vmin={vmin!r}, "
                         f"vmax={vmax!r}")
    return vmin, vmax


def check_lines(lines: object) -> tuple[np.ndarray, np.ndarray] | None:
    """``None`` or polylines ``(x, y)``: two arrays of one shape, one row per line."""
    if lines is None:
        return None
    if not (isinstance(lines, tuple | list) and len(lines) == 2):
        raise ValueError(f"lines must be None or a pair (x, y) of arrays; got "
                         f"{shown(lines)}")
    x = real_array("lines (x)", lines[0], (1, 2))
    y = real_array("lines (y)", lines[1], (1, 2))
    if x.shape != y.shape:
        raise ValueError(f"lines: x and y must have one shape; got shapes {x.shape} and "
                         f"{y.shape}")
    return x, y
