"""nfwidgets.fast.layers: the grid inverse of every layer kind equals the reference layer's."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nfwidgets.fast import base_log_prob, inverse_where
from nfwidgets.flows import (
    AffineCoupling,
    DiagonalNormal,
    ElementwiseAffine,
    Radial,
    SimpleConditioner,
    StandardNormal,
)
from nfwidgets.grid import grid_points

F64, F32 = torch.float64, torch.float32
TOL = {F64: 1e-10, F32: 1e-5}
_f = st.floats(-3.0, 3.0)


def _compare(layer, dtype, half: float = 4.0, n: int = 60) -> None:
    layer = layer.to(dtype)
    _, _, x = grid_points(((-half, half), (-half, half)), n, dtype=dtype)
    x = torch.cat([x, layer.z0.detach()[None]]) if isinstance(layer, Radial) else x
    with torch.no_grad():
        zf, ldf, uf = inverse_where(layer, x)
        zr, ldr, ur = layer._inverse_where(x)
    assert (uf is None) == (ur is None)
    if ur is not None:
        assert torch.equal(uf, ur)
    well = torch.ones(x.shape[0], dtype=torch.bool) if ur is None else ur
    well &= ldr.abs() < 8.0  # rounding grows like 1/det near a singular point
    for a, b in ((zf, zr), (ldf, ldr)):
        a, b = a[well], b[well]
        assert float((a - b).abs().max()) <= TOL[dtype] * (1 + float(b.abs().max()))


@settings(max_examples=30)
@given(z0=st.tuples(_f, _f), alpha=st.floats(0.05, 3.0), beta=st.floats(-6.0, 6.0),
       constrain=st.booleans(), dtype=st.sampled_from([F64, F32]))
def test_radial(z0, alpha, beta, constrain, dtype):
    """Folds (β < -α unconstrained: the reference route) and the centre itself included."""
    _compare(Radial(list(z0), alpha, beta, constrain=constrain), dtype)


@settings(max_examples=30)
@given(mask=st.sampled_from([[1, 0], [0, 1]]), params=st.tuples(_f, _f, _f, _f, _f),
       scale=st.sampled_from(["exp", "tanh", "softclip", "sigmoid"]),
       dtype=st.sampled_from([F64, F32]))
def test_coupling(mask, params, scale, dtype):
    _compare(AffineCoupling(mask, SimpleConditioner(*params), scale=scale), dtype)


@settings(max_examples=20)
@given(s=st.tuples(_f, _f), t=st.tuples(_f, _f), dtype=st.sampled_from([F64, F32]))
def test_elementwise_affine(s, t, dtype):
    _compare(ElementwiseAffine(list(s), list(t)), dtype)


def test_radial_with_a_vanishing_alpha_plus_beta_hat_takes_the_guarded_route():
    layer = Radial([0.0, 0.0], alpha=3.0, beta=-103.0).to(F32)
    with torch.no_grad():
        z, _, _ = inverse_where(layer, torch.tensor([[0.0, 0.0], [3.0, 0.0]]))
    assert torch.equal(z[0], torch.zeros(2)) and torch.isfinite(z).all()


def test_with_a_gradient_the_reference_runs():
    layer = AffineCoupling([1, 0], SimpleConditioner(0.3, 0.1, 0.5, 1.0, 0.2), scale="tanh")
    x = torch.randn(20, 2, requires_grad=True)
    z, ld, _ = inverse_where(layer, x)
    zr, ldr, _ = layer._inverse_where(x)
    assert torch.equal(z, zr) and torch.equal(ld, ldr)


@pytest.mark.parametrize("base", [StandardNormal(2), StandardNormal(3),
                                  DiagonalNormal([0.5, -1.0], [0.2, -0.3])])
def test_base_log_prob(base):
    z = torch.randn(500, base.dim) * 3
    with torch.no_grad():
        got, want = base_log_prob(base, z), base.log_prob(z)
    assert torch.allclose(got, want, rtol=1e-6, atol=1e-5)
    assert math.isclose(float(base_log_prob(StandardNormal(2), torch.zeros(1, 2))),
                        -math.log(2 * math.pi), rel_tol=1e-6)


@pytest.mark.parametrize("dtype", [F64, F32])
def test_log_prob_equals_the_flow_values_and_gradients(dtype):
    """``fast.log_prob`` (maximum-likelihood training) against ``Flow.log_prob``, with an MLP
    coupling, both split directions, radial, planar and affine layers."""
    from nfwidgets.fast import log_prob
    from nfwidgets.flows import Flow, MLPConditioner, Planar

    def make():
        torch.manual_seed(0)
        layers = [AffineCoupling([1, 0], MLPConditioner(1, 1, (8,))), Planar([1.0, 0.3], [0.5, 1.0],
                  0.2), AffineCoupling([0, 1], scale="softclip"), Radial([0.3, -0.2], 0.5, 0.7),
                  ElementwiseAffine([0.1, -0.2], [0.3, 0.0])]
        for layer in layers[::2]:
            for p in layer.parameters():
                p.data.normal_(0, 0.3)
        return Flow(layers).to(dtype)

    x = torch.randn(128, 2, generator=torch.Generator().manual_seed(1), dtype=F64).to(dtype)
    flows = [make(), make()]
    got, want = log_prob(flows[0], x), flows[1].log_prob(x)
    assert float((got - want).abs().max()) <= TOL[dtype] * (1 + float(want.abs().max()))
    got.sum().backward()
    want.sum().backward()
    # (each gradient sums 128 points' terms, and their rounding errors with them)
    for p, q in zip(flows[0].parameters(), flows[1].parameters(), strict=True):
        assert float((p.grad - q.grad).abs().max()) <= 10 * TOL[dtype] * (
            1 + float(q.grad.abs().max()))


def test_log_prob_raises_like_the_flow():
    from nfwidgets.fast import log_prob
    from nfwidgets.flows import Flow, NotInvertibleError, Planar

    flow = Flow([Planar([1.0, 0.0], [-3.0, 0.0], 0.0, constrain=False)])
    with pytest.raises(NotInvertibleError, match="layer 0"):
        log_prob(flow, torch.zeros(3, 2))
