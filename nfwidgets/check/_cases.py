"""Running a learner's function on a list of prepared cases and judging every answer.

A ``Case`` holds the arguments, the reference answer (float64, from the engine) and how to name
its inputs in a message. ``run`` calls the learner's function on every case in order and stops
at the first answer that is malformed (type, arity, shape, dtype, NaN) or wrong; then it asks the
catalogue which known mistake gives the learner's answers on *all* cases, and raises
``CheckFailed`` with the input, the expected and the got value and that misconception.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from . import _report
from ._report import Catalogue, CheckFailed, Mistake, call, fmt, to_tensor

__all__ = ["Case", "Output", "count", "dtype_name", "run"]

UNKNOWN = ("This is none of the typical mistakes we know: go through your code step by step "
           "against the maths for this one input.")


@dataclass(frozen=True)
class Output:
    """One returned quantity: its name in messages and whether its first axis is the batch."""

    name: str
    per_point: bool = True


@dataclass(frozen=True)
class Case:
    """One call of the learner's function and the answer it should give.

    ``args`` are cloned for every call (a learner's in-place edit cannot leak into the next
    case); ``want`` holds one float64 tensor per output; ``shown`` names all inputs
    (``"z of shape (7, 2), w = (1.3, -0.4), b = 0.7"``); ``point(i)`` names point ``i``
    (``"z[2] = (0.51, -1.2)"``) and ``context`` the remaining inputs, for per-point messages."""

    args: tuple
    want: tuple[Tensor, ...]
    dtype: torch.dtype
    shown: str
    point: Callable[[int], str] | None = None
    context: str = ""

    def fresh_args(self) -> tuple:
        return tuple(a.clone() if isinstance(a, Tensor) else a for a in self.args)


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _parts(result: object, outputs: Sequence[Output], where: str) -> tuple:
    """The learner's result split into one part per output (a single output is not a tuple)."""
    if len(outputs) == 1:
        return (result,)
    names = ", ".join(o.name for o in outputs)
    if not isinstance(result, tuple | list) or len(result) != len(outputs):
        got = (f"{len(result)} values" if isinstance(result, tuple | list)
               else f"one {type(result).__name__}")
        raise CheckFailed(f"{where}: should return the {len(outputs)} values ({names}) as a "
                          f"tuple, `return {names}`; got {got}")
    return tuple(result)


def _worst(got: Tensor, want: Tensor, dtype: torch.dtype, per_point: bool) -> int | None:
    """Index of the point (or entry) where ``got`` is furthest outside the tolerance around
    ``want`` (the clearest example for a message), or None when all agree."""
    rtol, atol = _report.tolerance(dtype)
    excess = (got - want).abs() / (atol + rtol * want.abs())
    if per_point and excess.ndim > 1:
        excess = excess.reshape(excess.shape[0], -1).amax(1)
    excess = excess.reshape(-1)
    if not bool((excess > 1).any()):
        return None
    return int(excess.argmax())


def _pair(want: Tensor, got: Tensor) -> tuple[str, str]:
    """``fmt`` of both with as many digits as it takes to tell them apart (at most 10)."""
    for digits in (4, 6, 8, 10):
        shown = fmt(want, digits), fmt(got, digits)
        if shown[0] != shown[1]:
            break
    return shown


def _diagnose(fn: Callable, cases: Sequence[Case], catalogue: Catalogue, target: str,
              part: int | None) -> Mistake | None:
    """The catalogued mistake giving the learner's raw answers on all cases. With ``part``,
    compare only that output of a tuple, and only among the mistakes that change that output
    (a mistake in the log-det alone must not explain a wrong x)."""
    runs = []
    for case in cases:
        try:
            got = _report.quietly(fn, case.fresh_args())
        except Exception:  # judged on the cases where the learner's code runs
            continue
        runs.append((case, got))
    pairs = [(case.fresh_args(), got) for case, got in runs]
    if part is None:
        return catalogue.diagnose_many(
            target, pairs, lambda got, wrong: _report.agree(got, wrong, torch.float32))

    def changes_part(m: Mistake) -> bool:
        for case, _ in runs:
            try:
                wrong = _report.quietly(m.function, case.fresh_args())[part]
                if not _report.agree(wrong, case.want[part], case.dtype):
                    return True
            except Exception:  # a formula that fails here changes nothing we can compare
                continue
        return False

    for m in catalogue.for_target(target):
        if changes_part(m) and all(
                _report.agree(got[part], _report.quietly(m.function, args)[part], torch.float32)
                for args, got in pairs):
            return m
    return None


