"""Tests for nfwidgets.flows.compose: Flow, a stack of layers on a base distribution."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import assert_rejects_bad_batches
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from nfwidgets.flows import (
    SCALE_RULES,
    AffineCoupling,
    DiagonalNormal,
    ElementwiseAffine,
    Flow,
    NotInvertibleError,
    Planar,
    Radial,
    SimpleConditioner,
    StandardNormal,
)

F64 = torch.float64


def _u(g: torch.Generator, lo: float, hi: float, *shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=g, dtype=F64) * (hi - lo) + lo


def _mixed_layers(seed: int) -> list:
    """A random planar + radial + coupling + elementwise-affine stack (float64), with moderate
    parameters so that nearly all of the density stays inside [-10, 10]²."""
    g = torch.Generator().manual_seed(seed)
    rule = SCALE_RULES[seed % len(SCALE_RULES)]

    def simple():
        return SimpleConditioner(*_u(g, -0.4, 0.4, 2).tolist(), *_u(g, -1.0, 1.0, 1).tolist(),
                                 *_u(g, 0.0, 2.0, 1).tolist(), *_u(g, -0.5, 0.5, 1).tolist())

    return [
        ElementwiseAffine(_u(g, -0.3, 0.3, 2), _u(g, -0.5, 0.5, 2)),
        Planar(_u(g, -2, 2, 2), _u(g, -1.5, 1.5, 2), _u(g, -1, 1, 1)),
        Radial(_u(g, -1, 1, 2), _u(g, 0.2, 2.0, 1), _u(g, -2, 2, 1)),
        AffineCoupling([1, 0], simple(), scale=rule).double(),
        AffineCoupling([0, 1], simple(), scale=rule).double(),
        Planar(_u(g, -2, 2, 2), _u(g, -1.5, 1.5, 2), _u(g, -1, 1, 1)),
        ElementwiseAffine(_u(g, -0.3, 0.3, 2), _u(g, -0.5, 0.5, 2)),
    ]


def _mixed_flow(seed: int) -> Flow:
    return Flow(_mixed_layers(seed))


def _points(seed: int, n: int = 64) -> torch.Tensor:
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=F64) * 2.5


# --------------------------------------------------------------------------------------------
# Density
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_log_prob_is_base_log_prob_plus_inverse_log_det(seed):
    flow = _mixed_flow(seed)
    x = _points(seed)
    with torch.no_grad():
        z, total = x, torch.zeros(x.shape[0], dtype=F64)
        for layer in reversed(flow.layers):
            z, ld = layer.inverse(z)
            total = total + ld
        expected = flow.base.log_prob(z) + total
        assert torch.allclose(flow.log_prob(x), expected, rtol=1e-12, atol=1e-12)
        z_flow, ld_flow = flow.inverse(x)
        assert torch.allclose(z_flow, z, atol=1e-12) and torch.allclose(ld_flow, total, atol=1e-12)
        # Against the forward direction: log p(f(z)) = log p_z(z) - log|det J_f(z)|.
        z0 = _points(seed + 100)
        x0, ld0 = flow(z0)
        assert torch.allclose(flow.log_prob(x0), flow.base.log_prob(z0) - ld0, atol=1e-8)
    # The base is N(0, I): log p_z(z) = -½‖z‖² - ln 2π.
    assert torch.allclose(flow.base.log_prob(z), -0.5 * (z * z).sum(-1) - math.log(2 * math.pi))


@pytest.mark.parametrize("seed", range(4))
def test_density_integrates_to_one(seed):
    """Midpoint rule on [-10, 10]² with 600² cells, float64: total mass 1 ± 1%."""
    flow = _mixed_flow(seed)
    n, half = 600, 10.0
    h = 2 * half / n
    c = torch.linspace(-half + h / 2, half - h / 2, n, dtype=F64)
    grid = torch.stack(torch.meshgrid(c, c, indexing="ij"), -1).reshape(-1, 2)
    with torch.no_grad():
        lp = flow.log_prob(grid)
        # The box holds (almost) all of the mass: check it with samples, so the test is sharp.
        inside = (flow.sample(20000, torch.Generator().manual_seed(seed)).abs() < half - 1)
    assert torch.isfinite(lp).all()
    assert float(inside.all(-1).double().mean()) > 0.999
    mass = float(torch.exp(lp).sum() * h * h)
    assert abs(mass - 1.0) < 0.01, mass


def test_density_integrates_to_one_with_diagonal_base():
    layers = _mixed_layers(7)
    flow = Flow(layers, base=DiagonalNormal([0.3, -0.2], [-0.2, 0.1]).double())
    n, half = 400, 10.0
    h = 2 * half / n
    c = torch.linspace(-half + h / 2, half - h / 2, n, dtype=F64)
    grid = torch.stack(torch.meshgrid(c, c, indexing="ij"), -1).reshape(-1, 2)
    with torch.no_grad():
        mass = float(torch.exp(flow.log_prob(grid)).sum() * h * h)
    assert abs(mass - 1.0) < 0.01, mass


@pytest.mark.parametrize("seed", range(3))
def test_sample_and_log_prob_agrees_with_log_prob(seed):
    flow = _mixed_flow(seed)
    with torch.no_grad():
        x, lp = flow.sample_and_log_prob(500, generator=torch.Generator().manual_seed(seed))
        x2 = flow.sample(500, generator=torch.Generator().manual_seed(seed))
        assert x.shape == (500, 2) and lp.shape == (500,)
        assert x.dtype == lp.dtype == F64
        assert torch.equal(x, x2)  # same generator seed, same samples
        assert torch.allclose(flow.log_prob(x), lp, rtol=1e-9, atol=1e-8)


# --------------------------------------------------------------------------------------------
# trace and truncated
# --------------------------------------------------------------------------------------------


def test_trace_and_truncated():
    flow = _mixed_flow(1)
    z = _points(3)
    with torch.no_grad():
        steps = flow.trace(z)
        x, ld = flow(z)
        assert len(steps) == len(flow) + 1
        assert torch.equal(steps[0][0], z)
        assert torch.equal(steps[0][1], torch.zeros(z.shape[0], dtype=F64))
        assert torch.allclose(steps[-1][0], x, atol=1e-14)
        assert torch.allclose(steps[-1][1], ld, atol=1e-14)
        for k, (zk, ldk) in enumerate(steps):
            part = flow.truncated(k)
            assert len(part) == k
            xk, ld_k = part(z)
            assert torch.allclose(xk, zk, atol=1e-14) and torch.allclose(ld_k, ldk, atol=1e-14)
            # "Density after layer k" at z_k equals the truncated flow's log_prob there.
            assert torch.allclose(part.log_prob(zk), flow.base.log_prob(z) - ldk, atol=1e-8)
            if k:  # the layer-k step really moves points
                assert not torch.allclose(zk, steps[k - 1][0])
    # truncated(0) is the base itself; truncated shares parameters with the flow.
    assert torch.allclose(flow.truncated(0).log_prob(z), flow.base.log_prob(z))
    part = flow.truncated(1)
    with torch.no_grad():
        flow.layers[0].shift.add_(1.0)
        assert torch.allclose(part(z)[0], flow.layers[0](z)[0])
    assert part.base is flow.base


@pytest.mark.parametrize("k", [-1, 8, 1.5, "1", None])
def test_truncated_bad_k(k):
    flow = _mixed_flow(0)
    with pytest.raises(ValueError, match=r"k must be an integer in \[0, 7\]; got"):
        flow.truncated(k)


# --------------------------------------------------------------------------------------------
# Construction and input errors
# --------------------------------------------------------------------------------------------


def test_mismatched_dimensions_rejected():
    with pytest.raises(ValueError, match=r"one dimension.*Planar: 2.*Radial: 3"):
        Flow([Planar([1.0, 0.0], [0.0, 1.0]), Radial([0.0, 0.0, 0.0])])
    with pytest.raises(ValueError, match=r"one dimension.*ElementwiseAffine: 2.*base: 3"):
        Flow([ElementwiseAffine([0.0, 0.0], [0.0, 0.0])], base=StandardNormal(3))


def test_bad_construction_rejected():
    with pytest.raises(ValueError, match=r"at least one layer in layers, or a base"):
        Flow()
    with pytest.raises(ValueError, match=r"layers must be a list of flow layers .*; "
                                         r"layers\[1\] is a Linear module"):
        Flow([Planar([1.0, 0.0], [0.0, 1.0]), nn.Linear(2, 2)])
    with pytest.raises(ValueError,
                       match=r"base must be None or a distribution module .*; got a Linear module"):
        Flow([Planar([1.0, 0.0], [0.0, 1.0])], base=nn.Linear(2, 2))


def test_base_only_flow_is_the_base():
    flow = Flow(base=StandardNormal(3))
    assert flow.dim == 3 and len(flow) == 0
    x = torch.randn(10, 3)
    assert torch.allclose(flow.log_prob(x), flow.base.log_prob(x))
    assert flow.sample(4).shape == (4, 3)


@pytest.mark.parametrize("n", [0, -1, 2.5, True, "3", None])
def test_sample_bad_n(n):
    flow = _mixed_flow(0)
    with pytest.raises(ValueError, match=r"n must be a positive integer ≤ 10000000; got") as info:
        flow.sample(n)
    assert repr(n) in str(info.value)
    with pytest.raises(ValueError, match=r"n must be a positive integer ≤ 10000000"):
        flow.sample_and_log_prob(n)


@pytest.mark.parametrize("method", ["forward", "inverse", "inverse_where", "log_prob", "trace"])
def test_bad_input_rejected(method):
    flow = _mixed_flow(0)
    call = getattr(flow, method)
    assert_rejects_bad_batches(call, 5, [[0.0, 0.0]], torch.int64)


# --------------------------------------------------------------------------------------------
# dtype
# --------------------------------------------------------------------------------------------


def test_double_works_end_to_end():
    g = torch.Generator().manual_seed(0)
    flow = Flow([
        Planar([1.0, -0.5], [0.3, 0.8], 0.2),
        Radial([0.5, 0.5], 1.0, 0.4),
        AffineCoupling([1, 0], SimpleConditioner(0.3, 0.1, 0.5, 1.0, 0.0)),
        AffineCoupling([0, 1]),
        ElementwiseAffine([0.1, -0.1], [0.0, 0.2]),
    ])
    assert flow.sample(3).dtype == torch.float32
    flow = flow.double()
    x = flow.sample(50, generator=g)
    assert x.dtype == F64
    for out in (*flow(x), *flow.inverse(x), *flow.inverse_where(x)[:2], flow.log_prob(x),
                *flow.sample_and_log_prob(5), *flow.trace(x)[-1]):
        assert out.dtype == F64
    assert all(p.dtype == F64 for p in flow.parameters())
    # float64 precision end to end: the round trip is exact to ~1e-12.
    z, _ = flow.inverse(x)
    assert torch.allclose(flow(z)[0], x, atol=1e-12)


def test_dtype_conversion_after_use():
    """Converting a flow that has already been evaluated: the dtype check must follow the new
    dtype (a coupling layer's reference tensor is its mask, a buffer that .to() replaces)."""
    flow = Flow([AffineCoupling([1, 0], SimpleConditioner(0.3, 0.1, 0.5, 1.0, 0.0)),
                 Planar([1.0, -0.5], [0.3, 0.8], 0.2)])
    x32 = torch.randn(4, 2)
    lp32 = flow.log_prob(x32)
    flow.double()
    lp64 = flow.log_prob(x32.double())
    assert lp64.dtype == F64 and torch.allclose(lp64.float(), lp32, atol=1e-5)
    with pytest.raises(ValueError, match=r"torch.float32 .*parameters are torch.float64"):
        flow.log_prob(x32)
    flow.float()
    assert flow.log_prob(x32).dtype == torch.float32
    with pytest.raises(ValueError, match=r"torch.float64 .*parameters are torch.float32"):
        flow(x32.double())


def test_base_follows_layer_dtype():
    """A flow built from float64 layers gets a float64 base without an explicit .double()."""
    flow = _mixed_flow(0)
    assert flow.sample(3).dtype == F64
    assert flow.base.sample(3).dtype == F64


# --------------------------------------------------------------------------------------------
# Gradients
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_maximum_likelihood_gradients_reach_every_parameter(seed):
    flow = _mixed_flow(seed)
    data = _points(seed + 10, n=256)
    loss = -flow.log_prob(data).mean()
    assert torch.isfinite(loss)
    loss.backward()
    names = []
    for name, p in flow.named_parameters():
        names.append(name)
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert bool((p.grad != 0).any()), name
    for needed in ("layers.1.w", "layers.1.u", "layers.1.b", "layers.2.z0",
                   "layers.2.log_alpha", "layers.2.beta", "layers.3.conditioner.s_slope"):
        assert needed in names


@settings(max_examples=15)
@given(seed=st.integers(0, 2**16))
def test_input_gradient_matches_finite_differences(seed):
    """∇ₓ log p(x) by autograd through every inverse (planar: implicit-function Newton step)
    against central differences."""
    flow = _mixed_flow(seed)
    x = _points(seed, n=6).requires_grad_(True)
    (grad,) = torch.autograd.grad(flow.log_prob(x).sum(), x)
    h = 1e-6
    fd = torch.zeros_like(grad)
    with torch.no_grad():
        for j in range(2):
            e = torch.zeros(1, 2, dtype=F64)
            e[0, j] = h
            fd[:, j] = (flow.log_prob(x + e) - flow.log_prob(x - e)) / (2 * h)
    assert torch.allclose(grad, fd, rtol=1e-5, atol=1e-5)


@settings(max_examples=6)
@given(seed=st.integers(0, 2**16))
def test_parameter_gradients_match_finite_differences(seed):
    flow = _mixed_flow(seed)
    data = _points(seed + 1, n=32)
    # Far out, an unbounded coupling makes log p ~ -1e19, where float64 differences are pure
    # rounding (steps of 4096): keep the points where finite differences mean something.
    with torch.no_grad():
        data = data[flow.log_prob(data) > -200.0]
    assume(data.shape[0] >= 8)
    loss = -flow.log_prob(data).mean()
    loss.backward()
    h = 1e-6
    with torch.no_grad():
        for name, p in flow.named_parameters():
            flat = p.view(-1)
            for i in range(flat.numel()):
                old = flat[i].item()
                flat[i] = old + h
                plus = -flow.log_prob(data).mean()
                flat[i] = old - h
                minus = -flow.log_prob(data).mean()
                flat[i] = old
                fd = float((plus - minus) / (2 * h))
                assert float(p.grad.view(-1)[i]) == pytest.approx(fd, rel=1e-4, abs=1e-6), name


# --------------------------------------------------------------------------------------------
# Non-invertible layers inside a flow
# --------------------------------------------------------------------------------------------


def test_non_invertible_layer_inside_a_flow():
    folding = Planar(torch.tensor([1.0, 0.0], dtype=F64), torch.tensor([-3.0, 0.0], dtype=F64),
                     torch.tensor(0.0, dtype=F64), constrain=False)
    flow = Flow([ElementwiseAffine(torch.zeros(2, dtype=F64), torch.zeros(2, dtype=F64)),
                 folding])
    x = torch.tensor([[0.0, 0.0], [10.0, 0.0]], dtype=F64)
    with pytest.raises(NotInvertibleError, match=r"layer 1 \(Planar\).*-3"):
        flow.inverse(x)
    with pytest.raises(NotInvertibleError):
        flow.log_prob(x)
    z, ld, unique = flow.inverse_where(x)
    assert unique.tolist() == [False, True]
    assert torch.allclose(flow(z)[0], x, atol=1e-10)
    assert torch.allclose(ld, -flow(z)[1], atol=1e-10)
    # Forward and sampling still work: the map is defined, just not injective.
    assert torch.isfinite(flow.sample(10)).all()


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nan_rows_propagate_row_wise_through_a_flow(bad):
    """``Flow.forward/inverse/inverse_where/log_prob/trace`` (the policy in the ``flows``
    docstring): the bad row's points are non-finite, every other row is what it is without it."""
    flow = Flow([Planar([1.0, 0.5], [0.5, -0.3], 0.1), Radial([0.2, 0.0], 1.0, 0.5),
                 ElementwiseAffine([0.1, -0.2], [0.3, 0.0]),
                 AffineCoupling([1, 0], SimpleConditioner(0.3, 0.1, 0.5))]).double()
    clean = torch.tensor([[0.3, -0.2], [1.0, 0.5], [-0.7, 0.1]], dtype=F64)
    x = torch.cat([torch.full((1, 2), bad, dtype=F64), clean])
    with torch.no_grad():
        for method in ("forward", "inverse", "inverse_where", "log_prob"):
            got, want = getattr(flow, method)(x), getattr(flow, method)(clean)
            got, want = (got, want) if isinstance(got, tuple) else ((got,), (want,))
            assert not torch.isfinite(got[0][0]).all(), method
            for g, w in zip(got, want, strict=True):
                assert torch.equal(g[1:], w), method
        for (z, _), (w, _) in zip(flow.trace(x), flow.trace(clean), strict=True):
            assert not torch.isfinite(z[0]).all() and torch.equal(z[1:], w)
