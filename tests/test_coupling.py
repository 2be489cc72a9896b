"""Tests for nfwidgets.flows.coupling: affine coupling, its scale rules and conditioners."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import assert_rejects_bad_batches, simple_conditioner_params
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import nn

from nfwidgets.flows import (
    SCALE_RULES,
    AffineCoupling,
    Flow,
    MLPConditioner,
    SimpleConditioner,
)

F64 = torch.float64

# SimpleConditioner slider ranges; points in [-5, 5]^D.
_simple = simple_conditioner_params
_mask_2d = st.sampled_from([(1, 0), (0, 1)])
_mask_3d = st.sampled_from([(1, 0, 1), (0, 1, 0), (1, 0, 0), (0, 0, 1)])
_point = st.tuples(st.floats(-5.0, 5.0), st.floats(-5.0, 5.0))
_points = st.lists(_point, min_size=1, max_size=12)


def _batch(extra, dim: int = 2, dtype=F64, n: int = 64, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    pts = [torch.rand(n, dim, generator=g, dtype=F64) * 10 - 5,
           torch.zeros(1, dim, dtype=F64), torch.full((1, dim), 5.0, dtype=F64),
           torch.full((1, dim), -5.0, dtype=F64)]
    if extra:
        pts.append(torch.tensor(extra, dtype=F64))
    return torch.cat(pts).to(dtype)


def _simple_layer(mask, params, rule, bound=3.0, dtype=F64) -> AffineCoupling:
    cond = SimpleConditioner(**params)
    return AffineCoupling(list(mask), cond, scale=rule, bound=bound).to(dtype)


def _randomise(module: nn.Module, seed: int, std: float = 0.6) -> None:
    """Overwrite every parameter with N(0, std²/fan_in) entries (the last layer included)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            fan_in = p.shape[-1] if p.ndim > 1 else 1
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * std / math.sqrt(fan_in))


def _mlp_layer(mask, rule, seed, hidden=(16, 16), dtype=F64) -> AffineCoupling:
    n_cond = sum(mask)
    cond = MLPConditioner(n_cond, len(mask) - n_cond, hidden=hidden, activation=nn.Tanh)
    _randomise(cond, seed)
    return AffineCoupling(list(mask), cond, scale=rule).to(dtype)


def _ref_log_scale(s: torch.Tensor, rule: str, bound: float) -> torch.Tensor:
    """The rules as documented (RealNVP tanh, zuko soft clip, Glow sigmoid), written directly."""
    if rule == "exp":
        return s
    if rule == "tanh":
        return bound * torch.tanh(s / bound)
    if rule == "softclip":
        return s / (1 + s.abs() / bound)
    assert rule == "sigmoid"
    return torch.log(torch.sigmoid(s + 2))


def test_scale_rules_listed():
    assert set(SCALE_RULES) == {"exp", "tanh", "softclip", "sigmoid"}


# --------------------------------------------------------------------------------------------
# The layer contract: SimpleConditioner over the slider ranges, every rule, both 2-D masks
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", SCALE_RULES)
@settings(max_examples=40)
@given(mask=_mask_2d, params=_simple, pts=_points)
@example(mask=(1, 0), params={"s_slope": 2.0, "s_shift": 2.0, "t_amplitude": 3.0,
                              "t_frequency": 4.0, "t_shift": 2.0}, pts=[(5.0, -5.0)])
@example(mask=(0, 1), params={"s_slope": -2.0, "s_shift": -2.0, "t_amplitude": -3.0,
                              "t_frequency": 0.0, "t_shift": -2.0}, pts=[(-5.0, 5.0)])
def test_simple_conditioner_contract(check_layer_contract, rule, mask, params, pts):
    layer = _simple_layer(mask, params, rule)
    check_layer_contract(layer, _batch(pts), round_trip_tol=1e-6)


