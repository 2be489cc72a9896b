"""The catalogue's building blocks: ``Bad``, ``Kind``, the bad values every kind shares, ways
to combine kinds, and the judges of what an accepted value gave."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from hypothesis import strategies as st

#: ``judge(result, good)``: a complaint about an accepted value's result, or ``None``.
Judge = Callable[[object, object], "str | None"]


@dataclass(frozen=True)
class Bad:
    """A bad value: ``make(good)`` builds it from the parameter's good value.

    ``must_fail``: the call must raise ``ValueError``; otherwise refusing and accepting are both
    fine. ``on_success(result, good)`` returns a complaint (or ``None``) when an accepted value
    gave a wrong result (e.g. a NaN row that did not propagate row-wise).
    """

    label: str
    make: Callable[[object], object]
    must_fail: bool = True
    on_success: Judge | None = None


def bad(label: str, value: object, must_fail: bool = True) -> Bad:
    """A bad value that does not depend on the good one (immutable values only)."""
    return Bad(label, lambda _good: value, must_fail)


@dataclass(frozen=True)
class Kind:
    """A kind of parameter: what it must refuse, may refuse, and must accept."""

    name: str
    bad: tuple[Bad, ...]
    #: random values that must be refused (hypothesis), or ``None``.
    strategy: st.SearchStrategy | None = None
    #: other spellings of a good value that must be accepted: good → [(label, value)].
    variants: Callable[[object], list[tuple[str, object]]] = field(
        default=lambda _good: [])


WRONG_TYPES: tuple[Bad, ...] = (
    bad("str", "x"), bad("None", None),
    Bad("list of str", lambda _g: ["a", "b"]), Bad("dict", lambda _g: {"a": 1}))
NON_FINITE: tuple[Bad, ...] = (bad("nan", math.nan), bad("inf", math.inf),
                               bad("-inf", -math.inf))
BOOLS: tuple[Bad, ...] = (bad("True", True), bad("False", False))


def no_none(bads: Sequence[Bad], optional: bool) -> tuple[Bad, ...]:
    """``bads`` without ``None`` when the parameter is ``optional``."""
    return tuple(b for b in bads if not (optional and b.label == "None"))


# --- combining kinds ------------------------------------------------------------------------
def without(kind: Kind, *labels: str) -> Kind:
    """``kind`` minus the bad values and the spellings labelled ``labels`` (what this entry
    point may do otherwise, or a known break the spec names in a comment)."""
    return Kind(kind.name, tuple(b for b in kind.bad if b.label not in labels), kind.strategy,
                lambda good: [(k, v) for k, v in kind.variants(good) if k not in labels])


def optional(kind: Kind) -> Kind:
    """``kind`` for a parameter whose default is ``None`` (``None`` is then good)."""
    return without(kind, "None")


def combined(name: str, *parts: Kind | Bad,
             spellings: Sequence[tuple[str, object]] = ()) -> Kind:
    """A parameter that takes one of several kinds: the bad values of every part (a ``Kind``
    or a single ``Bad``) in order; ``spellings``: good values of another form to accept."""
    bads = [b for p in parts for b in (p.bad if isinstance(p, Kind) else (p,))]
    return Kind(name, tuple(bads), None, lambda _g: list(spellings))


# --- judges of an accepted value's result ---------------------------------------------------
def as_tensor(good: object) -> torch.Tensor:
    """``good`` as a tensor (of the default dtype unless it is one already)."""
    return torch.as_tensor(good, dtype=torch.get_default_dtype()) if not isinstance(
        good, torch.Tensor) else good


def _flat(result: object) -> list[object]:
    out: list[object] = []
    for r in result if isinstance(result, tuple | list) else (result,):
        out += _flat(r) if isinstance(r, tuple | list) else [r]
    return out


def rows_propagate(points: slice = slice(None)) -> Judge:
    """The row-wise NaN rule: a NaN/inf row 0 of the input gives a non-finite row 0 in the
    results that carry points and finite other rows in every floating result.

    ``points`` picks which of the (flattened) results carry points: all (default), the first
    (``slice(0, 1)``: a log-det that does not depend on the point, as ``ElementwiseAffine``'s,
    may stay finite) or every other (``slice(None, None, 2)``: ``Flow.trace``'s
    ``[(z_k, log_det_k), ...]``). Results with another number of rows, or not floating (a
    boolean ``unique``), are not judged."""
    def judge(result: object, good: object) -> str | None:
        n = as_tensor(good).shape[0]
        tensors = [t for t in _flat(result) if isinstance(t, torch.Tensor)]

        def per_point(ts: list[torch.Tensor]) -> list[torch.Tensor]:
            return [t for t in ts if t.is_floating_point() and t.shape[:1] == (n,)]
        carriers = per_point(tensors[points])
        if not carriers:
            return "no result tensor with one row per point"
        if any(bool(torch.isfinite(t[0]).all()) for t in carriers):
            return "the NaN row gave a finite result"
        if any(not bool(torch.isfinite(t[1:]).all()) for t in per_point(tensors)):
            return "a NaN in one row made other rows non-finite"
        return None
    return judge


def nan_where_nan(result: object, good: object) -> str | None:
    """A NaN first entry gives NaN there and finite values elsewhere (element-wise)."""
    r = torch.as_tensor(result)
    if not bool(torch.isnan(r.reshape(-1)[0])):
        return "the NaN entry did not give NaN"
    if r.numel() > 1 and not bool(torch.isfinite(r.reshape(-1)[1:]).all()):
        return "a NaN in one entry made other entries non-finite"
    return None


def false_where_nan(result: object, good: object) -> str | None:
    """A boolean answer per entry (``Planar.unique``) is ``False`` for a NaN entry."""
    if not isinstance(result, torch.Tensor) or result.dtype != torch.bool:
        return "no boolean result"
    return None if not bool(result[0]) else "a NaN entry was answered True"


def gives_none(result: object, good: object) -> str | None:
    """The value is ignored: the call returns ``None`` (a training loss that is NaN)."""
    return None if result is None else f"an ignored value gave a result: {result!r}"
