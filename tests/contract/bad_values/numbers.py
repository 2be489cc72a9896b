"""Numbers: reals, counts, seeds, answers the learner types, sequences of counts, bounds."""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import strategies as st

from nfwidgets._checks import MAX_SEED

from .core import BOOLS, NON_FINITE, WRONG_TYPES, Bad, Judge, Kind, bad, no_none


def _float_variants(good: object) -> list[tuple[str, object]]:
    if not isinstance(good, int | float) or isinstance(good, bool):
        return []
    out: list[tuple[str, object]] = [("np.float64", np.float64(good))]
    if float(good).is_integer():
        out.append(("int", int(good)))
    return out


def real(*, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
         hi_open: bool = False, optional: bool = False, nonfinite: Judge | None = None) -> Kind:
    """A real number in ``[lo, hi]`` (``lo_open``/``hi_open``: that end excluded; ``None``: no
    end); ``optional``: ``None`` is allowed; ``nonfinite``: NaN/±inf are accepted (documented)
    and their result judged by it (else they are refused)."""
    finite = NON_FINITE if nonfinite is None else tuple(
        Bad(b.label, b.make, False, nonfinite) for b in NON_FINITE)
    bads = [*no_none(WRONG_TYPES, optional), *finite, *BOOLS,
            bad("complex", 1 + 2j), Bad("vector", lambda _g: [0.5, 0.5]),
            Bad("0-d complex tensor", lambda _g: torch.tensor(1 + 2j)),
            Bad("0-d tensor that requires grad",
                lambda _g: torch.tensor(0.5, dtype=torch.float64, requires_grad=True),
                must_fail=(lo is not None and 0.5 < lo) or (hi is not None and 0.5 > hi)),
            bad("huge", 1e308, must_fail=hi is not None), bad("-huge", -1e308,
                                                              must_fail=lo is not None)]
    outside = []
    if lo is not None:
        bads.append(bad(f"below {lo}", lo - 1.0))
        if lo_open:
            bads.append(bad(f"{lo} (excluded)", float(lo)))
        outside.append(st.floats(max_value=lo, exclude_max=not lo_open, allow_nan=False,
                                 allow_infinity=False))
    if hi is not None:
        bads.append(bad(f"above {hi}", hi + 1.0))
        if hi_open:
            bads.append(bad(f"{hi} (excluded)", float(hi)))
        outside.append(st.floats(min_value=hi, exclude_min=not hi_open, allow_nan=False,
                                 allow_infinity=False))
    return Kind(f"real[{lo}, {hi}]", tuple(bads),
                st.one_of(*outside) if outside else None, _float_variants)


def answer(*others: object) -> Kind:
    """A number the learner types (a check judges it): ``real()``'s bad values; the good
    number as a NumPy scalar, a 0-d tensor and ``others`` must be accepted."""
    base = real()
    return Kind("typed number", base.bad, base.strategy,
                lambda good: [("np.float64", np.float64(good)),
                              ("0-d tensor", torch.tensor(good, dtype=torch.float64)),
                              *[(repr(o), o) for o in others]])


def count(*, lo: int = 1, hi: int | None = None, optional: bool = False) -> Kind:
    """An integer in ``[lo, hi]`` (a size, a number of steps, an index); ``hi`` ``None``: no
    upper end (only for counts where a huge value is legitimate, e.g. training steps)."""
    bads = [*no_none(WRONG_TYPES, optional), bad("2.5", 2.5), bad("nan", math.nan),
            bad("inf", math.inf), *BOOLS, bad("complex", 1 + 2j),
            bad("float", float(lo + 1), must_fail=False),
            bad(f"below {lo}", lo - 1), bad("very negative", -10**12)]
    strategies = [st.integers(max_value=lo - 1)]
    if hi is not None:
        bads += [bad(f"above {hi}", hi + 1), bad("huge", 10**12)]
        strategies.append(st.integers(min_value=hi + 1))
    return Kind(f"count[{lo}, {hi}]", tuple(bads), st.one_of(*strategies),
                lambda good: [("np.int64", np.int64(good))] if isinstance(good, int) else [])


def seed(hi: int = MAX_SEED) -> Kind:
    """A seed: an integer in ``[0, hi]`` (``MAX_SEED``, numpy's range, unless the entry point
    says less)."""
    return count(lo=0, hi=hi)


def seeds() -> Kind:
    """A non-empty tuple of seeds, each in ``[0, MAX_SEED]``, not too many."""
    return Kind("seeds", (
        *WRONG_TYPES, bad("int, not a tuple", 3), bad("empty", ()),
        bad("a float seed", (0.5,)), bad("a bool seed", (True,)), bad("negative", (-1,)),
        bad("huge seed", (10**12,)), bad("too many", tuple(range(1000)))),
        None, lambda good: [("list", list(good)), ("np.int64", tuple(np.int64(s) for s in good))])


def counts(*, lo: int = 1, hi: int, length: int | None = None, empty_ok: bool = False) -> Kind:
    """A sequence of integers in ``[lo, hi]`` (hidden widths, ``ks``, a pair of indices):
    ``length`` entries if given, else any number (``empty_ok``: none at all is fine). Each bad
    entry replaces the good value's last one."""
    def last(value: object, label: str) -> Bad:
        return Bad(label, lambda g: (*tuple(g)[:-1], value))
    bads = [*WRONG_TYPES, bad("int", 3),
            last(lo - 1, f"an entry below {lo}"), last(hi + 1, f"an entry above {hi}"),
            last(10**12, "a huge entry"), last(2.5, "a float entry"),
            last(True, "a bool entry"), last(math.nan, "a nan entry")]
    if not empty_ok:
        bads.append(bad("empty", ()))
    if length is not None:
        bads.append(Bad("one entry too few", lambda g: tuple(g)[:-1]))
    return Kind(f"counts[{lo}, {hi}]", tuple(bads), None,
                lambda good: [("np.int64", tuple(np.int64(h) for h in good))])


def _interval_bads() -> tuple[tuple[str, tuple], ...]:
    """Bad intervals ``(low, high)``: the ends must be finite real numbers, ``low < high``."""
    return (("reversed", (4.0, -4.0)), ("empty interval", (1.0, 1.0)),
            ("nan end", (math.nan, 4.0)), ("inf end", (-4.0, math.inf)),
            ("-inf end", (-math.inf, 1.0)), ("bool ends", (False, True)),
            ("str ends", ("a", "b")), ("complex end", (0.0, 1 + 2j)),
            ("three numbers", (-4.0, 4.0, 5.0)), ("span overflows", (-1e308, 1e308)))


def bounds(dim: int = 2) -> Kind:
    """Bounds of a view: one interval ``(low, high)`` (``dim=1``) or one per axis,
    ``((x_min, x_max), (y_min, y_max))``: finite ends, ``low < high``, a span that fits a
    float."""
    if dim == 1:
        bads = [bad(label, value) for label, value in _interval_bads()]
        spellings = lambda good: [("numpy", np.asarray(good, dtype=float)),  # noqa: E731
                                  ("list", list(good))]
    else:
        other = ((0.0, 1.0),) * (dim - 1)
        bads = [bad(f"x: {label}", (value, *other)) for label, value in _interval_bads()]
        bads += [bad("one pair too few", other), bad("one pair too many", ((0.0, 1.0),) * (
            dim + 1))]
        spellings = lambda good: [("numpy", np.asarray(good, dtype=float)),  # noqa: E731
                                  ("lists", [list(p) for p in good])]
    return Kind(f"bounds ({dim}-D)", (*WRONG_TYPES, bad("int", 3), *bads), None, spellings)
