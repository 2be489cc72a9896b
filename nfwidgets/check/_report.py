"""What every checker shares: calling a learner's function safely, comparing its answer with the
reference engine, naming the catalogued mistake it matches, and reporting.

A check either prints one line starting with ✓ (on stdout) or raises ``CheckFailed``, an
``AssertionError`` (which nbgrader counts as a failed test), whose text names the input, the
expected value, the learner's value and, when the answer matches a catalogued mistake, that
misconception. Nothing is written to stderr: nbgrader gives a test cell with stderr output zero
points, so warnings raised inside the learner's code are recorded, never shown.

The catalogue: every typical mistake is a *wrong implementation* with the learner's signature,
registered with ``@catalogue.mistake(target, key, message)``. The checker runs it on the same
inputs as the learner's function to recognise the misconception; the nbgrader round-trip test
pastes its source into a submission to prove the check catches it with its own message.

What a check judges and what it refuses. The learner's function is judged whatever it does: it
raising, or returning the wrong type, shape or NaN, is a wrong answer (``CheckFailed``); but a
value that is not callable at all (``3``, ``"f"``, ``None``) is no answer, a ``ValueError``. An
answer the learner types (a number, a mode's name) is judged whatever it is, wrong type included
(``CheckFailed``). What the lesson hands the check to work with (a widget, a trained flow, a
target's name, a margin, a seed) is input: the wrong class, type or value is a ``ValueError``
naming the parameter and the value (``learner_function``, ``instance_of``, ``a_flow``,
``a_number``, ``an_integer``, ``one_of``) — only the state the check exists to judge (how well
the flow fits, where the sliders stand) gets ``CheckFailed``.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

from .._checks import MAX_SEED, check_count, check_function, check_real, refusal
from ..flows.compose import Flow

__all__ = ["CATALOGUES", "SEED_MAX", "Catalogue", "CheckFailed", "Mistake", "a_flow", "a_number",
           "agree", "an_integer", "call", "close", "fmt", "instance_of", "judged_dtype",
           "learner_function", "one_of", "passed", "quietly", "to_tensor", "tolerance"]


class CheckFailed(AssertionError):
    """A check's verdict: the text says what was tried, what was expected, what came back and
    (when known) which misconception gives exactly that. In IPython only this text is shown
    (``_render_traceback_``): the traceback of the checker's own code helps no learner."""

    def _render_traceback_(self) -> list[str]:
        return ["✗ " + line if i == 0 else "  " + line
                for i, line in enumerate(str(self).splitlines())]


def passed(message: str) -> None:
    """Report a passed check: one line on stdout, starting with ✓."""
    print(f"✓ {message}")


@dataclass(frozen=True)
class Mistake:
    """One catalogued misconception: ``function`` is a wrong implementation of ``target`` (the
    learner's function name) with the same signature; ``message`` explains the slip."""

    target: str
    key: str
    message: str
    function: Callable


@dataclass
class Catalogue:
    """The typical mistakes of one exercise or assignment, by the function they concern."""

    name: str
    mistakes: list[Mistake] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.name in CATALOGUES:
            raise ValueError(f"a catalogue named {self.name!r} exists already")
        CATALOGUES[self.name] = self

    def mistake(self, target: str, key: str, message: str) -> Callable[[Callable], Callable]:
        """Decorator registering a wrong implementation of ``target``; returns it unchanged."""
        def register(function: Callable) -> Callable:
            if any(m.key == key for m in self.mistakes):
                raise ValueError(f"{self.name}: mistake key {key!r} is used twice")
            self.mistakes.append(Mistake(target, key, message, function))
            return function
        return register

    def for_target(self, target: str) -> list[Mistake]:
        return [m for m in self.mistakes if m.target == target]

    def diagnose(self, target: str, got: object, args: tuple,
                 compare: Callable[[object, object], bool]) -> Mistake | None:
        """The first mistake of ``target`` whose output on ``args`` ``compare``s equal to
        ``got`` (a mistake that itself fails on ``args`` matches nothing)."""
        return self.diagnose_many(target, [(args, got)], compare)

    def diagnose_many(self, target: str, pairs: list[tuple[tuple, object]],
                      compare: Callable[[object, object], bool]) -> Mistake | None:
        """The first mistake of ``target`` that gives the learner's answer ``got`` on *every*
        ``(args, got)`` of ``pairs`` (more inputs, fewer coincidences); ``None`` when none does
        or ``pairs`` is empty. A mistake that raises on some ``args`` matches nothing."""
        if not pairs:
            return None
        for m in self.for_target(target):
            try:
                if all(compare(got, quietly(m.function, args)) for args, got in pairs):
                    return m
            except Exception:  # a wrong formula may fail, or give shapes that cannot compare
                continue
        return None


#: Every catalogue by name (filled when the checker modules are imported).
CATALOGUES: dict[str, Catalogue] = {}


# ---- input that is not an answer: ValueError naming the parameter and the value ---------------

#: The largest seed a check takes (the package's, NumPy's and most libraries' range).
SEED_MAX = MAX_SEED