@pytest.mark.parametrize("rule", SCALE_RULES)
@settings(max_examples=20)
@given(mask=_mask_2d, params=_simple)
def test_simple_conditioner_contract_float32(check_layer_contract, rule, mask, params):
    layer = _simple_layer(mask, params, rule, dtype=torch.float32)
    z = _batch([], dtype=torch.float32)
    # A tiny scale (e.g. Glow's σ(s + 2) at s = -12) amplifies float32 rounding in the inverse:
    # the round trip is checked where |det J| > 1e-2.
    x, log_det = check_layer_contract(layer, z, round_trip_tol=1e-3, det_floor=1e-2)
    ref = _simple_layer(mask, params, rule)  # the same float32-rounded values, in float64
    with torch.no_grad():
        x64, ld64 = ref(z.double())
    assert torch.allclose(x.double(), x64, rtol=1e-5, atol=1e-4)
    assert torch.allclose(log_det.double(), ld64, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("rule", SCALE_RULES)
@given(mask=st.one_of(_mask_2d, _mask_3d), params=_simple, seed=st.integers(0, 2**16),
       bound=st.floats(0.5, 5.0))
@example(mask=(1, 0), params={"s_slope": 2.0, "s_shift": 2.0, "t_amplitude": 3.0,
                              "t_frequency": 4.0, "t_shift": 2.0}, seed=0, bound=3.0)
@example(mask=(0, 1), params={"s_slope": 2.0, "s_shift": 2.0, "t_amplitude": 3.0,
                              "t_frequency": 4.0, "t_shift": 2.0}, seed=0, bound=3.0)
def test_simple_conditioner_matches_closed_form(rule, mask, params, seed, bound):
    """x_T = z_T · exp(ℓ(s(c))) + t(c), x_C = z_C, with c the sum of the conditioning
    coordinates (in 2-D with mask [1, 0]: x₂ = z₂ e^{ℓ(s(z₁))} + t(z₁), x₁ = z₁)."""
    layer = _simple_layer(mask, params, rule, bound=bound)
    cond = layer.conditioner
    p = {name: float(getattr(cond, name).detach()) for name in SimpleConditioner.PARAMETERS}
    z = _batch([], dim=len(mask), seed=seed)
    keep = torch.tensor(mask, dtype=torch.bool)
    c = z[:, keep].sum(-1, keepdim=True)
    s = p["s_slope"] * c + p["s_shift"]
    t = p["t_amplitude"] * torch.sin(p["t_frequency"] * c) + p["t_shift"]
    ell = _ref_log_scale(s, rule, bound)
    with torch.no_grad():
        x, ld = layer(z)
    assert torch.equal(x[:, keep], z[:, keep])
    expected = z[:, ~keep] * torch.exp(ell) + t
    assert torch.allclose(x[:, ~keep], expected, rtol=1e-12, atol=1e-12)
    assert torch.allclose(ld, ell[:, 0] * int((~keep).sum()), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("rule", ["tanh", "softclip", "sigmoid"])
@given(s=st.floats(-1e6, 1e6), bound=st.floats(0.1, 10.0))
def test_bounded_rules_are_bounded(rule, s, bound):
    """tanh and soft clip keep |ℓ| ≤ B; Glow's sigmoid gives a scale in (0, 1): ℓ < 0."""
    layer = AffineCoupling([1, 0], SimpleConditioner(s_shift=s), scale=rule,
                           bound=bound).double()
    _, ld = layer(torch.zeros(1, 2, dtype=F64))
    value = float(ld.detach())
    assert math.isfinite(value)
    if rule == "sigmoid":
        assert value <= 0.0
        s32 = float(layer.conditioner.s_shift.detach())
        assert value == pytest.approx(-math.log1p(math.exp(-(s32 + 2))) if s32 > -600
                                      else s32 + 2, rel=1e-9, abs=1e-12)
    else:
        assert abs(value) <= bound * (1 + 1e-12)


def test_exp_rule_is_unbounded():
    layer = AffineCoupling([1, 0], SimpleConditioner(s_shift=40.0), scale="exp").double()
    x, ld = layer(torch.tensor([[0.0, 1.0]], dtype=F64))
    assert float(ld.detach()) == pytest.approx(40.0)
    assert float(x[0, 1].detach()) == pytest.approx(math.exp(40.0), rel=1e-12)


# --------------------------------------------------------------------------------------------
# MLPConditioner: zero-initialised identity, then random weights; 2-D and 3-D masks
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [[1, 0], [0, 1], [1, 0, 1], [0, 1, 0]])
def test_fresh_mlp_coupling_is_the_identity(mask):
    layer = AffineCoupling(mask).double()  # default conditioner: MLPConditioner(d_c, d_t)
    assert isinstance(layer.conditioner, MLPConditioner)
    assert layer.conditioner.in_features == sum(mask)
    assert layer.conditioner.out_features == len(mask) - sum(mask)
    z = _batch([], dim=len(mask))
    for rule in ("exp", "tanh", "softclip"):
        layer.scale = rule
        x, ld = layer(z)
        assert torch.equal(x, z)
        assert torch.equal(ld, torch.zeros_like(ld))
    # Glow's sigmoid(s + 2) is not the identity at s = 0: scale σ(2) per transformed coordinate.
    layer.scale = "sigmoid"
    x, ld = layer(z)
    n_moved = len(mask) - sum(mask)
    assert torch.allclose(ld, torch.full_like(ld, n_moved * math.log(torch.sigmoid(
        torch.tensor(2.0, dtype=F64)).item())))


@pytest.mark.parametrize("rule", SCALE_RULES)
@settings(max_examples=8)
@given(mask=st.one_of(_mask_2d, _mask_3d), seed=st.integers(0, 2**16))
@example(mask=(1, 0), seed=0)
@example(mask=(0, 1), seed=1)
@example(mask=(1, 0, 1), seed=2)
@example(mask=(0, 1, 0), seed=3)
def test_mlp_conditioner_contract(check_layer_contract, rule, mask, seed):
    layer = _mlp_layer(mask, rule, seed)
    z = _batch([], dim=len(mask), seed=seed)
    x, _ = check_layer_contract(layer, z, round_trip_tol=1e-6)
    m = torch.tensor(mask, dtype=torch.bool)
    # Conditioning coordinates pass through unchanged; the others really move.
    assert torch.equal(x[:, m], z[:, m])
    assert bool(((x[:, ~m] - z[:, ~m]).abs() > 1e-6).any())
    # Triangular structure: each transformed coordinate depends only on itself and on the
    # conditioning coordinates, and linearly on itself with slope exp(ℓ) > 0.
    jac = torch.autograd.functional.jacobian(lambda v: layer(v)[0].sum(0), z[:8]).permute(1, 0, 2)
    moved = torch.nonzero(~m).flatten().tolist()
    for i in moved:
        for j in moved:
            if i != j:
                assert torch.equal(jac[:, i, j], torch.zeros_like(jac[:, i, j]))
        assert (jac[:, i, i] > 0).all()
    for i in torch.nonzero(m).flatten().tolist():
        assert torch.equal(jac[:, i, :], torch.eye(len(mask), dtype=F64)[i].expand(8, -1))


@pytest.mark.parametrize("rule", SCALE_RULES)
def test_mlp_conditioner_contract_float32(check_layer_contract, rule):
    for k, mask in enumerate([(1, 0), (0, 1), (1, 0, 1)]):
        layer = _mlp_layer(mask, rule, seed=k, dtype=torch.float32)
        check_layer_contract(layer, _batch([], dim=len(mask), dtype=torch.float32),
                             round_trip_tol=1e-4, det_floor=1e-2)


def test_conditioner_sees_only_conditioning_coordinates():
    """Changing a transformed coordinate of the input does not change (s, t)."""
    layer = _mlp_layer((1, 0, 0), "tanh", seed=5)
    z = _batch([], dim=3)
    z2 = z.clone()
    z2[:, 1:] = torch.randn_like(z2[:, 1:])
    x, ld = layer(z)
    x2, ld2 = layer(z2)
    assert torch.allclose(ld, ld2, atol=1e-14)
    # x_T = z_T exp(ℓ) + t with the same ℓ, t: (x_T - x2_T)/(z_T - z2_T) = exp(ℓ) per coordinate,
    # whose logs add up to the log-det.
    ratio = (x[:, 1:] - x2[:, 1:]) / (z[:, 1:] - z2[:, 1:])
    assert (ratio > 0).all()
    assert torch.allclose(torch.log(ratio).sum(-1), ld, atol=1e-8)


def test_double_converts_mask_and_conditioner():
    layer = AffineCoupling([1, 0], SimpleConditioner(0.5, 0.1, 1.0, 2.0, 0.0))
    assert layer.mask.dtype == torch.float32
    layer = layer.double()
    assert layer.mask.dtype == F64
    assert all(p.dtype == F64 for p in layer.parameters())
    x, ld = layer(torch.ones(3, 2, dtype=F64))
    assert x.dtype == F64 and ld.dtype == F64
    with pytest.raises(ValueError, match=r"torch.float32 .*parameters are torch.float64"):
        layer(torch.ones(3, 2))


def test_gradients_reach_conditioner_parameters():
    layer = AffineCoupling([1, 0], SimpleConditioner(0.5, 0.1, 1.0, 2.0, 0.3),
                           scale="softclip").double()
    x = _batch([])
    loss = -Flow([layer]).log_prob(x).mean()
    loss.backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert bool((p.grad != 0).any()), name


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [[0.5, 1], [2, 0], [-1, 1], [1, 0, 3]])
def test_bad_mask_entries_rejected(mask):
    with pytest.raises(ValueError, match=r"mask must be 0s and 1s, both .*; got") as info:
        AffineCoupling(mask)
    assert str(mask) in str(info.value)


