"""Tests for nfwidgets.flows.affine: the elementwise affine (diagonal scaling) layer."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import assert_rejects_bad_batches
from hypothesis import given
from hypothesis import strategies as st

from nfwidgets.flows import ElementwiseAffine, Flow

F64 = torch.float64

_value = st.floats(-3.0, 3.0)


def _vectors(dim: int):
    return st.tuples(*([_value] * dim))


def _batch(dim: int, dtype=F64, n: int = 64, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.cat([torch.rand(n, dim, generator=g, dtype=F64) * 10 - 5,
                      torch.zeros(1, dim, dtype=F64)]).to(dtype)


def _layer(log_scale, shift, dtype=F64) -> ElementwiseAffine:
    return ElementwiseAffine(torch.tensor(log_scale, dtype=dtype),
                             torch.tensor(shift, dtype=dtype))


@pytest.mark.parametrize("dim", [1, 2, 3])
@given(data=st.data())
def test_contract_float64(check_layer_contract, dim, data):
    log_scale = data.draw(_vectors(dim))
    shift = data.draw(_vectors(dim))
    layer = _layer(log_scale, shift)
    check_layer_contract(layer, _batch(dim), round_trip_tol=1e-6)


@given(log_scale=_vectors(2), shift=_vectors(2))
def test_contract_float32(check_layer_contract, log_scale, shift):
    layer = _layer(log_scale, shift, dtype=torch.float32)
    check_layer_contract(layer, _batch(2, dtype=torch.float32), round_trip_tol=1e-4,
                         det_floor=1e-2)


@given(log_scale=_vectors(2), shift=_vectors(2))
def test_matches_formula(log_scale, shift):
    """x = z ⊙ exp(s) + t, log|det J| = Σ s, z = (x - t) ⊙ exp(-s)."""
    layer = _layer(log_scale, shift)
    z = _batch(2)
    s = torch.tensor(log_scale, dtype=F64)
    t = torch.tensor(shift, dtype=F64)
    with torch.no_grad():
        x, ld = layer(z)
        z_back, ld_inv = layer.inverse(x)
        z_where, ld_where, unique = layer.inverse_where(x)
    assert torch.allclose(x, z * torch.exp(s) + t, rtol=1e-14, atol=1e-14)
    assert torch.allclose(ld, torch.full_like(ld, sum(log_scale)), atol=1e-14)
    assert torch.allclose(ld_inv, torch.full_like(ld, -sum(log_scale)), atol=1e-14)
    assert torch.equal(z_where, z_back) and torch.equal(ld_where, ld_inv)
    assert unique.dtype == torch.bool and bool(unique.all())
    assert layer.why_not_invertible() is None


@pytest.mark.parametrize("method", ["forward", "inverse"])
def test_log_det_is_an_ordinary_batch_tensor(method):
    """Regression (fixed in 6cbc5ae; was log_scale.sum().expand(N), a stride-0 view on which
    in-place updates raise). Like every other layer's, the log-det is a fresh (N,) tensor a
    caller may update in place (e.g. ``ld += other_ld`` in a hand-written loop over layers)."""
    layer = _layer([0.5, -0.25], [1.0, 2.0])
    with torch.no_grad():
        _, ld = getattr(layer, method)(torch.zeros(5, 2, dtype=F64))
        assert ld.shape == (5,)
        ld += torch.arange(5, dtype=F64)
    sign = 1.0 if method == "forward" else -1.0
    assert torch.allclose(ld, sign * 0.25 + torch.arange(5, dtype=F64))


def test_gradients():
    layer = _layer([0.5, -0.25], [1.0, 2.0])
    x = _batch(2)
    loss = -Flow([layer]).log_prob(x).mean()
    loss.backward()
    # d/ds of -mean log N((x - t) e^{-s}) - Σ s, and d/dt, in closed form.
    with torch.no_grad():
        s = layer.log_scale
        e = (x - layer.shift) * torch.exp(-s)
        grad_s = (-(e * e)).mean(0) + 1.0
        grad_t = (-e * torch.exp(-s)).mean(0)
    assert torch.allclose(layer.log_scale.grad, grad_s, atol=1e-12)
    assert torch.allclose(layer.shift.grad, grad_t, atol=1e-12)


@pytest.mark.parametrize("name", ["log_scale", "shift"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_parameters_rejected(name, bad):
    kwargs = {"log_scale": [0.1, 0.2], "shift": [0.3, 0.4]}
    kwargs[name] = [kwargs[name][0], bad]
    with pytest.raises(ValueError, match=rf"ElementwiseAffine: {name} must be finite") as info:
        ElementwiseAffine(**kwargs)
    assert str(bad) in str(info.value)


def test_bad_parameter_shapes_rejected():
    with pytest.raises(ValueError, match=r"same shape.*log_scale \(2,\).*shift \(3,\)"):
        ElementwiseAffine([0.0, 0.0], [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"log_scale must be a 1-D vector of finite numbers"):
        ElementwiseAffine(0.0, 0.0)
    with pytest.raises(ValueError, match=r"at least one entry"):
        ElementwiseAffine([], [])


@pytest.mark.parametrize("method", ["forward", "inverse", "inverse_where"])
def test_bad_input_rejected(method):
    layer = _layer([0.1, 0.2], [0.3, 0.4])
    call = getattr(layer, method)
    assert_rejects_bad_batches(call, 3, 1.0, torch.int64)
