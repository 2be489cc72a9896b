"""Checks of the arguments a learner passes to a widget or a view model (no maths, no widgets).

One call per parameter; each raises ``ValueError`` naming the parameter, the value and what is
allowed (``resolution must be an integer in [8, 1024]; got 2.5``) and returns the value as a
plain Python ``float``/``int``/``bool``. ``True`` is not a number; numpy scalars are numbers.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

__all__ = ["check_choice", "check_flag", "check_int", "check_number", "check_text",
           "is_integer", "is_number"]


def _interval(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is None and hi is None:
        return ""
    if hi is None:
        return f" {'>' if lo_open else '≥'} {lo:g}"
    if lo is None:
        return f" {'<' if hi_open else '≤'} {hi:g}"
    return f" in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


def is_number(value: object) -> bool:
    """True for a real number (numpy scalars too), False for a bool or anything else."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def check_number(name: str, value: object, *, lo: float | None = None, hi: float | None = None,
                 lo_open: bool = False, hi_open: bool = False) -> float:
    """``value`` as a float: a finite real number (not a bool) in the given interval."""
    ok = is_number(value) and math.isfinite(value)
    if ok and lo is not None:
        ok = value > lo if lo_open else value >= lo
    if ok and hi is not None:
        ok = value < hi if hi_open else value <= hi
    if not ok:
        raise ValueError(f"{name} must be a finite number"
                         f"{_interval(lo, hi, lo_open, hi_open)}; got {value!r}")
    return float(value)


def is_integer(value: object) -> bool:
    """True for an integer (numpy integers too), False for a bool, a float or anything else."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def check_int(name: str, value: object, *, lo: int, hi: int) -> int:
    """``value`` as an int: an integer (not a bool, not a float) in ``[lo, hi]``."""
    if not (is_integer(value) and lo <= value <= hi):
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}]; got {value!r}")
    return int(value)


def check_flag(name: str, value: object) -> bool:
    """``value`` as a bool: ``True`` or ``False`` (a string or a number is refused)."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_choice(name: str, value: object, options: Sequence[object]) -> object:
    """``value``, one of ``options``."""
    if not (isinstance(value, str) and value in options):
        raise ValueError(f"{name} must be one of {list(options)}; got {value!r}")
    return value


def check_text(name: str, value: object, *, optional: bool = False) -> str | None:
    """``value``, a string (``None`` too if ``optional``)."""
    if not (isinstance(value, str) or (optional and value is None)):
        raise ValueError(f"{name} must be a string{' or None' if optional else ''}; got "
                         f"{type(value).__name__} {value!r:.80}")
    return value
