"""How the contract test calls a public entry point with one bad argument and judges the result.

A ``Spec`` names an entry point (a public function, a public class's constructor, a method
defined in the package, or a property setter), gives a good value for every parameter with its
``Kind`` (``bad_values``), and how to build the instance a method is called on. ``attempt``
calls it with one parameter replaced, inside ``Silence`` (stderr at the file-descriptor level,
warnings, logging and unraisable exceptions such as a failing ``__del__`` are all recorded, and
``gc.collect()`` runs before it closes), and returns the problems it saw.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import io
import logging
import math
import os
import re
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .bad_values import Kind

__all__ = ["Arg", "Silence", "Spec", "arg", "attempt", "fresh", "parameters", "takes_arguments"]


@dataclass(frozen=True)
class Arg:
    """A parameter: its kind and a factory of a good value (called afresh for each call)."""

    kind: Kind
    make: Callable[[], object]


def arg(kind: Kind, value: object) -> Arg:
    """A parameter whose good value is ``value`` (immutable, or a function/object to share)."""
    return Arg(kind, lambda: value)


def fresh(kind: Kind, factory: Callable[[], object]) -> Arg:
    """A parameter whose good value is made by ``factory()`` for every call (tensors)."""
    return Arg(kind, factory)


@dataclass
class Spec:
    """One public entry point and how to call it.

    ``target``: the public function or class, or the function of a method / the property
    (``Class.method``, ``Class.prop``) defined in the package. ``owner``: builds the instance a
    method or setter is called on. ``args``: every parameter → ``Arg``; ``positional``: the
    parameters passed by position, in order. ``aliases``: other words a message may use for a
    parameter (a control's label, a class name). ``state``: a snapshot of the owner that a
    refused call must leave unchanged. ``cleanup``: run on the result or owner (close a widget).
    ``examples``: random (hypothesis) bad values per parameter.
    """

    target: object
    args: dict[str, Arg]
    owner: Callable[[], object] | None = None
    positional: tuple[str, ...] = ()
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    state: Callable[[object], object] | None = None
    cleanup: Callable[[object], None] | None = None
    examples: int = 5
    name: str = ""
    #: an exception that is the entry point's verdict on a learner's answer (``CheckFailed``):
    #: for the parameters in ``judged``, raising it counts as refusing the value.
    judgement: type[Exception] | None = None
    judged: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name:
            t = self.target
            t = t.fget if isinstance(t, property) else t
            self.name = f"{t.__module__}.{t.__qualname__}" + ("=" if isinstance(
                self.target, property) else "")

    def call(self, replaced: dict[str, object], owner: object = None) -> tuple[object, object]:
        """Call with good values, ``replaced`` overriding some, on ``owner`` (built by
        ``self.owner`` if not given); returns (result, owner)."""
        values = {k: (replaced[k] if k in replaced else a.make()) for k, a in self.args.items()}
        if owner is None and self.owner is not None:
            owner = self.owner()
        if isinstance(self.target, property):
            (value,) = values.values()
            setattr(owner, self.target.fget.__name__, value)
            return None, owner
        fn = getattr(owner, self.target.__name__) if owner is not None else self.target
        pos = [values.pop(k) for k in (*self.positional, *(k for k in list(values)
                                                            if k.startswith("*")))]
        return fn(*pos, **values), owner

    def close(self, result: object, owner: object) -> None:
        if self.cleanup is not None:
            for thing in (result, owner):
                if thing is not None:
                    self.cleanup(thing)


class Silence:
    """Record everything a call would show a learner besides its result or exception: output
    on file descriptor 2, warnings, logging records (WARNING and up) and unraisable exceptions
    (``Exception ignored in: ... __del__``), including those ``gc.collect()`` triggers."""

    def __enter__(self) -> Silence:
        self.problems: list[str] = []
        self._tmp = tempfile.TemporaryFile(mode="w+b")
        sys.stderr.flush()
        self._saved_fd = os.dup(2)
        os.dup2(self._tmp.fileno(), 2)
        self._py = contextlib.redirect_stderr(io.StringIO())
        self._py_err = self._py.__enter__()
        self._warn = warnings.catch_warnings(record=True)
        self._warnings = self._warn.__enter__()
        warnings.simplefilter("always")
        self._hook = sys.unraisablehook
        sys.unraisablehook = lambda u: self.problems.append(
            f"unraisable in {u.object!r}: {u.exc_type.__name__}: {u.exc_value}")
        self._handler = _Recorder(self.problems)
        logging.getLogger().addHandler(self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            gc.collect()
        finally:
            logging.getLogger().removeHandler(self._handler)
            sys.unraisablehook = self._hook
            self._warn.__exit__(None, None, None)
            self._py.__exit__(None, None, None)
            sys.stderr.flush()
            os.dup2(self._saved_fd, 2)
            os.close(self._saved_fd)
            self._tmp.seek(0)
            fd_text = self._tmp.read().decode(errors="replace")
            self._tmp.close()
        self.problems += [f"warning: {w.category.__name__}: {w.message}"
                          for w in self._warnings]
        for text in (self._py_err.getvalue(), fd_text):
            if text.strip():
                self.problems.append(f"stderr: {text.strip()[:500]}")


class _Recorder(logging.Handler):
    def __init__(self, problems: list[str]) -> None:
        super().__init__(logging.WARNING)
        self._problems = problems

    def emit(self, record: logging.LogRecord) -> None:
        self._problems.append(f"log {record.levelname}: {record.getMessage()[:300]}")


#: A refusal is one line a learner reads at a glance (a repr of a widget or module is not).
MAX_MESSAGE = 400


def _names(message: str, name: str) -> bool:
    """True if ``message`` has ``name`` as a word of its own (``"u"`` is not named by
    ``"must"``); ``"*marks"`` counts as ``marks``."""
    return re.search(rf"(?<!\w){re.escape(name.lstrip('*'))}(?!\w)", message) is not None


def _mentions_value(message: str, value: object) -> bool:
    """True if ``message`` shows ``value``: its repr or str, or for a value that is not a real
    number its type's name or shape (tensors and arrays: not checked)."""
    if isinstance(value, torch.Tensor) or hasattr(value, "__array__"):
        return True
    if callable(value) and not isinstance(value, type):
        return True
    shown = {repr(value), str(value), repr(value)[:40]}  # (a long repr may be cut short)
    if isinstance(value, float) and math.isfinite(value):
        shown |= {f"{value:g}", f"{value:.6g}"}
    elif not isinstance(value, int | float):
        shown |= {type(value).__name__, "shape"}
    return any(s in message for s in shown)


def attempt(spec: Spec, param: str, value: object, *, label: str, must_fail: bool,
            on_success: Callable[[object, object], str | None] | None = None,
            good: object = None, must_pass: bool = False) -> list[str]:
    """Call ``spec`` with ``param=value``; the contract's complaints (empty: kept).

    ``must_pass``: a good value written differently, which must be accepted."""
    where = f"{spec.name}({param}={label})"
    problems: list[str] = []
    with Silence() as silence:
        result = owner = None
        try:
            owner = spec.owner() if spec.owner is not None else None
            before = spec.state(owner) if spec.state is not None else None
            result, owner = spec.call({param: value}, owner)
        except ValueError as err:
            message = str(err)
            names = (param, *spec.aliases.get(param, ()))
            if must_pass:
                problems.append(f"{where}: refused a good value: ValueError: {message}")
            elif not any(_names(message, n) for n in names):
                problems.append(f"{where}: ValueError does not name {names}: {message!r}")
            elif not _mentions_value(message, value):
                problems.append(f"{where}: ValueError does not show the value: {message!r}")
            elif "\n" in message or len(message) > MAX_MESSAGE:
                problems.append(f"{where}: the message is not one short line: {message!r}")
            if spec.state is not None and owner is not None:
                after = spec.state(owner)
                if after != before:
                    problems.append(f"{where}: a refused call changed the state: "
                                    f"{before!r} -> {after!r}")
        except Exception as err:
            if spec.judgement is not None and isinstance(err, spec.judgement) and (
                    param in spec.judged or not must_fail):
                # a verdict: on a judged answer, or on what an accepted value let it judge
                if must_pass:
                    problems.append(f"{where}: judged a good value wrong: {err}")
            else:  # the contract break this test exists to find
                tb = "".join(traceback.format_exception(err, limit=-3))
                problems.append(f"{where}: raised {type(err).__name__}, not ValueError: "
                                f"{err}\n{tb}")
        else:
            if must_fail:
                problems.append(f"{where}: accepted (no ValueError)")
            elif on_success is not None:
                complaint = on_success(result, good)
                if complaint:
                    problems.append(f"{where}: {complaint}")
        finally:
            spec.close(result, owner)
            del result, owner
    problems += [f"{where}: {p}" for p in silence.problems]
    return problems


def parameters(target: object) -> list[str]:
    """The parameters of an entry point (not ``self`` or ``**kwargs``; ``*args`` as
    ``"*args"``: a spec's value for it is passed as one positional argument)."""
    fn = target.fset if isinstance(target, property) else target
    sig = inspect.signature(fn)
    names = [("*" if p.kind == p.VAR_POSITIONAL else "") + p.name
             for p in sig.parameters.values() if p.kind != p.VAR_KEYWORD]
    if inspect.isfunction(fn) and names and names[0] in ("self", "cls"):
        names = names[1:]
    return names


def takes_arguments(target: object) -> bool:
    """True if the entry point has any parameter besides ``self`` (``**values`` counts)."""
    fn = target.fset if isinstance(target, property) else target
    params = list(inspect.signature(fn).parameters.values())
    if inspect.isfunction(fn) and params and params[0].name in ("self", "cls"):
        params = params[1:]
    return bool(params)
