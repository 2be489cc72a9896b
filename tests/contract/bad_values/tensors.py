"""Tensors and arrays: parameter vectors, masks, batches of points, element-wise inputs,
scores, NumPy arrays and line lists."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch

from .core import (
    BOOLS,
    WRONG_TYPES,
    Bad,
    Judge,
    Kind,
    as_tensor,
    bad,
    no_none,
    rows_propagate,
)


def _huge(t: torch.Tensor) -> torch.Tensor:
    """``t`` filled with its dtype's largest value (1e308 in float64, 3e38 in float32)."""
    return torch.full_like(t, torch.finfo(t.dtype).max)


def with_value(good: object, value: float, row: int | None = None) -> torch.Tensor:
    """A copy of ``good`` with its first entry (or its row ``row``) set to ``value``."""
    t = as_tensor(good).detach().clone()
    if row is None:
        t.view(-1)[0] = value
    else:
        t[row] = value
    return t


def tensor_of_numbers(*, optional: bool = False) -> tuple[Bad, ...]:
    """Bad values for any tensor of real numbers, made from a good one."""
    return (
        *no_none(WRONG_TYPES, optional), bad("float", 0.5, must_fail=False),
        Bad("NaN entry", lambda g: with_value(g, math.nan)),
        Bad("inf entry", lambda g: with_value(g, math.inf)),
        Bad("complex", lambda g: as_tensor(g).to(torch.complex128)),
        Bad("bool", lambda g: as_tensor(g) > 0),
        Bad("int64", lambda g: as_tensor(g).round().long(), must_fail=False),
        Bad("requires grad", lambda g: as_tensor(g).detach().clone().requires_grad_(True),
            must_fail=False),
        Bad("huge entries", lambda g: _huge(as_tensor(g)), must_fail=False),
        Bad("empty", lambda g: as_tensor(g)[:0]),
    )


def _list_and_numpy(good: object) -> list[tuple[str, object]]:
    return [("list", as_tensor(good).tolist()), ("numpy", as_tensor(good).numpy().copy())]


def number_vector(*, fixed_length: bool = True, optional: bool = False) -> Kind:
    """A vector of real numbers (``w``, ``u``, ``loc``): its length is fixed by the layer
    (``fixed_length``) or free (``Radial``'s ``z0``, whose length sets the dimension)."""
    extra = (Bad("one entry too many", lambda g: torch.cat([as_tensor(g), as_tensor(g)[:1]])),
             ) if fixed_length else ()
    bads = (*tensor_of_numbers(optional=optional), *extra,
            Bad("2-D", lambda g: torch.stack([as_tensor(g), as_tensor(g)])),
            Bad("list with a str", lambda g: [*as_tensor(g).tolist()[:-1], "x"]))
    return Kind("vector", bads, None, _list_and_numpy)


def mask() -> Kind:
    """A coupling mask: a vector of 0s and 1s, both present, whose length sets the dimension."""
    return Kind("mask", (*number_vector(fixed_length=False).bad,
                         bad("entry 2", (2.0, 0.0)), bad("entry 0.5", (0.5, 1.0)),
                         bad("all ones", (1.0, 1.0)), bad("bools", (True, False))),
                None, lambda good: [("numpy", np.asarray(good, dtype=float))])


def scores(*, infinite_ok: bool = False, optional: bool = False) -> Kind:
    """Scores (N,), one per example (outlier scores): NaN refused, ±inf refused or allowed
    (``infinite_ok``); a plain number or an empty vector is not a set of scores."""
    stricter = {"float": True, "inf entry": not infinite_ok}  # must_fail, unlike any tensor's
    return Kind("scores (N,)", (
        *(replace(b, must_fail=stricter.get(b.label, b.must_fail))
          for b in tensor_of_numbers(optional=optional)),
        Bad("2-D (2, N)", lambda g: torch.stack([as_tensor(g), as_tensor(g)])),
        Bad("a column (N, 1)", lambda g: as_tensor(g)[:, None].clone()),
        Bad("list with a str", lambda g: [*as_tensor(g).tolist()[:-1], "x"]),
    ), None, lambda g: [*_list_and_numpy(g), ("float32", as_tensor(g).float())])


