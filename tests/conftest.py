"""Shared test configuration: hypothesis profiles and a generic flow-layer contract check.

Profiles (choose with ``HYPOTHESIS_PROFILE=<name>``): ``dev`` (default, fast), ``thorough``.
"""

from __future__ import annotations

import os
from typing import ClassVar

import pytest
import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# The default profile is derandomized: the test command (and CI) sees the same examples on
# every run; HYPOTHESIS_PROFILE=thorough explores 10x more, randomly.
settings.register_profile(
    "dev", max_examples=50, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "thorough", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def _batched_jacobian(fn, z: torch.Tensor) -> torch.Tensor:
    """Per-point Jacobians (N, D, D) of a row-wise map ``fn`` (N, D) -> (N, D), by autograd."""
    jac = torch.autograd.functional.jacobian(lambda v: fn(v).sum(0), z)  # (D, N, D)
    return jac.permute(1, 0, 2)


def _check_layer_contract(layer, z: torch.Tensor, *, round_trip_tol: float = 1e-6,
                          det_floor: float = 0.0, positive_det: bool = True
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Assert the ``Layer`` contract on base points ``z`` (N, D); return ``(x, log_det)``.

    Checks: shapes (N, D)/(N,) and dtype preserved; ``log_det`` equals autograd's
    ``slogdet`` of ∂x/∂z; ``inverse(forward(z))`` recovers ``z`` to ``round_trip_tol`` (max-abs,
    over the whole batch at once) at points where ``|det| > det_floor`` (the inverse of a map with
    a near-singular Jacobian is ill-conditioned, however exact the algorithm); the inverse log-det
    is minus the forward one; ``forward(inverse(x))`` reproduces ``x`` (the solve's residual)
    everywhere; the inverse log-det equals autograd's ``slogdet`` of ∂z/∂x; with ``positive_det``
    the Jacobian determinant is positive (the map preserves orientation).
    """
    n, d = z.shape
    dtype = z.dtype
    with torch.no_grad():
        x, log_det = layer(z)
    assert x.shape == (n, d) and log_det.shape == (n,)
    assert x.dtype == dtype and log_det.dtype == dtype
    assert torch.isfinite(x).all() and torch.isfinite(log_det).all()

    fine = dtype == torch.float64
    jac = _batched_jacobian(lambda v: layer(v)[0], z)
    sign, ref = torch.linalg.slogdet(jac)
    det_ref = torch.exp(ref)
    # Everywhere: |det| in linear space, to the rounding error of det J (~ eps ‖J‖_F²).
    scale = 1.0 + (jac * jac).sum((-2, -1))
    det_err = (torch.exp(log_det) - det_ref).abs() / scale
    assert float(det_err.max()) <= (1e-10 if fine else 1e-5), (log_det, ref)
    # Where det J is not tiny: log|det| itself.
    well = det_ref > max(det_floor, 1e-6 if fine else 1e-2)
    if positive_det:  # an orientation-preserving layer (all of planar/radial/coupling/affine)
        assert (sign[well] > 0).all()
    assert torch.allclose(log_det[well], ref[well], rtol=0.0, atol=1e-7 if fine else 1e-3)

    with torch.no_grad():
        z_back, inv_log_det = layer.inverse(x)
    assert z_back.shape == (n, d) and inv_log_det.shape == (n,)
    assert z_back.dtype == dtype and inv_log_det.dtype == dtype
    keep = det_ref > det_floor
    err = (z_back - z).abs().amax(-1)
    assert bool((err[keep] <= round_trip_tol).all()), float(err[keep].max())
    # At the recovered point the inverse log-det is minus the forward one.
    with torch.no_grad():
        x_again, ld_again = layer(z_back)
    x_scale = 1.0 + x.abs().amax(-1)
    assert bool(((x_again - x).abs().amax(-1) <= (1e-10 if fine else 1e-4) * x_scale).all())
    back = torch.exp(ld_again) > det_floor  # log|det| is hypersensitive where det ≈ 0
    assert torch.allclose(inv_log_det[back], -ld_again[back], rtol=0.0,
                          atol=1e-9 if fine else 1e-4)
    assert torch.allclose(inv_log_det[keep], -log_det[keep], rtol=0.0,
                          atol=1e-7 if fine else 1e-3)

    # The inverse's log-det against autograd through the inverse (exercises any implicit
    # gradient used by an iterative inverse).
    jac_inv = _batched_jacobian(lambda v: layer.inverse(v)[0], x[keep & well])
    sign_inv, ref_inv = torch.linalg.slogdet(jac_inv)
    if positive_det:
        assert (sign_inv > 0).all()
    assert torch.allclose(inv_log_det[keep & well], ref_inv, rtol=0.0,
                          atol=1e-6 if fine else 1e-2)
    return x, log_det


@pytest.fixture(scope="session")
def check_layer_contract():
    """The function :func:`_check_layer_contract` (session-scoped: safe under hypothesis)."""
    return _check_layer_contract


@pytest.fixture(scope="session")
def batched_jacobian():
    """The function :func:`_batched_jacobian`."""
    return _batched_jacobian


def assert_rejects_bad_batches(call, n: int = 5, non_tensor: object = ((0.0, 0.0),),
                               int_dtype: torch.dtype = torch.int64) -> None:
    """``call`` (a float64 layer's or flow's method on 2-D batches) raises ValueError naming the
    bad shape, type, dtype or dtype mismatch, and what is allowed."""
    with pytest.raises(ValueError, match=rf"shape \(N, 2\); got shape \({n},\)"):
        call(torch.zeros(n, dtype=torch.float64))
    with pytest.raises(ValueError, match=rf"shape \(N, 2\); got shape \({n}, 3\)"):
        call(torch.zeros(n, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=rf"torch.Tensor of shape \(N, 2\); got "
                                         rf"{type(non_tensor).__name__}"):
        call(non_tensor)
    with pytest.raises(ValueError, match=rf"floating-point tensor; got dtype {int_dtype}"):
        call(torch.zeros(n, 2, dtype=int_dtype))
    with pytest.raises(ValueError, match=r"torch.float32 .*parameters are torch.float64"):
        call(torch.zeros(n, 2, dtype=torch.float32))


#: SimpleConditioner parameters over the CouplingExplorer's slider ranges.
simple_conditioner_params = st.fixed_dictionaries({
    "s_slope": st.floats(-2.0, 2.0),
    "s_shift": st.floats(-2.0, 2.0),
    "t_amplitude": st.floats(-3.0, 3.0),
    "t_frequency": st.floats(0.0, 4.0),
    "t_shift": st.floats(-2.0, 2.0),
})


@pytest.fixture
def png_pixels():
    """``png_pixels(png_bytes)`` → (H, W, 3) uint8 array (``helpers.png_pixels``)."""
    from helpers import png_pixels

    return png_pixels


class _RecordingComm:
    """Stands in for a kernel comm and records what a widget sends: ``(method, comm id, state
    keys)`` per message (the dummy-comm idea of ipywidgets' own tests)."""

    log: ClassVar[list[tuple[str, str, tuple[str, ...]]]] = []

    def __init__(self, **kwargs: object) -> None:
        self.comm_id = f"c{len(_RecordingComm.log)}-{id(self)}"
        self.kernel = "Truthy"
        _RecordingComm.log.append(("open", self.comm_id, ()))

    def open(self, *args: object, **kwargs: object) -> None:
        pass

    def on_msg(self, *args: object, **kwargs: object) -> None:
        pass

    def send(self, data: dict | None = None, buffers: object = None, **kwargs: object) -> None:
        data = data or {}
        keys = tuple(sorted(data.get("state", {})))
        _RecordingComm.log.append((data.get("method", "?"), self.comm_id, keys))

    def close(self, *args: object, **kwargs: object) -> None:
        _RecordingComm.log.append(("close", self.comm_id, ()))


@pytest.fixture
def comm_log(monkeypatch: pytest.MonkeyPatch) -> list:
    import ipywidgets.widgets.widget as widget_module

    monkeypatch.setattr(widget_module.comm, "create_comm",
                        lambda *a, **k: _RecordingComm(**k))
    _RecordingComm.log = []
    return _RecordingComm.log


def assert_mark_arrays_finite(mark: object, label: str) -> None:
    """Every float array a bqplot mark plots is finite. A NaN is allowed only in a
    ``plots.Polylines`` mark (filled by ``plots.set_lines``), as a gap between two non-empty
    lines, in x and y alike."""
    import numpy as np
    from helpers import split_rows

    from nfwidgets.plots import Polylines

    if isinstance(mark, Polylines):
        for k, (x, y) in enumerate(split_rows(mark.x, mark.y)):
            assert x.size, f"{label}: line {k} of a Polylines mark is empty (a stray gap)"
            assert np.isfinite(x).all() and np.isfinite(y).all(), f"{label}: line {k}"
        return
    for trait in ("x", "y", "color"):
        value = getattr(mark, trait, None)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            assert np.isfinite(value).all(), f"{label}: {type(mark).__name__}.{trait}"
