r"""The view model of ``LayerComparison``: a learner's layer next to the engine's, on one grid.

Given the learner's function and the reference layer ``f`` (an ``nfwidgets.flows`` layer, base
→ data), ``ComparisonView.compute`` evaluates on the cell centres ``x`` of an n×n grid of the
data plane (``nfwidgets.grid.grid_points``) the density each of them gives ``x`` and the
log-determinant each of them has there, with the change of variables (Rezende & Mohamed 2015,
eq. 5; Papamakarios et al. 2021, eq. 2)

.. math:: \ln p(x) = \ln p_z(z) - \ln|\det \partial f/\partial z|\,(z), \qquad z = f^{-1}(x).

- **direction "forward"**: the learner wrote ``fn(z) -> (x, log_det)``, ``log_det =
  ln|det ∂x/∂z|``. A forward map cannot be inverted on a grid in general, so both densities
  use the reference's exact preimage ``z = f⁻¹(x)`` (``Layer.inverse_where``): the reference's
  ``ln p_z(z) - ℓ_f(z)`` and the learner's ``ln p_z(z) - ℓ_fn(z)``, each log-det from its own
  forward map at that ``z``. This is the density of the learner's map exactly when its map is
  the reference's (``fn(z) = f(z)``); the map's own error ``‖fn(z) - f(z)‖`` is measured too
  (``map_error``), so a right log-det on a wrong map is not taken for a right layer.
- **direction "inverse"**: the learner wrote ``fn(x) -> (z, log_det)``, ``log_det =
  ln|det ∂z/∂x|``. Then the learner's density is entirely its own, ``ln p_z(fn(x)) +
  log_det``, and the reference's is ``ln p_z(f⁻¹(x)) + ln|det ∂f⁻¹/∂x|``; ``map_error`` is
  ``‖fn(x) - f⁻¹(x)‖``. The log-det maps show the forward ``ln|det ∂f/∂z|`` at the preimage
  (minus the inverse's), as the explorers do.

Both sides go through the same arithmetic, so a learner's function equal to the reference
gives differences of exactly 0. A learner's function that raises, returns the wrong kind or
shape of answer, or NaN/±inf, never reaches the arrays: ``ComparisonFrame.message`` says what
happened, and the cells it concerns are masked (all of them when nothing usable came back).
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ._checks import check_choice, check_count
from .flows.base import Layer, StandardNormal
from .grid import LOG_DENSITY_FLOOR, LOG_DET_LIMIT, Bounds, check_bounds, grid_points

__all__ = ["DIRECTIONS", "ComparisonFrame", "ComparisonView", "check_student"]

#: What the learner's function computes: the forward map z → x or the inverse map x → z.
DIRECTIONS = ("forward", "inverse")
#: Top of the log-density range shown (as ``grid.density_grid``'s default ``log_ceiling``).
LOG_CEILING = 20.0
_BASE = StandardNormal(2).to(torch.float64)


@dataclass(frozen=True)
class ComparisonFrame:
    """One comparison on the grid (float32 arrays (n, n), rows = y, columns = x, all finite).

    Attributes:
        xs, ys: cell centres, shape (n,).
        reference_density, student_density: p(x) of the reference and of the learner's layer.
        density_difference: learner − reference.
        reference_log_det, student_log_det: ln|det ∂f/∂z| at the preimage of each x (clipped to
            ±``grid.LOG_DET_LIMIT``); ``log_det_difference``: learner − reference.
        mask: cells where the learner's values are not shown (its function failed there, or
            the reference has several preimages); the learner's arrays and the differences
            hold 0 there.
        max_density_error, max_log_det_error, max_map_error: the largest |difference| over the
            unmasked cells (``map_error``: the distance between the learner's and the
            reference's image, see the module docstring); ``None`` when no cell is usable.
        message: what went wrong with the learner's function (plain text), or ``None``.
        compute_ms: time taken.
    """

    xs: np.ndarray
    ys: np.ndarray
    reference_density: np.ndarray
    student_density: np.ndarray
    density_difference: np.ndarray
    reference_log_det: np.ndarray
    student_log_det: np.ndarray
    log_det_difference: np.ndarray
    mask: np.ndarray
    max_density_error: float | None
    max_log_det_error: float | None
    max_map_error: float | None
    message: str | None
    compute_ms: float

    @property
    def resolution(self) -> int:
        return int(self.xs.shape[0])


class StudentFailed(Exception):
    """The learner's function gave nothing usable; the text says why (plain text)."""


def _quietly(fn: Callable, arg: Tensor) -> object:
    """``fn(arg)`` without gradients, warnings or output (a notebook cell graded by nbgrader
    must not write to stderr)."""
    with warnings.catch_warnings(), torch.no_grad(), \
            contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return fn(arg)


def _as_array(value: object, what: str, shape: tuple[int, ...]) -> Tensor:
    """The learner's ``value`` as a float64 tensor of ``shape`` (a (N, 1) log-det is accepted
    as (N,)), or ``StudentFailed`` naming what is wrong."""
    if not isinstance(value, Tensor):
        if not (type(value).__module__ == "numpy" and hasattr(value, "shape")):
            raise StudentFailed(f"{what} should be a tensor of shape {shape}; got "
                                f"{type(value).__name__}")
        value = torch.from_numpy(np.asarray(value))
    t = value.detach()
    if t.is_complex() or not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64)):
        raise StudentFailed(f"{what} should hold real numbers; got dtype {t.dtype}")
    if len(shape) == 1 and tuple(t.shape) == (shape[0], 1):
        t = t[:, 0]
    if tuple(t.shape) != shape:
        hint = (" (one number for the whole batch: sum over the coordinates of each point, "
                "not over the points)" if t.numel() == 1 and shape[0] > 1 else "")
        raise StudentFailed(f"{what} should have shape {shape}, one per grid point; got "
                            f"shape {tuple(t.shape)}{hint}")
    return t.to("cpu", torch.float64)


