"""Input and parameter validation shared by every layer (clear errors, no maths)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["as_parameter_tensor", "check_batch", "check_finite", "check_same_shape"]


def as_parameter_tensor(name: str, value: float | Sequence[float] | torch.Tensor,
                        *, owner: str, ndim: int | None = None,
                        dtype: torch.dtype | None = None) -> torch.Tensor:
    """Turn ``value`` into a finite floating tensor, naming ``owner.name`` in every error."""
    try:
        t = torch.as_tensor(value).detach().clone()
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{owner}: {name} must be a number or a sequence of numbers; "
                         f"got {value!r}") from err
    if not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64, torch.bool)):
        raise ValueError(f"{owner}: {name} must be real-valued; got dtype {t.dtype}")
    if not t.is_floating_point():
        t = t.to(dtype or torch.get_default_dtype())
    elif dtype is not None:
        t = t.to(dtype)
    if ndim is not None and t.ndim != ndim:
        shape = "a scalar" if ndim == 0 else f"a {ndim}-D tensor"
        raise ValueError(f"{owner}: {name} must be {shape}; got shape {tuple(t.shape)}")
    check_finite(name, t, owner=owner)
    return t


def check_finite(name: str, t: torch.Tensor, *, owner: str) -> None:
    """Raise ``ValueError`` if ``t`` holds NaN or ±inf."""
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{owner}: {name} must be finite; got {t.tolist()}")


def check_same_shape(owner: str, **tensors: torch.Tensor) -> None:
    """Raise ``ValueError`` unless all given tensors have one shape."""
    shapes = {k: tuple(v.shape) for k, v in tensors.items()}
    if len(set(shapes.values())) > 1:
        desc = ", ".join(f"{k} {s}" for k, s in shapes.items())
        raise ValueError(f"{owner}: parameters must have the same shape; got {desc}")


def check_batch(x: object, dim: int, *, owner: str, like: torch.Tensor | None = None) -> None:
    """Check that ``x`` is a floating tensor of shape (N, dim), on the device/dtype of ``like``."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{owner}: expected a torch.Tensor of shape (N, {dim}); "
                         f"got {type(x).__name__}")
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"{owner}: expected a batch of shape (N, {dim}); got shape "
                         f"{tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{owner}: expected a floating-point tensor; got dtype {x.dtype}")
    if like is not None and (x.dtype != like.dtype or x.device != like.device):
        raise ValueError(f"{owner}: input is {x.dtype} on {x.device} but the parameters are "
                         f"{like.dtype} on {like.device}; move one with .to(...)")
