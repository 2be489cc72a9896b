"""Calling learner code quietly, with or without gradients (for the coupling and reverse-KL
checks).

``_report.call`` runs the learner's function under ``torch.no_grad()``; a free energy must be
differentiated, so this module offers the same call with gradients switched on. Both discard
anything written to ``sys.stderr`` and swallow warnings: nbgrader gives a test cell with stderr
output zero points.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable

import torch

from ._report import CheckFailed

__all__ = ["call_learner", "quietly"]


def quietly(fn: Callable, args: tuple, *, grad: bool = False) -> object:
    """``fn(*args)`` with warnings swallowed and stderr discarded; gradients on iff ``grad``."""
    with warnings.catch_warnings(), torch.set_grad_enabled(grad), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        return fn(*args)


def call_learner(fn: object, name: str, args: tuple, shown: str, *, grad: bool = False
                 ) -> object:
    """``fn(*args)`` for the learner's function ``name``; an exception, ``...`` or ``None``
    returned becomes a ``CheckFailed`` naming the call ``shown`` (the inputs, readable)."""
    if not callable(fn):
        raise CheckFailed(f"{name} should be a function; got {type(fn).__name__} {fn!r:.80}")
    try:
        result = quietly(fn, args, grad=grad)
    except NotImplementedError:
        raise CheckFailed(f"{name} is not written yet: replace the `raise NotImplementedError()`"
                          " with your code.") from None
    except Exception as err:  # any error in learner code is feedback
        raise CheckFailed(f"{name}({shown}) raised {type(err).__name__}: {err}") from None
    parts = result if isinstance(result, tuple | list) else (result,)
    if any(part is Ellipsis for part in parts):  # `is`: `in` would compare tensors with ==
        raise CheckFailed(f"{name} is not written yet: replace the ... with your code.")
    if result is None:
        raise CheckFailed(f"{name}({shown}) returned None: did you forget the `return`?")
    return result