def refuse(check: str, name: str, value: object, allowed: str) -> ValueError:
    """The one way a check refuses input: ``check.<check>: <name> must be <allowed>; got …``
    (the package's message, ``nfwidgets._checks``)."""
    return refusal(f"check.{check}", name, allowed, value)


def learner_function(value: object, check: str, name: str, signature: str) -> None:
    """``value`` must be callable: the learner's function ``signature`` (what it then does is
    judged, not refused)."""
    check_function(name, value, owner=f"check.{check}", what=f"your function {signature}")


def instance_of(value: object, check: str, name: str, cls: str, what: str = "") -> None:
    """``value`` must be an object of the package's class named ``cls`` (by name, so that the
    checks import no widget module); ``what`` says where it comes from."""
    if not any(k.__name__ == cls and k.__module__.startswith("nfwidgets")
               for k in type(value).__mro__):
        raise refuse(check, name, value, f"{what or 'a'} {cls}".strip())


def a_flow(value: object, check: str, name: str, dim: int | None = 2) -> Flow:
    """``value`` must be an nfwidgets ``Flow`` (of dimension ``dim``, when given)."""
    if not isinstance(value, Flow):
        raise refuse(check, name, value, "an nfwidgets Flow")
    if dim is not None and value.dim != dim:
        raise refuse(check, name, value, f"a Flow of {dim}-D points, not {value.dim}-D")
    return value


def a_number(value: object, check: str, name: str, *, lo: float | None = None,
             hi: float | None = None, lo_open: bool = False) -> float:
    """``value`` must be a finite real number (not a bool) in ``[lo, hi]`` (``lo_open``: ``lo``
    excluded)."""
    return check_real(name, value, owner=f"check.{check}", lo=lo, hi=hi, lo_open=lo_open)


def an_integer(value: object, check: str, name: str, *, lo: int = 0, hi: int = SEED_MAX) -> int:
    """``value`` must be an integer (Python or NumPy; not a bool, not a float) in ``[lo, hi]``."""
    return check_count(name, value, owner=f"check.{check}", lo=lo, hi=hi)


def one_of(value: object, check: str, name: str, options: list[str]) -> str:
    """``value`` must be one of the names ``options`` (case ignored); returns the option."""
    if isinstance(value, str):
        for option in options:
            if option.lower() == value.lower():
                return option
    raise refuse(check, name, value, f"one of {sorted(options)}")


def quietly(fn: Callable, args: tuple, *, grad: bool = False) -> object:
    """``fn(*args)`` without a word: warnings are swallowed and anything printed is discarded
    (nbgrader scores a cell with stderr output zero, and a check calls the learner's function
    dozens of times: its debugging prints would bury the verdict).

    Autograd is off (``.numpy()`` on a result works, as it does in the learner's own cells
    under ``torch.no_grad()``) unless ``grad`` (a free energy must be differentiated); code
    that needs it anyway, e.g. a log-det taken with ``torch.autograd.grad``, is run again with
    autograd on when it fails for want of a gradient."""
    try:
        return _silently(fn, args, grad)
    except RuntimeError as err:
        if grad or not any(s in str(err) for s in ("require grad", "grad_fn")):
            raise
        return _silently(fn, args, True)


def _silently(fn: Callable, args: tuple, grad: bool) -> object:
    with warnings.catch_warnings(), torch.set_grad_enabled(grad), \
            contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return fn(*args)


def call(fn: object, name: str, args: tuple, shown: str, *, where: str | None = None,
         grad: bool = False) -> object:
    """``fn(*args)`` for the learner's function ``name``; any exception, or ``...`` or ``None``
    returned, becomes a ``CheckFailed`` naming the call ``name(shown)`` (``shown``: a readable
    form of the inputs), or ``where`` when given (the whole description of the call).
    Warnings raised inside are swallowed and printed output discarded (see ``quietly``);
    autograd as in ``quietly``."""
    where = where or f"{name}({shown})"
    if not callable(fn):
        raise CheckFailed(f"{name} should be a function; got {type(fn).__name__} {fn!r:.80}")
    try:
        result = quietly(fn, args, grad=grad)
    except NotImplementedError:
        raise CheckFailed(f"{name} is not written yet: replace the `raise NotImplementedError()`"
                          f" with your code.") from None
    except Exception as err:  # any error in learner code is feedback
        raise CheckFailed(f"{where} raised {type(err).__name__}: {err}") from None
    parts = result if isinstance(result, tuple | list) else (result,)
    if any(part is Ellipsis for part in parts):  # `is`: `in` would compare arrays with ==
        raise CheckFailed(f"{name} is not written yet: replace the ... with your code.")
    if result is None:
        raise CheckFailed(f"{where} returned None: did you forget the `return`?")
    return result


