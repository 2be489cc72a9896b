"""The one catalogue of bad values that the contract test (``test_contract.py``) feeds to every
public parameter, by kind of parameter.

A ``Kind`` lists the values a parameter of that kind must refuse (``Bad``, ``must_fail``), the
values it may either refuse with a ``ValueError`` or accept (``must_fail=False``: 1e308 for an
unbounded number, an empty batch, a tensor that requires grad), random values it must refuse
(a hypothesis strategy) and other spellings of a good value it must accept (``np.float64`` for a
float, ``np.int64`` for an int). Each bad value is made from the parameter's good value, so a
"wrong width" batch or a "NaN row" is built from a batch that works.

Grow this file with the package: a new kind of parameter gets its kind here, not in a spec.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from hypothesis import strategies as st

__all__ = ["BOOLS", "NON_FINITE", "WRONG_TYPES", "Bad", "Kind", "batch", "choice", "count",
           "flag", "function", "number_vector", "obj", "real", "tensor_of_numbers"]


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
    on_success: Callable[[object, object], str | None] | None = None


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


def _no_none(bads: Sequence[Bad], optional: bool) -> tuple[Bad, ...]:
    return tuple(b for b in bads if not (optional and b.label == "None"))


def _float_variants(good: object) -> list[tuple[str, object]]:
    if not isinstance(good, int | float) or isinstance(good, bool):
        return []
    out: list[tuple[str, object]] = [("np.float64", np.float64(good))]
    if float(good).is_integer():
        out.append(("int", int(good)))
    return out


def real(*, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
         hi_open: bool = False, optional: bool = False) -> Kind:
    """A real number in ``[lo, hi]`` (``lo_open``/``hi_open``: that end excluded; ``None``: no
    end); ``optional``: ``None`` is allowed."""
    bads = [*_no_none(WRONG_TYPES, optional), *NON_FINITE, *BOOLS,
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


def count(*, lo: int = 1, hi: int | None = None, optional: bool = False) -> Kind:
    """An integer in ``[lo, hi]`` (a size, a number of steps, an index); ``hi`` ``None``: no
    upper end (only for counts where a huge value is legitimate, e.g. training steps)."""
    bads = [*_no_none(WRONG_TYPES, optional), bad("2.5", 2.5), bad("nan", math.nan),
            bad("inf", math.inf), *BOOLS, bad("complex", 1 + 2j),
            bad("float", float(lo + 1), must_fail=False),
            bad(f"below {lo}", lo - 1), bad("very negative", -10**12)]
    strategies = [st.integers(max_value=lo - 1)]
    if hi is not None:
        bads += [bad(f"above {hi}", hi + 1), bad("huge", 10**12)]
        strategies.append(st.integers(min_value=hi + 1))
    return Kind(f"count[{lo}, {hi}]", tuple(bads), st.one_of(*strategies),
                lambda good: [("np.int64", np.int64(good))] if isinstance(good, int) else [])


def choice(options: Sequence[object], *, optional: bool = False) -> Kind:
    """One of ``options`` (names of targets, layer kinds, directions…)."""
    bads = [*_no_none(WRONG_TYPES, optional), bad("unknown name", "no-such-option"),
            bad("int", 3), *BOOLS[:1], bad("nan", math.nan)]
    return Kind(f"choice{tuple(options)!r}", tuple(bads),
                st.text(min_size=1, max_size=8).filter(lambda s: s not in options))


def flag(*, optional: bool = False) -> Kind:
    """A bool: a string, a number or a list is refused (``"False"`` is truthy)."""
    bads = [*_no_none((bad("None", None),), optional), bad("str", "False"), bad("int 2", 2),
            Bad("list", lambda _g: []), bad("nan", math.nan)]
    return Kind("flag", tuple(bads), None,
                lambda good: [("np.bool_", np.bool_(good))] if isinstance(good, bool) else [])


def function(*, optional: bool = False) -> Kind:
    """A callable (a learner's function, an energy)."""
    bads = [*_no_none((bad("None", None),), optional), bad("int", 3), bad("str", "f"),
            Bad("list", lambda _g: [])]
    return Kind("function", tuple(bads))


def obj(name: str, *bads: Bad, optional: bool = False) -> Kind:
    """An object of the package (a layer, a flow, a target, a widget): wrong types plus
    ``bads`` (e.g. a flow of the wrong dimension)."""
    return Kind(name, (*_no_none(WRONG_TYPES, optional), bad("int", 3), *bads))


# --- tensors --------------------------------------------------------------------------------
def _as_tensor(good: object) -> torch.Tensor:
    return torch.as_tensor(good, dtype=torch.get_default_dtype()) if not isinstance(
        good, torch.Tensor) else good


def _huge(t: torch.Tensor) -> torch.Tensor:
    """``t`` filled with its dtype's largest value (1e308 in float64, 3e38 in float32)."""
    return torch.full_like(t, torch.finfo(t.dtype).max)


def _with(good: object, value: float, row: int | None = None) -> torch.Tensor:
    t = _as_tensor(good).detach().clone()
    if row is None:
        t.view(-1)[0] = value
    else:
        t[row] = value
    return t


def tensor_of_numbers(name: str, *, optional: bool = False) -> tuple[Bad, ...]:
    """Bad values for any tensor of real numbers, made from a good one."""
    return (
        *_no_none(WRONG_TYPES, optional), bad("float", 0.5, must_fail=False),
        Bad("NaN entry", lambda g: _with(g, math.nan)),
        Bad("inf entry", lambda g: _with(g, math.inf)),
        Bad("complex", lambda g: _as_tensor(g).to(torch.complex128)),
        Bad("bool", lambda g: _as_tensor(g) > 0),
        Bad("int64", lambda g: _as_tensor(g).round().long(), must_fail=False),
        Bad("requires grad", lambda g: _as_tensor(g).detach().clone().requires_grad_(True),
            must_fail=False),
        Bad("huge entries", lambda g: _huge(_as_tensor(g)), must_fail=False),
        Bad("empty", lambda g: _as_tensor(g)[:0]),
    )


def number_vector(*, optional: bool = False) -> Kind:
    """A parameter vector (``w``, ``u``, ``z0``, a mask): its length is fixed by the layer."""
    bads = (*tensor_of_numbers("vector", optional=optional),
            Bad("one entry too many", lambda g: torch.cat([_as_tensor(g), _as_tensor(g)[:1]])),
            Bad("2-D", lambda g: torch.stack([_as_tensor(g), _as_tensor(g)])),
            Bad("list with a str", lambda g: [*_as_tensor(g).tolist()[:-1], "x"]))
    return Kind("vector", bads, None, lambda good: [
        ("list", _as_tensor(good).tolist()), ("numpy", _as_tensor(good).numpy().copy())])


def _propagates(result: object, good: object) -> str | None:
    """A NaN in row 0 of the input must give a non-finite row 0 and finite other rows in each
    result tensor with one row per point."""
    n = _as_tensor(good).shape[0]
    tensors = [result] if isinstance(result, torch.Tensor) else [
        t for t in (result if isinstance(result, tuple | list) else ()) if isinstance(
            t, torch.Tensor)]
    rows = [t for t in tensors if t.ndim >= 1 and t.shape[0] == n]
    if not rows:
        return "no result tensor with one row per point"
    for t in rows:
        t = t.detach().reshape(n, -1)
        if bool(torch.isfinite(t[0]).all()):
            return "the NaN row gave a finite result"
        if not bool(torch.isfinite(t[1:]).all()):
            return "a NaN in one row made other rows non-finite"
    return None


def batch(dim: int, *, nonfinite: str) -> Kind:
    """A batch of points, shape (N, dim). ``nonfinite``: what the entry point does with a
    NaN/inf row: ``"reject"`` (``ValueError``) or ``"propagate"`` (that row only)."""
    if nonfinite not in ("reject", "propagate"):
        raise ValueError(f"nonfinite must be 'reject' or 'propagate'; got {nonfinite!r}")
    reject = nonfinite == "reject"
    on = None if reject else _propagates
    bads = (
        *WRONG_TYPES,
        Bad("1-D", lambda g: _as_tensor(g)[:, 0].clone()),
        Bad("0-d", lambda g: _as_tensor(g)[0, 0].clone()),
        Bad("one column too many", lambda g: torch.cat([_as_tensor(g), _as_tensor(g)[:, :1]],
                                                       1)),
        Bad("3-D", lambda g: _as_tensor(g)[..., None].clone()),
        Bad("complex", lambda g: _as_tensor(g).to(torch.complex128)),
        Bad("bool", lambda g: _as_tensor(g) > 0),
        Bad("int64", lambda g: _as_tensor(g).round().long(), must_fail=False),
        Bad("empty", lambda g: _as_tensor(g)[:0].clone(), must_fail=False),
        Bad("requires grad", lambda g: _as_tensor(g).detach().clone().requires_grad_(True),
            must_fail=False),
        Bad("list of lists", lambda g: _as_tensor(g).tolist(), must_fail=False),
        Bad("numpy", lambda g: _as_tensor(g).detach().numpy().copy(), must_fail=False),
        Bad("NaN row", lambda g: _with(g, math.nan, row=0), must_fail=reject, on_success=on),
        Bad("inf row", lambda g: _with(g, math.inf, row=0), must_fail=reject, on_success=on),
        Bad("huge values", lambda g: _with(g, _huge(_as_tensor(g)).max().item(), row=0),
            must_fail=False),
    )
    return Kind(f"batch(N, {dim}) [{nonfinite} non-finite]", bads)
