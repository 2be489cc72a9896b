"""Argument validation for the whole package (clear errors, no maths): the engine, the models,
the data and the widgets' constructors all check their parameters here, one call per parameter.

Every check raises ``ValueError`` of the form ``"{owner}: {name} must be {what is allowed};
got {the value}"`` (without ``owner``, the message starts at ``name``) — the bad-input contract
(CONTRIBUTING.md; the engine's table is in ``nfwidgets.flows``' docstring). Bools are not
numbers here (``True`` is refused where a number is expected); numpy scalars are.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["MAX_DIM", "MAX_POINTS", "MAX_SEED", "MAX_WIDTH", "as_parameter_tensor",
           "check_batch", "check_broadcastable", "check_choice", "check_count",
           "check_device", "check_dtype", "check_finite", "check_finite_rows", "check_flag",
           "check_function", "check_generator", "check_real", "check_same_shape",
           "check_tensor", "check_text", "is_integer", "is_number", "number_text", "refusal",
           "shown"]

#: The most points one call may draw or evaluate (``n``, ``n_samples``, ``batch_size``): ten
#: million 2-D points are 160 MB in float64. A typo such as ``10**12`` is refused up front
#: instead of starting an out-of-memory computation.
MAX_POINTS = 10_000_000
#: The largest dimension of a flow or a conditioner's input/output (a 1000 × 1000 image).
MAX_DIM = 1_000_000
#: The widest hidden layer of a conditioner network.
MAX_WIDTH = 16_384
#: Seeds are integers in [0, MAX_SEED] (numpy's range; ``torch.Generator.manual_seed`` takes them).
MAX_SEED = 2**32 - 1


def shown(value: object) -> str:
    """How an error message shows ``value``: scalars by their repr, tensors and arrays by their
    entries when short (else shape and dtype), anything else by a repr cut to 80 characters."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, torch.nn.Module):  # (its repr lists every submodule)
        return f"a {type(value).__name__} module"
    if any(k.__name__ == "Widget" and k.__module__.startswith("ipywidgets")
           for k in type(value).__mro__):  # (its repr lists every child widget)
        return f"a {type(value).__name__} widget"
    if isinstance(value, torch.Tensor | np.ndarray):
        kind = "tensor" if isinstance(value, torch.Tensor) else "array"
        if value.size == 0 if kind == "array" else value.numel() == 0:
            return f"an empty {kind} of shape {tuple(value.shape)}"
        if value.ndim <= 1 and (value.size if kind == "array" else value.numel()) <= 8:
            data = value.detach().tolist() if kind == "tensor" else value.tolist()
            return f"{data!r} ({kind}, dtype {value.dtype})"
        article = "an" if kind == "array" else "a"
        return f"{article} {kind} of shape {tuple(value.shape)} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def refusal(owner: str | None, name: str, allowed: str, value: object) -> ValueError:
    prefix = f"{owner}: " if owner else ""
    return ValueError(f"{prefix}{name} must be {allowed}; got {shown(value)}")


