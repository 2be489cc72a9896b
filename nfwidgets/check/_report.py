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
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor

__all__ = ["CATALOGUES", "Catalogue", "CheckFailed", "Mistake", "call", "close", "fmt",
           "passed", "to_tensor", "tolerance"]


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
        for m in self.for_target(target):
            try:
                with warnings.catch_warnings(), torch.no_grad():
                    warnings.simplefilter("ignore")
                    wrong = m.function(*args)
            except Exception:  # a wrong formula may fail on these inputs
                continue
            try:
                if compare(got, wrong):
                    return m
            except Exception:  # shapes that cannot be compared: no match
                continue
        return None


#: Every catalogue by name (filled when the checker modules are imported).
CATALOGUES: dict[str, Catalogue] = {}


def call(fn: object, name: str, args: tuple, shown: str) -> object:
    """``fn(*args)`` for the learner's function ``name``; any exception, or ``...`` returned,
    becomes a ``CheckFailed`` naming the call ``shown`` (a readable form of the inputs).
    Warnings raised inside are swallowed (they would go to stderr)."""
    if not callable(fn):
        raise CheckFailed(f"{name} should be a function; got {type(fn).__name__} {fn!r}")
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            result = fn(*args)
    except NotImplementedError:
        raise CheckFailed(f"{name} is not written yet: replace the `raise NotImplementedError()`"
                          f" with your code.") from None
    except Exception as err:  # any error in learner code is feedback
        raise CheckFailed(f"{name}({shown}) raised {type(err).__name__}: {err}") from None
    if result is Ellipsis or (isinstance(result, tuple) and Ellipsis in result):
        raise CheckFailed(f"{name} is not written yet: replace the ... with your code.")
    return result


def to_tensor(value: object, *, what: str, shape: tuple[int, ...], where: str) -> Tensor:
    """The learner's ``value`` as a float64 tensor of ``shape``, or ``CheckFailed`` saying what
    is wrong with it (``what`` names the quantity, ``where`` the call)."""
    if isinstance(value, Tensor):
        t = value.detach()
    else:
        try:
            t = torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError):
            raise CheckFailed(f"{where}: {what} should be a tensor of shape {shape}; got "
                              f"{type(value).__name__} {value!r:.80}") from None
    if t.is_complex() or not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64)):
        raise CheckFailed(f"{where}: {what} should be a real tensor; got dtype {t.dtype}")
    if tuple(t.shape) != tuple(shape):
        hint = ""
        if t.numel() == 1 and math.prod(shape) > 1:
            hint = " (one number for the whole batch: did you sum over the points too?)"
        elif t.numel() == math.prod(shape):
            hint = " (the right numbers in the wrong shape: reshape or sum over the right axis)"
        raise CheckFailed(f"{where}: {what} should have shape {shape}, one value per point; "
                          f"got shape {tuple(t.shape)}{hint}")
    t = t.to(torch.float64)
    if not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t)).nonzero()[0][0]) if t.ndim else 0
        raise CheckFailed(f"{where}: {what} holds NaN or ±inf (first at index {bad}); every "
                          "input here has a finite answer")
    return t


def tolerance(dtype: torch.dtype) -> tuple[float, float]:
    """(rtol, atol) for answers computed in ``dtype`` (float32 loses ~7 digits)."""
    return (1e-4, 1e-5) if dtype == torch.float32 else (1e-7, 1e-9)


def close(got: Tensor, want: Tensor, dtype: torch.dtype = torch.float64) -> bool:
    """Elementwise closeness at ``dtype``'s tolerance (float64 tensors in)."""
    rtol, atol = tolerance(dtype)
    return bool(torch.allclose(got.to(torch.float64), want.to(torch.float64),
                               rtol=rtol, atol=atol))


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