def _near_miss(got: Tensor, want: Tensor, dtype: torch.dtype) -> bool:
    """A float64 answer right to float32's ~7 digits but not to float64's: a float32 number
    (``torch.tensor(b)`` of a Python float is float32) or an epsilon entered the sum."""
    return dtype == torch.float64 and _report.close(got, want, torch.float32)


NEAR_MISS = ("Your answer agrees with the reference to about 7 digits but not to float64's 15: "
             "somewhere a float32 number enters (torch.tensor(b) of a Python float is float32; "
             "use dtype=z.dtype), or an epsilon added for safety is too large.")


def _explain(mistake: Mistake | None, what: str | None = None) -> str:
    if mistake is None:
        return UNKNOWN
    return f"Likely mistake{f' in {what}' if what else ''}: {mistake.message}"


def run(fn: object, name: str, signature: str, cases: Sequence[Case],
        outputs: Sequence[Output], catalogue: Catalogue, target: str) -> None:
    """Judge ``fn`` (the learner's ``name(signature)``) on ``cases``; ``CheckFailed`` at the
    first malformed or wrong answer, with the catalogued mistake that explains it."""
    for case in cases:
        dt = dtype_name(case.dtype)
        where = f"{name}({signature}) with {case.shown} ({dt})"
        result = call(fn, name, case.fresh_args(), case.shown, where=where)
        try:
            parts = _parts(result, outputs, where)
            got = [to_tensor(p, what=o.name, shape=tuple(w.shape), where=where, dtype=case.dtype,
                             arrays_only=True, per_point=o.per_point and case.point is not None)
                   for p, o, w in zip(parts, outputs, case.want, strict=True)]
        except CheckFailed as failed:
            mistake = _diagnose(fn, cases, catalogue, target, None)
            text = str(failed) if mistake is None else f"{failed}\n{_explain(mistake)}"
            raise CheckFailed(text) from None
        for j, (g, w, out) in enumerate(zip(got, case.want, outputs, strict=True)):
            i = _worst(g, w, _report.judged_dtype(parts[j], case.dtype), out.per_point)
            if i is None:
                continue
            if out.per_point and case.point is not None:
                at = f"at {case.point(i)} with {case.context} ({dt})"
                want_i, got_i = w[i], g[i]
            else:
                at = f"for {case.shown} ({dt})"
                want_i, got_i = w, g
            want_s, got_s = _pair(want_i, got_i)
            if _near_miss(g, w, _report.judged_dtype(parts[j], case.dtype)):
                raise CheckFailed(f"{name}({signature}): {out.name} is slightly off {at}: "
                                  f"expected {want_s}, got {got_s}.\n{NEAR_MISS}")
            mistake = _diagnose(fn, cases, catalogue, target, None)
            what = None
            if mistake is None and len(outputs) > 1:
                mistake, what = _diagnose(fn, cases, catalogue, target, j), out.name
            raise CheckFailed(f"{name}({signature}): {out.name} is wrong {at}: expected "
                              f"{want_s}, got {got_s}.\n{_explain(mistake, what)}")


def count(cases: Sequence[Case]) -> tuple[int, int]:
    """(number of cases, number of points) for a success line."""
    points = sum(int(c.want[0].shape[0]) if c.point is not None else 1 for c in cases)
    return len(cases), points