@pytest.mark.parametrize("mask", [[1, 1], [0, 0], [1, 1, 1], [1]])
def test_unmixed_mask_rejected(mask):
    with pytest.raises(ValueError, match=r"mask must be 0s and 1s, both .*; got") as info:
        AffineCoupling(mask)
    assert str(mask) in str(info.value)


def test_malformed_mask_rejected():
    with pytest.raises(ValueError, match=r"mask must be a 1-D vector .*; got \[\[1, 0\], \[0, "):
        AffineCoupling([[1, 0], [0, 1]])
    with pytest.raises(ValueError, match=r"mask must be finite"):
        AffineCoupling([1.0, math.nan])
    with pytest.raises(ValueError, match=r"mask must be a 1-D vector .*; got \['a', 'b'\]"):
        AffineCoupling(["a", "b"])


@pytest.mark.parametrize("scale", ["softplus", "EXP", "", None, 3])
def test_bad_scale_rule_rejected(scale):
    with pytest.raises(ValueError, match=r"scale must be one of") as info:
        AffineCoupling([1, 0], scale=scale)
    message = str(info.value)
    assert repr(scale) in message
    assert all(rule in message for rule in SCALE_RULES)


@pytest.mark.parametrize("bound", [0.0, -1.0, math.inf, math.nan, "3"])
def test_bad_bound_rejected(bound):
    with pytest.raises(ValueError, match=r"bound must be a finite number > 0; got"):
        AffineCoupling([1, 0], bound=bound)


