"""Checks of the scalar arguments of the data, model and diagnostics entry points (``data``,
``models``, ``baselines``, ``outliers``, ``diagnostics``): one line per parameter at the public
boundary, a ``ValueError`` ``"{owner}: {name} must be {what is allowed}; got {value!r}"``.

A bool is not a number here (``True`` is not a count for a learner); numpy scalars
(``np.int64``, ``np.float64``) are numbers. Tensors are checked where they enter
(``data.check_images``, ``flows._checks.check_batch``). The names and signatures are those of
the engine's scalar checks (``flows._checks``), so the two can become one.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

__all__ = ["MAX_SEED", "check_count", "check_flag", "check_generator", "check_real"]

#: Seeds are integers in [0, MAX_SEED] (what ``torch.Generator.manual_seed`` takes safely).
MAX_SEED = 2**32 - 1


def _is_bool(value: object) -> bool:
    return isinstance(value, bool | np.bool_)


def check_count(name: str, value: object, *, owner: str, lo: int = 1, hi: int | None = None,
                optional: bool = False) -> int | None:
    """An integer in ``[lo, hi]`` (``hi`` ``None``: no upper end; ``optional``: ``None``
    too), as an ``int``."""
    if optional and value is None:
        return None
    allowed = (f"an integer in [{lo}, {hi}]" if hi is not None else f"an integer ≥ {lo}") + (
        " or None" if optional else "")
    if (_is_bool(value) or not isinstance(value, numbers.Integral)
            or not lo <= value <= (math.inf if hi is None else hi)):
        raise ValueError(f"{owner}: {name} must be {allowed}; got {value!r}")
    return int(value)


def check_real(name: str, value: object, *, owner: str, lo: float | None = None,
               hi: float | None = None, lo_open: bool = False, hi_open: bool = False,
               optional: bool = False) -> float | None:
    """A finite real number between ``lo`` and ``hi`` (``None``: no end; ``lo_open`` /
    ``hi_open``: that end excluded; ``optional``: ``None`` too), as a ``float``."""
    if optional and value is None:
        return None
    ends = ("(" if lo_open else "[") + ("-∞" if lo is None else f"{lo:g}") + ", " + (
        "∞" if hi is None else f"{hi:g}") + (")" if hi_open else "]")
    try:
        v = float(value) if isinstance(value, numbers.Real) and not _is_bool(value) else math.nan
    except OverflowError:  # an int beyond float's range
        v = math.nan
    ok = (math.isfinite(v) and (lo is None or (v > lo if lo_open else v >= lo))
          and (hi is None or (v < hi if hi_open else v <= hi)))
    if not ok:
        raise ValueError(f"{owner}: {name} must be a finite number in {ends}"
                         f"{' or None' if optional else ''}; got {value!r}")
    return v


def check_flag(name: str, value: object, *, owner: str) -> bool:
    """``True`` or ``False`` (or ``np.bool_``; ``"False"``, 0/1 and ``None`` are refused)."""
    if not _is_bool(value):
        raise ValueError(f"{owner}: {name} must be True or False; got {value!r}")
    return bool(value)


def check_generator(name: str, value: object, *, owner: str) -> None:
    """``None`` or a ``torch.Generator``."""
    if value is not None and not isinstance(value, torch.Generator):
        raise ValueError(f"{owner}: {name} must be a torch.Generator or None; got {value!r}")