def is_number(value: object) -> bool:
    """True for a real number (numpy scalars too), False for a bool or anything else."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def is_integer(value: object) -> bool:
    """True for an integer (numpy integers too), False for a bool, a float or anything else."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def _plain(value: object) -> object:
    """numpy scalars and 0-d real tensors as Python numbers (anything else unchanged)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.Tensor) and value.ndim == 0 and not (
            value.is_complex() or value.dtype == torch.bool):
        return value.detach().item()
    return value


def number_text(x: float) -> str:
    """A bound as a learner reads it: ``2147483647``, not ``2.14748e+09``; ``0.05``; ``1e-05``."""
    if float(x).is_integer() and abs(x) < 1e16:
        return str(int(x))
    return f"{x:g}"


def _range_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    lo_t, hi_t = (None if v is None else number_text(v) for v in (lo, hi))
    if lo is not None and hi is not None:
        return f"in {'(' if lo_open else '['}{lo_t}, {hi_t}{')' if hi_open else ']'}"
    if lo is not None:
        return f"{'>' if lo_open else '≥'} {lo_t}"
    if hi is not None:
        return f"{'<' if hi_open else '≤'} {hi_t}"
    return ""


def check_real(name: str, value: object, *, owner: str | None = None, lo: float | None = None,
               hi: float | None = None, lo_open: bool = False, hi_open: bool = False,
               optional: bool = False) -> float | None:
    """A finite real number in the given range (``optional``: ``None`` too), as a float."""
    if optional and value is None:
        return None
    allowed = " ".join(filter(None, ["a finite number", _range_text(lo, hi, lo_open, hi_open),
                                     "or None" if optional else ""]))
    v = _plain(value)
    if not isinstance(v, numbers.Real) or isinstance(v, bool):
        raise refusal(owner, name, allowed, value)
    try:
        f = float(v)
    except OverflowError:  # an int beyond float's range
        raise refusal(owner, name, allowed, value) from None
    if not math.isfinite(f) or (lo is not None and (f <= lo if lo_open else f < lo)) or (
            hi is not None and (f >= hi if hi_open else f > hi)):
        raise refusal(owner, name, allowed, value)
    return f


def check_count(name: str, value: object, *, owner: str | None = None, lo: int = 1,
                hi: int | None = None, optional: bool = False) -> int | None:
    """An integer in ``[lo, hi]`` (sizes, steps, indices; ``optional``: ``None`` too)."""
    if optional and value is None:
        return None
    if lo == 1:
        allowed = "a positive integer" + (f" ≤ {hi}" if hi is not None else "")
    else:
        allowed = f"an integer in [{lo}, {hi}]" if hi is not None else f"an integer ≥ {lo}"
    allowed += " or None" if optional else ""
    v = value.item() if isinstance(value, np.integer) else value
    if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < lo or (
            hi is not None and v > hi):
        raise refusal(owner, name, allowed, value)
    return int(v)


def check_flag(name: str, value: object, *, owner: str | None = None) -> bool:
    """``True`` or ``False`` (``"False"``, 0/1 and ``None`` are refused)."""
    if not isinstance(value, bool | np.bool_):
        raise refusal(owner, name, "True or False", value)
    return bool(value)


def check_choice(name: str, value: object, options: Sequence[str], *,
                 owner: str | None = None) -> str:
    """One of ``options`` (strings)."""
    if not isinstance(value, str) or value not in options:
        raise refusal(owner, name, "one of " + ", ".join(map(repr, options)), value)
    return value


def check_text(name: str, value: object, *, owner: str | None = None,
               optional: bool = False) -> str | None:
    """A string (``optional``: ``None`` too)."""
    if not (isinstance(value, str) or (optional and value is None)):
        raise refusal(owner, name, "a string" + (" or None" if optional else ""), value)
    return value


def check_function(name: str, value: object, *, owner: str | None = None,
                   what: str = "a function") -> None:
    """Something to call."""
    if not callable(value):
        raise refusal(owner, name, what, value)


def check_generator(name: str, value: object, *, owner: str | None = None) -> None:
    """``None`` or a ``torch.Generator``."""
    if value is not None and not isinstance(value, torch.Generator):
        raise refusal(owner, name, "a torch.Generator or None", value)


def check_dtype(name: str, value: object, *, owner: str) -> torch.dtype:
    """A real floating-point ``torch.dtype`` (``torch.float32``, ``torch.float64``)."""
    if not isinstance(value, torch.dtype) or not value.is_floating_point:
        raise refusal(owner, name, "a floating-point torch.dtype such as torch.float32", value)
    return value


def check_device(name: str, value: object, *, owner: str) -> torch.device | None:
    """``None`` or a device this machine has (``"cpu"``, ``"cuda"`` with a GPU)."""
    if value is None:
        return None
    try:
        device = torch.device(value)
        torch.empty(0, device=device)
    except (RuntimeError, TypeError, ValueError, AssertionError):
        raise refusal(owner, name, "None or a device this machine has, such as 'cpu'",
                    value) from None
    return device


def as_parameter_tensor(name: str, value: float | Sequence[float] | torch.Tensor,
                        *, owner: str, ndim: int | None = None,
                        dtype: torch.dtype | None = None) -> torch.Tensor:
    """Turn ``value`` into a finite floating tensor of ``dtype`` (by default the tensor's own
    floating dtype, else torch's default), naming ``owner.name`` in every error.

    ``ndim = 0``: one number (a one-element sequence too); ``ndim = 1``: a non-empty vector."""
    allowed = {0: "a single finite number (a scalar)",
               1: "a 1-D vector of finite numbers with at least one entry"}.get(
        ndim, "finite numbers")
    if isinstance(value, bool | np.bool_) or getattr(value, "dtype", None) in (torch.bool,
                                                                               np.bool_):
        raise refusal(owner, name, allowed + " (not bools)", value)
    given = isinstance(value, torch.Tensor | np.ndarray)
    try:  # Python numbers are read by numpy (in float64), so an overflow below is seen as one
        t = torch.as_tensor(value if given else np.asarray(value)).detach().clone()
    except (TypeError, ValueError, RuntimeError, OverflowError):
        raise refusal(owner, name, allowed, value) from None
    if t.dtype == torch.bool:
        raise refusal(owner, name, allowed + " (not bools)", value)
    if t.is_complex() or not (t.is_floating_point() or t.dtype in (
            torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)):
        raise refusal(owner, name, allowed + " (real-valued)", value)
    if ndim == 0 and t.numel() == 1:
        t = t.reshape(())
    if ndim is not None and (t.ndim != ndim or (ndim == 1 and t.numel() == 0)):
        raise refusal(owner, name, allowed, value)
    check_finite(name, t, owner=owner, value=value)
    target = dtype or (t.dtype if given and t.is_floating_point() else torch.get_default_dtype())
    out = t.to(target)
    if not bool(torch.isfinite(out).all()):
        raise ValueError(f"{owner}: {name} = {shown(value)} is too large for {target} "
                         f"(largest {torch.finfo(target).max:.3g})")
    return out


def check_finite(name: str, t: torch.Tensor, *, owner: str, value: object = None) -> None:
    """Raise ``ValueError`` if ``t`` holds NaN or ±inf (``value``: what to show, if not ``t``)."""
    if not bool(torch.isfinite(t).all()):
        raise refusal(owner, name, "finite (no NaN or inf)", t if value is None else value)


def check_finite_rows(name: str, x: torch.Tensor, *, owner: str) -> None:
    """Raise ``ValueError`` naming the first row of ``x`` (N, D) that holds NaN or ±inf."""
    bad = ~torch.isfinite(x).all(dim=1)
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise ValueError(f"{owner}: {name} must be finite; row {i} of {shown(x)} is "
                         f"{x[i].tolist()} (remove or fix the non-finite rows)")


def check_broadcastable(owner: str, **tensors: torch.Tensor) -> None:
    """Raise ``ValueError`` unless the given values are floating tensors (``check_tensor``)
    that broadcast together (the inputs of an elementwise formula)."""
    for name, t in tensors.items():
        check_tensor(name, t, owner=owner)
    try:
        torch.broadcast_shapes(*(t.shape for t in tensors.values()))
    except RuntimeError:
        desc = ", ".join(f"{k} {tuple(v.shape)}" for k, v in tensors.items())
        raise ValueError(f"{owner}: {', '.join(tensors)} must have shapes that broadcast "
                         f"together; got {desc}") from None


def check_same_shape(owner: str, **tensors: torch.Tensor) -> None:
    """Raise ``ValueError`` unless all given tensors have one shape."""
    shapes = {k: tuple(v.shape) for k, v in tensors.items()}
    if len(set(shapes.values())) > 1:
        desc = ", ".join(f"{k} {s}" for k, s in shapes.items())
        raise ValueError(f"{owner}: parameters must have the same shape; got {desc}")


def check_tensor(name: str, value: object, *, owner: str) -> None:
    """A real floating-point tensor of any shape (the input of an elementwise formula)."""
    if not isinstance(value, torch.Tensor) or not value.is_floating_point():
        raise refusal(owner, name, "a floating-point torch.Tensor", value)


def check_batch(x: object, dim: int | None, *, owner: str, name: str = "x",
                like: torch.Tensor | None = None) -> None:
    """Check that ``x`` is a real floating tensor of shape (N, dim) (``dim`` ``None``: any
    width), in the dtype and on the device of ``like``."""
    shape = f"(N, {'D' if dim is None else dim})"
    if not isinstance(x, torch.Tensor):
        what = shown(x)  # with its type: "ndarray (an array of shape ...)", "list [[0.5, 1.0]]"
        what = f"{type(x).__name__} " + (f"({what})" if what.startswith(("a ", "an ")) else what)
        raise ValueError(f"{owner}: {name} must be a torch.Tensor of shape {shape}; got {what}")
    if x.ndim != 2 or (dim is not None and x.shape[1] != dim):
        raise ValueError(f"{owner}: {name} must be a batch of shape {shape}; got shape "
                         f"{tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{owner}: {name} must be a real floating-point tensor; got dtype "
                         f"{x.dtype}")
    if like is not None and (x.dtype != like.dtype or x.device != like.device):
        raise ValueError(f"{owner}: {name} is {x.dtype} on {x.device} but the parameters are "
                         f"{like.dtype} on {like.device}; convert it with "
                         f"{name}.to({like.dtype}) (or the model with .to(...))")