def to_tensor(value: object, *, what: str, shape: tuple[int, ...], where: str,
              dtype: torch.dtype | None = None, arrays_only: bool = False,
              per_point: bool = True) -> Tensor:
    """The learner's ``value`` as a float64 tensor of ``shape``, or ``CheckFailed`` saying what
    is wrong with it (``what`` names the quantity, ``where`` the call).

    ``dtype``: the dtype of the inputs; when given, an answer in float16, bfloat16 or an
    integer dtype fails (too few digits to judge); float32 and float64 answers pass (judge a
    float32 answer at float32 tolerance, see ``judged_dtype``).
    ``arrays_only``: only a ``torch.Tensor`` or a NumPy array is accepted (a list or a Python
    number fails, naming its type); by default anything ``torch.as_tensor`` reads is.
    ``per_point``: the first axis is the batch (the shape message then says so)."""
    if isinstance(value, Tensor):
        t = value.detach()
    else:
        is_array = type(value).__module__ == "numpy" and hasattr(value, "dtype")
        if arrays_only and not is_array:
            raise CheckFailed(f"{where}: {what} should be a torch tensor of shape {shape}; got "
                              f"{type(value).__name__} {_short(value)}")
        try:
            t = torch.as_tensor(value, dtype=None if is_array else torch.float64)
        except (TypeError, ValueError, RuntimeError):
            raise CheckFailed(f"{where}: {what} should be a tensor of shape {shape}; got "
                              f"{type(value).__name__} {_short(value)}") from None
    if t.is_complex() or not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64)):
        raise CheckFailed(f"{where}: {what} should be a real tensor; got dtype {t.dtype}")
    if tuple(t.shape) != tuple(shape):
        hint = ""
        if t.numel() == 1 and math.prod(shape) > 1 and per_point:
            hint = " (one number for the whole batch: did you sum over the points too?)"
        elif t.numel() == math.prod(shape):
            hint = " (the right numbers in the wrong shape: reshape or sum over the right axis)"
        each = ""
        if per_point:
            each = ", one value per point" if len(shape) == 1 else ", one row per point"
        raise CheckFailed(f"{where}: {what} should have shape {shape}{each}; "
                          f"got shape {tuple(t.shape)}{hint}")
    if dtype is not None and t.dtype not in (torch.float32, torch.float64):
        raise CheckFailed(f"{where}: the inputs are {str(dtype).removeprefix('torch.')} but "
                          f"{what} has dtype {str(t.dtype).removeprefix('torch.')}, which keeps "
                          "too few digits: compute in the inputs' dtype")
    t = t.to(torch.float64)
    if not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t)).nonzero()[0][0]) if t.ndim else 0
        raise CheckFailed(f"{where}: {what} holds NaN or ±inf (first at index {bad}); every "
                          "input here has a finite answer")
    return t


def _short(value: object, width: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width - 1] + "…"


def judged_dtype(value: object, dtype: torch.dtype) -> torch.dtype:
    """The dtype whose tolerance fits an answer to inputs of ``dtype``: float32 when either the
    inputs or the answer (a tensor or NumPy array) is float32, else ``dtype``."""
    got = getattr(value, "dtype", None)
    if dtype == torch.float32 or got == torch.float32 or str(got) == "float32":
        return torch.float32
    return dtype


def tolerance(dtype: torch.dtype) -> tuple[float, float]:
    """(rtol, atol) for answers computed in ``dtype`` (float32 loses ~7 digits)."""
    return (1e-4, 1e-5) if dtype == torch.float32 else (1e-7, 1e-9)


def close(got: Tensor, want: Tensor, dtype: torch.dtype = torch.float64, *,
          equal_nan: bool = False) -> bool:
    """Elementwise closeness at ``dtype``'s tolerance (float64 tensors in)."""
    rtol, atol = tolerance(dtype)
    return bool(torch.allclose(got.to(torch.float64), want.to(torch.float64),
                               rtol=rtol, atol=atol, equal_nan=equal_nan))


def agree(got: object, other: object, dtype: torch.dtype = torch.float64) -> bool:
    """Whether two raw answers are the same: tuples/lists part by part, tensors, arrays and
    numbers of equal shape and close at ``dtype``'s tolerance, NaN matching NaN (a wrong
    formula and the learner's may both give NaN at the same place). Never raises."""
    if isinstance(got, tuple | list) and isinstance(other, tuple | list):
        return len(got) == len(other) and all(
            agree(a, b, dtype) for a, b in zip(got, other, strict=True))
    try:
        a = got.detach() if isinstance(got, Tensor) else torch.as_tensor(got)
        b = other.detach() if isinstance(other, Tensor) else torch.as_tensor(other)
        if a.shape != b.shape or a.is_complex() or b.is_complex():
            return False
        return close(a.to(torch.float64), b.to(torch.float64), dtype, equal_nan=True)
    except Exception:  # lists of tensors, strings, …: not the same answer
        return False


def fmt(value: object, digits: int = 4) -> str:
    """A short readable form: numbers with ``digits`` significant digits, a tensor as nested
    parentheses with at most its first 3 entries per axis."""
    if isinstance(value, Tensor):
        value = value.detach().to(torch.float64)
        if value.ndim == 0:
            return fmt(float(value), digits)
        parts = [fmt(v, digits) for v in value[:3]]
        if value.shape[0] > 3:
            parts.append(f"… {value.shape[0]} in all")
        return "(" + ", ".join(parts) + ")"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return repr(value)