@pytest.mark.parametrize("name", SimpleConditioner.PARAMETERS)
@pytest.mark.parametrize("bad", [math.nan, math.inf, [1.0, 2.0]])
def test_bad_simple_conditioner_parameters_rejected(name, bad):
    pattern = "must be finite" if not isinstance(bad, list) else (
        r"must be a single finite number \(a scalar\); got \[1.0, 2.0\]")
    with pytest.raises(ValueError, match=rf"SimpleConditioner: {name} {pattern}"):
        SimpleConditioner(**{name: bad})


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"in_features": 0}, r"in_features must be a positive integer ≤ 1000000; got 0"),
    ({"out_features": 2.5}, r"out_features must be a positive integer ≤ 1000000; got 2.5"),
    ({"in_features": True}, r"in_features must be a positive integer ≤ 1000000; got True"),
    ({"hidden": (8, 0)}, r"hidden must be a sequence of integers in \[1, 16384\] .*; got \(8, 0\)"),
])
def test_bad_mlp_conditioner_rejected(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        MLPConditioner(**kwargs)


@pytest.mark.parametrize("method", ["forward", "inverse", "inverse_where"])
def test_bad_input_rejected(method):
    layer = AffineCoupling([0, 1], SimpleConditioner(0.5, 0.1, 1.0, 2.0, 0.0)).double()
    call = getattr(layer, method)
    assert_rejects_bad_batches(call, 6, (0.0, 0.0), torch.int64)
