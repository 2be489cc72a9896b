"""Choices, flags, text, names, functions, dtypes and devices."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from hypothesis import strategies as st
from torch import nn

from .core import BOOLS, WRONG_TYPES, Bad, Kind, bad, no_none


def choice(options: Sequence[object], *, optional: bool = False,
           spellings: Sequence[tuple[str, object]] = ()) -> Kind:
    """One of ``options`` (names of targets, layer kinds, directions…); ``spellings``: other
    forms of a good name to accept (upper case, with "the")."""
    bads = [*no_none(WRONG_TYPES, optional), bad("unknown name", "no-such-option"),
            bad("int", 3), *BOOLS[:1], bad("nan", math.nan)]
    return Kind(f"choice{tuple(options)!r}", tuple(bads),
                st.text(min_size=1, max_size=8).filter(lambda s: s not in options),
                lambda _g: list(spellings))


def flag(*, optional: bool = False) -> Kind:
    """A bool: a string, a number or a list is refused (``"False"`` is truthy)."""
    bads = [*no_none((bad("None", None),), optional), bad("str", "False"), bad("int 2", 2),
            Bad("list", lambda _g: []), bad("nan", math.nan)]
    return Kind("flag", tuple(bads), None,
                lambda good: [("np.bool_", np.bool_(good))] if isinstance(good, bool) else [])


def text(*, optional: bool = False) -> Kind:
    """A string: a name, a description, a title or label shown to the learner."""
    return Kind("text", (*no_none((bad("None", None),), optional), bad("int", 3),
                         Bad("list of str", lambda _g: ["a", "b"]),
                         Bad("empty list", lambda _g: []), Bad("dict", lambda _g: {"a": 1}),
                         bad("nan", math.nan), bad("bytes", b"x"), *BOOLS[:1]))


def names(options: Sequence[str] | None = None) -> Kind:
    """A non-empty sequence of names (among ``options`` if given)."""
    bads = [bad("str", "x"), bad("None", None), Bad("dict", lambda _g: {"a": 1}),
            bad("int", 3), bad("empty", ()), bad("a non-str", ("a", 3)), bad("ints", (1, 2))]
    if options is not None:
        bads.append(bad("unknown name", ("no-such-option",)))
    return Kind("names", tuple(bads))


def function(*, optional: bool = False) -> Kind:
    """A callable (a learner's function, an energy)."""
    bads = [*no_none((bad("None", None),), optional), bad("int", 3), bad("str", "f"),
            Bad("list", lambda _g: [])]
    return Kind("function", tuple(bads))


def learner(*others: Callable) -> Kind:
    """The learner's function, which a check judges: ``function()``'s bad values; ``others``
    are correct solutions written differently, which must pass too."""
    return Kind("learner function", function().bad, None,
                lambda _good: [(getattr(f, "__name__", "variant"), f) for f in others])


def module_class() -> Kind:
    """A ``torch.nn`` activation class (not an instance)."""
    return Kind("module class", (*WRONG_TYPES, bad("int", 3),
                                 Bad("an instance", lambda _g: nn.ReLU()),
                                 bad("a non-module class", int)))


def dtype() -> Kind:
    """A floating-point ``torch.dtype`` (float16 may be refused)."""
    return Kind("dtype", (*WRONG_TYPES, bad("int", 3), bad("int64", torch.int64),
                          bad("bool", torch.bool), bad("complex64", torch.complex64),
                          bad("str float32", "float32"),
                          bad("float16", torch.float16, must_fail=False)),
                None, lambda _g: [("float64", torch.float64)])


def device() -> Kind:
    """``None`` or a device this machine has."""
    return Kind("device", (bad("unknown name", "no-such-device"), bad("cuda:99", "cuda:99"),
                           Bad("list of str", lambda _g: ["a", "b"]),
                           Bad("dict", lambda _g: {"a": 1}), bad("float", 2.5)),
                None, lambda _g: [("torch.device", torch.device("cpu"))])


def control(spec: object, view: tuple | None = None) -> Kind:
    """A widget control's value (``layer_controls.ControlSpec``): a flag for a toggle, one of
    its options for a choice, else a real in its span (for the ``view`` bounds)."""
    from .numbers import real

    if spec.widget == "toggle":
        return flag()
    if spec.widget == "choice":
        return choice(spec.options)
    lo, hi = spec.span(None, view)
    return real(lo=lo, hi=hi)
