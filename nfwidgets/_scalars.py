"""Checks of the scalar arguments of the data, model and diagnostics entry points (``data``,
``models``, ``baselines``, ``outliers``, ``diagnostics``): one line per parameter at the public
boundary, a ``ValueError`` naming the parameter, the value and what is allowed.

A bool is not a number here (``True`` is not a count for a learner); numpy scalars
(``np.int64``, ``np.float64``) are numbers. Tensors are checked where they enter
(``data.check_images``, ``flows._checks.check_batch``).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

__all__ = ["MAX_SEED", "check_flag", "check_generator", "check_int", "check_real", "check_seed"]

#: Seeds are integers in [0, MAX_SEED] (what numpy accepts; torch takes them all).
MAX_SEED = 2**32 - 1


def _where(owner: str) -> str:
    return f"{owner}: " if owner else ""


def _is_bool(value: object) -> bool:
    return isinstance(value, bool | np.bool_)


def check_int(name: str, value: object, lo: int, hi: int | None = None, *,
              owner: str = "") -> int:
    """``value`` as an ``int`` in ``[lo, hi]`` (``hi`` ``None``: no upper end)."""
    allowed = f"an integer in [{lo}, {hi}]" if hi is not None else f"an integer ≥ {lo}"
    if (_is_bool(value) or not isinstance(value, numbers.Integral)
            or not lo <= value <= (math.inf if hi is None else hi)):
        raise ValueError(f"{_where(owner)}{name} must be {allowed}; got {value!r}")
    return int(value)


def check_real(name: str, value: object, lo: float | None = None, hi: float | None = None, *,
               lo_open: bool = False, hi_open: bool = False, owner: str = "") -> float:
    """``value`` as a finite ``float`` in the interval ``lo``–``hi`` (``None``: no end;
    ``lo_open``/``hi_open``: that end excluded)."""
    ends = ("(" if lo_open else "[") + ("-∞" if lo is None else f"{lo:g}") + ", " + (
        "∞" if hi is None else f"{hi:g}") + (")" if hi_open else "]")
    ok = (not _is_bool(value) and isinstance(value, numbers.Real) and math.isfinite(value)
          and (lo is None or (value > lo if lo_open else value >= lo))
          and (hi is None or (value < hi if hi_open else value <= hi)))
    if not ok:
        raise ValueError(f"{_where(owner)}{name} must be a finite number in {ends}; "
                         f"got {value!r}")
    return float(value)


def check_flag(name: str, value: object, *, owner: str = "") -> bool:
    """``value`` as a ``bool`` (``True``/``False`` or ``np.bool_``; ``"False"`` is refused)."""
    if not _is_bool(value):
        raise ValueError(f"{_where(owner)}{name} must be True or False; got {value!r}")
    return bool(value)


def check_seed(value: object, name: str = "seed", *, owner: str = "") -> int:
    """A seed: an integer in ``[0, MAX_SEED]``."""
    return check_int(name, value, 0, MAX_SEED, owner=owner)


def check_generator(value: object, name: str = "generator", *, owner: str = ""
                    ) -> torch.Generator | None:
    """``None`` or a CPU ``torch.Generator``."""
    if value is not None and not isinstance(value, torch.Generator):
        raise ValueError(f"{_where(owner)}{name} must be a torch.Generator or None; "
                         f"got {value!r}")
    return value