def elementwise(*, rows: bool = True, nan: Judge | None = None, numbers: bool = False) -> Kind:
    """The input of an element-wise formula (``h``, ``r``, ``rho``: one value per point; a 0-d
    ``c``; ``numbers``: a plain number too): NaN/inf are accepted and propagate, judged
    row-wise (``rows``) or, for a NaN, by ``nan``."""
    on = (nan or rows_propagate()) if rows else None
    ints = (Bad("int64", lambda g: as_tensor(g).round().long(), must_fail=False),) if numbers \
        else (bad("int", 3), bad("float", 0.5, must_fail=False),
              Bad("int64", lambda g: as_tensor(g).round().long()))
    return Kind("element-wise tensor", (
        *WRONG_TYPES, *BOOLS, bad("complex number", 1 + 2j), *ints,
        Bad("complex", lambda g: as_tensor(g).to(torch.complex128)),
        Bad("bool", lambda g: as_tensor(g) > 0),
        Bad("requires grad", lambda g: as_tensor(g).detach().clone().requires_grad_(True),
            must_fail=False),
        Bad("empty", lambda g: as_tensor(g).reshape(-1)[:0], must_fail=False),
        Bad("NaN entry", lambda g: with_value(g, math.nan), must_fail=False, on_success=on),
        Bad("inf entry", lambda g: with_value(g, math.inf), must_fail=False,
            on_success=on if nan is None else None)),
        None, (lambda g: [("numpy", as_tensor(g).numpy().copy()),
                          ("float", float(as_tensor(g).reshape(-1)[0])),
                          ("np.float64", np.float64(as_tensor(g).reshape(-1)[0]))])
        if numbers else (lambda _g: []))


def batch(dim: int, *, nonfinite: str | Judge, float64: bool = False, fixed_width: bool = True,
          any_rank: bool = False, optional: bool = False) -> Kind:
    """A batch of points, shape (N, dim). ``nonfinite``: what the entry point does with a
    NaN/inf row: ``"reject"`` (``ValueError``), ``"propagate"`` (that row only,
    ``rows_propagate()``) or a judge of the result (``rows_propagate(...)``, or another
    documented rule such as "non-finite rows are left out"). ``float64``: the entry point
    belongs to a float64 module, so a float32 batch is refused. ``fixed_width``: ``False``
    when any width is fine; ``any_rank``: any (…, dim) is fine (1-D, 3-D)."""
    reject = nonfinite == "reject"
    on = None if reject else rows_propagate() if nonfinite == "propagate" else nonfinite
    bads = [
        *no_none(WRONG_TYPES, optional),
        Bad("1-D", lambda g: as_tensor(g)[:, 0].clone()),
        Bad("0-d", lambda g: as_tensor(g)[0, 0].clone()),
        Bad("one column too many", lambda g: torch.cat([as_tensor(g), as_tensor(g)[:, :1]],
                                                       1)),
        Bad("3-D", lambda g: as_tensor(g)[..., None].clone()),
        Bad("complex", lambda g: as_tensor(g).to(torch.complex128)),
        Bad("bool", lambda g: as_tensor(g) > 0),
        Bad("int64", lambda g: as_tensor(g).round().long(), must_fail=False),
        Bad("empty", lambda g: as_tensor(g)[:0].clone(), must_fail=False),
        Bad("requires grad", lambda g: as_tensor(g).detach().clone().requires_grad_(True),
            must_fail=False),
        Bad("list of lists", lambda g: as_tensor(g).tolist(), must_fail=False),
        Bad("numpy", lambda g: as_tensor(g).detach().numpy().copy(), must_fail=False),
        Bad("NaN row", lambda g: with_value(g, math.nan, row=0), must_fail=reject,
            on_success=on),
        Bad("inf row", lambda g: with_value(g, math.inf, row=0), must_fail=reject,
            on_success=on),
        Bad("huge values", lambda g: with_value(g, _huge(as_tensor(g)).max().item(), row=0),
            must_fail=False)]
    if float64:
        bads.append(Bad("float32 into a float64 module", lambda g: as_tensor(g).float()))
    dropped = ({"one column too many"} if not fixed_width else set()) | (
        {"1-D", "3-D", "one column too many"} if any_rank else set())
    how = nonfinite if isinstance(nonfinite, str) else "judged"
    return Kind(f"batch(N, {dim}) [{how} non-finite]",
                tuple(b for b in bads if b.label not in dropped))


def array(ndim: int, *, optional: bool = False) -> Kind:
    """A NumPy array of real numbers with ``ndim`` dimensions (a field, coordinates)."""
    return Kind(f"{ndim}-D array", (
        *no_none(WRONG_TYPES, optional), bad("int", 3),
        Bad("wrong ndim", lambda g: np.asarray(g)[..., None] if ndim < 3 else np.asarray(g)[0]),
        Bad("complex", lambda g: np.asarray(g).astype(np.complex128)),
        Bad("str array", lambda g: np.full(np.asarray(g).shape, "a"))))


def lines() -> Kind:
    """Grid lines to draw: a pair ``(x, y)`` of arrays of the same shape."""
    return Kind("lines", (bad("int", 3), bad("str", "x"), bad("one array", (np.zeros(3),)),
                          bad("ragged", (np.zeros(3), np.zeros(4)))))