def _numpy(t: Tensor, n: int) -> np.ndarray:
    return np.ascontiguousarray(t.reshape(n, n).to(torch.float32).numpy())


def _max_abs(t: Tensor, ok: Tensor) -> float | None:
    return float(t[ok].abs().max()) if bool(ok.any()) else None


def check_student(student: object) -> None:
    """Raise ``ValueError`` unless ``student`` is a function (what it returns is judged in the
    pictures, ``StudentFailed``)."""
    if not callable(student) or isinstance(student, type):
        raise ValueError(f"student must be your function (a callable); got "
                         f"{type(student).__name__}: {student!r:.80}")


class ComparisonView:
    """Compares a learner's layer function with a reference layer on a grid (see the module
    docstring for the maths).

    Arguments:
        reference: the engine's layer (2-D, invertible: ``inverse_where`` gives the preimage).
        student: the learner's function, ``fn(z) -> (x, log_det)`` (``direction="forward"``)
            or ``fn(x) -> (z, log_det)`` (``"inverse"``); it gets a tensor (N, 2) in the
            reference's dtype and may return tensors or NumPy arrays.
        direction: one of ``DIRECTIONS``.
        bounds: the data-space view ``((x_min, x_max), (y_min, y_max))``.
        resolution: grid cells per side.
    """

    def __init__(self, reference: Layer, student: Callable, direction: str = "forward",
                 bounds: Bounds = ((-4.0, 4.0), (-4.0, 4.0)), resolution: int = 120) -> None:
        if not isinstance(reference, Layer) or reference.dim != 2:
            raise ValueError(f"ComparisonView: reference must be a 2-D nfwidgets layer; got "
                             f"{reference!r:.80}")
        check_student(student)
        self.reference = reference
        self.student = student
        self.direction = check_choice("direction", direction, DIRECTIONS)
        self.bounds = check_bounds(bounds)
        self.resolution = check_count("resolution", resolution, lo=8, hi=512)

    def _reference_dtype(self) -> torch.dtype:
        return self.reference._reference().dtype

    def _student(self, points: Tensor) -> tuple[Tensor, Tensor]:
        """The learner's ``(image, log_det)`` on ``points`` as float64 tensors, or
        ``StudentFailed``."""
        fn = self.student
        if not callable(fn):
            raise StudentFailed(f"expected a function; got {type(fn).__name__}")
        try:
            out = _quietly(fn, points)
        except NotImplementedError:
            raise StudentFailed("the function is not written yet (it raises "
                                "NotImplementedError)") from None
        except Exception as err:  # any error in learner code is a message, never a crash
            raise StudentFailed(f"the function raised {type(err).__name__}: {err}") from None
        names = ("x", "log_det") if self.direction == "forward" else ("z", "log_det")
        if not isinstance(out, tuple | list) or len(out) != 2:
            raise StudentFailed(f"the function should return a pair ({', '.join(names)}); got "
                                f"{type(out).__name__}")
        n = points.shape[0]
        return (_as_array(out[0], names[0], (n, 2)), _as_array(out[1], names[1], (n,)))

    @torch.no_grad()
    def compute(self, resolution: int | None = None) -> ComparisonFrame:
        """Evaluate both layers on the grid (``resolution`` cells per side; default the
        view's)."""
        start = time.perf_counter()
        n = self.resolution if resolution is None else resolution
        dtype = self._reference_dtype()
        xs, ys, x = grid_points(self.bounds, n, dtype=dtype)
        z, inv_log_det, unique = self.reference.inverse_where(x)
        if self.direction == "forward":  # both sides evaluate their forward map at z
            x_ref, fwd_ref = (t.to(torch.float64) for t in self.reference(z))
        else:
            fwd_ref = -inv_log_det.to(torch.float64)
        z_ref = z.to(torch.float64)
        base = _BASE.log_prob  # the base of every layer: N(0, I)
        ref_logp = base(z_ref) - fwd_ref
        message = None
        try:
            if self.direction == "forward":
                image, fwd_student = self._student(z)
                student_logp = base(z_ref) - fwd_student
                map_error = torch.linalg.vector_norm(image - x_ref, dim=-1)
            else:
                z_student, inv_student = self._student(x)
                fwd_student = -inv_student
                student_logp = base(z_student) + inv_student
                map_error = torch.linalg.vector_norm(z_student - z_ref, dim=-1)
        except StudentFailed as failed:
            message = str(failed)
            fwd_student = student_logp = map_error = torch.zeros_like(ref_logp)
            ok = torch.zeros_like(unique)
        else:
            ok = unique & torch.isfinite(student_logp) & torch.isfinite(fwd_student) \
                & torch.isfinite(map_error)
            bad = int((unique & ~ok).sum())
            if bad:
                message = (f"the function returned NaN or ±inf at {bad} of {n * n} grid points "
                           "(grey)")
        clip_p = _clipped_log_density
        ref_density, student_density = clip_p(ref_logp).exp(), clip_p(student_logp).exp()
        ref_ld, student_ld = _clipped_log_det(fwd_ref), _clipped_log_det(fwd_student)
        zero = torch.zeros_like(ref_logp)
        ref_density = torch.where(unique, ref_density, zero)
        student_density = torch.where(ok, student_density, zero)
        student_ld = torch.where(ok, student_ld, zero)
        d_density = torch.where(ok, student_density - ref_density, zero)
        d_log_det = torch.where(ok, student_ld - ref_ld, zero)
        map_error = torch.where(ok, map_error, zero)
        return ComparisonFrame(
            xs=np.ascontiguousarray(xs.to(torch.float32).numpy()),
            ys=np.ascontiguousarray(ys.to(torch.float32).numpy()),
            reference_density=_numpy(ref_density, n), student_density=_numpy(student_density, n),
            density_difference=_numpy(d_density, n), reference_log_det=_numpy(ref_ld, n),
            student_log_det=_numpy(student_ld, n), log_det_difference=_numpy(d_log_det, n),
            mask=np.ascontiguousarray((~ok).reshape(n, n).numpy()),
            max_density_error=_max_abs(d_density, ok), max_log_det_error=_max_abs(d_log_det, ok),
            max_map_error=_max_abs(map_error, ok), message=message,
            compute_ms=(time.perf_counter() - start) * 1e3)


def _clipped_log_density(logp: Tensor) -> Tensor:
    """As ``grid.density_grid`` shows it: within [LOG_DENSITY_FLOOR, LOG_CEILING], non-finite
    values (masked anyway) at the floor."""
    return torch.nan_to_num(logp, nan=LOG_DENSITY_FLOOR, posinf=LOG_CEILING,
                            neginf=LOG_DENSITY_FLOOR).clamp(LOG_DENSITY_FLOOR, LOG_CEILING)


def _clipped_log_det(log_det: Tensor) -> Tensor:
    """Within ±LOG_DET_LIMIT (as ``grid``), non-finite values (masked anyway) at 0."""
    return torch.nan_to_num(log_det, nan=0.0, posinf=LOG_DET_LIMIT,
                            neginf=-LOG_DET_LIMIT).clamp(-LOG_DET_LIMIT, LOG_DET_LIMIT)
