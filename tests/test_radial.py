"""Tests for nfwidgets.flows.radial: the radial flow, its reparametrisation and its inverse."""

from __future__ import annotations

import math
import re

import pytest
import torch
from conftest import assert_rejects_bad_batches
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from nfwidgets.flows import Flow, NotInvertibleError, Radial

F64 = torch.float64

# Slider ranges: z0 in [-3, 3]², alpha in [0.05, 5], raw beta in [-5, 5]; points in [-5, 5]².
_z0 = st.tuples(st.floats(-3.0, 3.0), st.floats(-3.0, 3.0))
_alpha = st.floats(0.05, 5.0)
_beta = st.floats(-5.0, 5.0)
_point = st.tuples(st.floats(-5.0, 5.0), st.floats(-5.0, 5.0))
_points = st.lists(_point, min_size=1, max_size=12)


def _radial(z0, alpha, beta, constrain=True, dtype=F64) -> Radial:
    """A Radial layer whose parameters are exactly these Python floats, in ``dtype``."""
    return Radial(torch.tensor(z0, dtype=dtype), torch.tensor(alpha, dtype=dtype),
                  torch.tensor(beta, dtype=dtype), constrain=constrain)


def _batch(z0, extra, dtype=F64, n: int = 64, seed: int = 0, dim: int = 2):
    """``n`` uniform points in [-5, 5]^dim, the centre z0 itself, points very near z0, extras."""
    g = torch.Generator().manual_seed(seed)
    z0_t = torch.tensor(z0, dtype=F64)
    pts = [torch.rand(n, dim, generator=g, dtype=F64) * 10 - 5, z0_t[None],
           z0_t + 1e-9 * torch.ones(1, dim, dtype=F64), z0_t + 1e-3 * torch.eye(dim, dtype=F64)]
    if extra:
        pts.append(torch.tensor(extra, dtype=F64))
    return torch.cat(pts).to(dtype)


def _softplus(a: float) -> float:
    return a + math.log1p(math.exp(-a)) if a > 0 else math.log1p(math.exp(a))


def _numbers_in(message: str) -> list[float]:
    return [float(s) for s in re.findall(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", message)]


# --------------------------------------------------------------------------------------------
# The layer contract over the slider ranges
# --------------------------------------------------------------------------------------------


@given(z0=_z0, alpha=_alpha, beta=_beta, pts=_points)
def test_constrained_contract_float64(check_layer_contract, z0, alpha, beta, pts):
    layer = _radial(z0, alpha, beta, constrain=True)
    check_layer_contract(layer, _batch(z0, pts), round_trip_tol=1e-6)


@given(z0=_z0, alpha=_alpha, beta=_beta, pts=_points)
def test_unconstrained_invertible_contract(check_layer_contract, z0, alpha, beta, pts):
    # β = -α exactly (det J = 0 at z0, log-det -inf): see test_boundary_beta_equals_minus_alpha.
    # α is stored as log α, so keep β a few ulps away from that boundary.
    assume(beta > -alpha * (1 - 1e-12))
    layer = _radial(z0, alpha, beta, constrain=False)
    assert layer.why_not_invertible() is None
    # For β near -α, det J nearly vanishes at z0 (the map is flat there): skip such points.
    check_layer_contract(layer, _batch(z0, pts), round_trip_tol=1e-6, det_floor=1e-8)


@given(z0=_z0, alpha=_alpha, beta=_beta)
def test_constrained_contract_float32(check_layer_contract, z0, alpha, beta):
    layer = Radial(z0, alpha, beta).float()
    z = _batch(z0, [], dtype=torch.float32)
    x, log_det = check_layer_contract(layer, z, round_trip_tol=1e-4, det_floor=1e-2)
    ref = _radial(z0, alpha, beta)
    with torch.no_grad():
        x64, ld64 = ref(z.double())
    assert torch.allclose(x.double(), x64, rtol=1e-5, atol=1e-5)
    assert torch.allclose(log_det.double(), ld64, rtol=1e-4, atol=1e-3)


@settings(max_examples=30)
@given(alpha=_alpha, beta=_beta, constrain=st.booleans())
def test_contract_in_one_and_three_dimensions(check_layer_contract, alpha, beta, constrain):
    assume(constrain or beta > -alpha * (1 - 1e-12))
    for z0 in ([0.5], [0.5, -1.0, 2.0]):
        layer = _radial(z0, alpha, beta, constrain=constrain)
        assert layer.dim == len(z0)
        check_layer_contract(layer, _batch(z0, [], dim=len(z0)), round_trip_tol=1e-6,
                             det_floor=1e-8)


def test_boundary_beta_equals_minus_alpha():
    """β = -α exactly is still a bijection; det J → 0 at z0 (log-det -inf there, not NaN)."""
    layer = _radial([0.5, -0.5], 2.0, -2.0, constrain=False)
    assert layer.why_not_invertible() is None
    z = torch.tensor([[0.5, -0.5], [1.5, -0.5], [0.0, 3.0], [0.5 + 1e-4, -0.5]], dtype=F64)
    with torch.no_grad():
        x, ld = layer(z)
        z_back, ld_inv = layer.inverse(x)
    assert torch.equal(x[0], z[0])
    assert ld[0].item() == -math.inf and ld_inv[0].item() == math.inf
    assert torch.isfinite(ld[1:]).all()
    assert torch.allclose(z_back, z, atol=1e-6)
    assert torch.allclose(ld_inv[1:], -ld[1:], atol=1e-6)


@pytest.mark.parametrize(("alpha", "beta"), [(2.0, -2.0), (1.0, -2.5)])
def test_inverse_at_the_centre_is_z0(alpha, beta):
    """Regression: the inverse at x = z0 with α + β̂ ≤ 0 once computed
    z = z0 + (α + r)/(α + β̂ + r)·0 with a zero denominator (NaN), then, with α + β̂ < 0, the
    log-det at the collapsing ring r = -(α + β̂) (+inf) instead of at z0.
    f(z0) = z0 for every α, β, so z0 is a preimage of z0. At β = -α (a bijection) it is the
    only one and ``inverse`` must return it; at β < -α ``inverse_where`` must return a preimage,
    with the log-det of the inverse at that preimage. Never NaN: a plot grid that contains z0
    must not get a NaN pixel."""
    layer = _radial([0.5, -0.5], alpha, beta, constrain=False)
    x = torch.tensor([[0.5, -0.5]], dtype=F64)
    with torch.no_grad():
        z, ld, unique = layer.inverse_where(x)
        x_again, ld_fwd = layer(z)
    assert not bool(torch.isnan(z).any()) and not bool(torch.isnan(ld).any())
    assert torch.allclose(x_again, x, atol=1e-12)
    assert bool(unique.item()) == (beta >= -alpha)
    assert float(ld) == pytest.approx(-float(ld_fwd), abs=1e-9)  # ±inf at β = -α


# --------------------------------------------------------------------------------------------
# The forward map and the reparametrisation against MATH.md
# --------------------------------------------------------------------------------------------


@given(z0=_z0, alpha=_alpha, beta=_beta, constrain=st.booleans(), pts=_points)
def test_forward_matches_formula(z0, alpha, beta, constrain, pts):
    layer = _radial(z0, alpha, beta, constrain=constrain)
    b_hat = -alpha + _softplus(beta) if constrain else beta
    z = _batch(z0, pts)
    diff = z - torch.tensor(z0, dtype=F64)
    r = diff.norm(dim=-1)
    h = 1.0 / (alpha + r)
    x_ref = z + (b_hat * h)[:, None] * diff
    # log|det J| = (d - 1) log|1 + βh| + log|1 + βh + βh'r|, h' = -h² (MATH.md, eq. 14).
    ld_ref = torch.log(torch.abs(1 + b_hat * h)) + torch.log(torch.abs(1 + b_hat * h
                                                                        - b_hat * h * h * r))
    x, ld = layer(z)
    assert torch.allclose(x, x_ref, rtol=1e-12, atol=1e-12)
    ok = torch.isfinite(ld_ref) & (ld_ref > -20)
    assert torch.allclose(ld[ok], ld_ref[ok], rtol=0, atol=1e-8)
    # The last term equals log(1 + αβ/(α + r)²).
    alt = torch.log(torch.abs(1 + b_hat * h)) + torch.log(torch.abs(1 + alpha * b_hat * h * h))
    assert torch.allclose(ld[ok], alt[ok], rtol=0, atol=1e-8)


def test_one_dimensional_derivative():
    """In 1-D, f'(z) = 1 + αβ/(α + |z - z0|)²: the log-det has no (d - 1) term."""
    alpha, beta = 0.7, -0.4
    layer = _radial([0.25], alpha, beta, constrain=False)
    z = torch.linspace(-5, 5, 101, dtype=F64)[:, None]
    _, ld = layer(z)
    r = (z[:, 0] - 0.25).abs()
    assert torch.allclose(ld, torch.log(1 + alpha * beta / (alpha + r) ** 2), atol=1e-13)


@given(alpha=st.floats(0.05, 5.0), beta=st.floats(-30.0, 30.0))
@example(alpha=0.05, beta=-30.0)
@example(alpha=5.0, beta=-5.0)
def test_constraint_holds(alpha, beta):
    layer = _radial([0.0, 0.0], alpha, beta, constrain=True)
    b_hat = float(layer.beta_hat.detach())
    assert float(layer.alpha.detach()) == pytest.approx(alpha, rel=1e-14)
    assert b_hat >= -alpha
    assert b_hat == pytest.approx(-alpha + _softplus(beta), rel=1e-9, abs=1e-12)
    assert layer.why_not_invertible() is None
    # Unconstrained, β̂ is the raw β.
    assert float(_radial([0.0, 0.0], alpha, beta, constrain=False).beta_hat.detach()) == beta


def test_alpha_setter():
    layer = _radial([0.0, 0.0], 1.0, 0.5)
    layer.alpha = 2.5
    assert float(layer.alpha.detach()) == pytest.approx(2.5, rel=1e-14)
    for bad in (0.0, -1.0, math.nan, math.inf, "2"):
        with pytest.raises(ValueError, match=r"^Radial: alpha must be .*; got "):
            layer.alpha = bad
    assert float(layer.alpha.detach()) == pytest.approx(2.5, rel=1e-14)


@pytest.mark.parametrize("constrain", [True, False])
def test_gradients_finite_at_the_centre(constrain):
    """r = ‖z - z0‖ is not differentiable at z0; the map is. No NaN must leak into gradients."""
    layer = _radial([0.5, -0.5], 1.0, 0.3, constrain=constrain)
    z = torch.tensor([[0.5, -0.5], [1.0, 1.0]], dtype=F64, requires_grad=True)
    x, ld = layer(z)
    (x.sum() + ld.sum()).backward()
    assert torch.isfinite(z.grad).all()
    for name, p in layer.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    loss = -Flow([layer]).log_prob(torch.tensor([[0.5, -0.5], [2.0, 0.0]], dtype=F64)).mean()
    layer.zero_grad()
    loss.backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert bool((p.grad != 0).any()), name


# --------------------------------------------------------------------------------------------
# Non-invertible parameters (β < -α, constrain=False)
# --------------------------------------------------------------------------------------------


def _phi(r: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
    """Signed radial map along a ray: f(z0 + r e) = z0 + φ(r) e."""
    return r * (alpha + beta + r) / (alpha + r)


def _count_preimages(rho: torch.Tensor, alpha: float, beta: float) -> torch.Tensor:
    """Preimages of a point at distance ρ from z0, by sign changes on a fine (log) grid of r:
    roots of φ(r) = ρ on the point's own ray and of φ(r) = -ρ on the opposite ray."""
    top = math.log10(float(rho.max()) + abs(beta) + alpha + 5.0)
    r = torch.logspace(-12, top, 20_000, dtype=F64)
    phi = _phi(r, alpha, beta)[None, :]
    same = (phi - rho[:, None]) >= 0
    opposite = (phi + rho[:, None]) >= 0
    return ((same[:, 1:] != same[:, :-1]).sum(-1)
            + (opposite[:, 1:] != opposite[:, :-1]).sum(-1))


_fold_alpha = st.floats(0.05, 4.5)


@given(z0=_z0, alpha=_fold_alpha, beta=st.floats(-5.0, -0.06))
@example(z0=(0.0, 0.0), alpha=1.0, beta=-2.5)
def test_non_invertible_inverse_raises(z0, alpha, beta):
    assume(beta < -alpha)
    layer = _radial(z0, alpha, beta, constrain=False)
    assert layer.why_not_invertible() is not None
    x = _batch(z0, [])
    with pytest.raises(NotInvertibleError) as info:
        layer.inverse(x)
    assert isinstance(info.value, ValueError)
    numbers = _numbers_in(str(info.value))
    assert any(math.isclose(v, beta, rel_tol=1e-3) for v in numbers)
    assert "constrain=True" in str(info.value)
    with pytest.raises(NotInvertibleError, match="layer 0"):
        Flow([layer]).inverse(x)


@settings(max_examples=30)
@given(z0=_z0, alpha=_fold_alpha, beta=st.floats(-5.0, -0.06), seed=st.integers(0, 2**16))
@example(z0=(0.0, 0.0), alpha=1.0, beta=-2.5, seed=0)
def test_fold_unique_flags_and_preimages(z0, alpha, beta, seed):
    assume(beta < -1.05 * alpha)
    layer = _radial(z0, alpha, beta, constrain=False)
    # The deepest point of the dip of φ, found numerically.
    grid = torch.logspace(-12, math.log10(abs(beta) + alpha), 20_000, dtype=F64)
    depth = float(-_phi(grid, alpha, beta).min())
    assert depth > 0
    g = torch.Generator().manual_seed(seed)
    rho = torch.cat([torch.rand(24, generator=g, dtype=F64) * 3 * depth,
                     torch.rand(8, generator=g, dtype=F64) * 6,
                     torch.tensor([0.0, 0.5 * depth], dtype=F64)])
    angle = torch.rand(rho.shape[0], generator=g, dtype=F64) * 2 * math.pi
    e = torch.stack([torch.cos(angle), torch.sin(angle)], -1)
    x = torch.tensor(z0, dtype=F64) + rho[:, None] * e
    rho = (x - torch.tensor(z0, dtype=F64)).norm(dim=-1)
    with torch.no_grad():
        z, ld, unique = layer.inverse_where(x)
        x_again, ld_fwd = layer(z)
    # Points at z0 itself and near it are not unique; far away they are.
    assert not bool(unique[rho < 0.5 * depth].any())
    assert bool(unique[rho > 1.5 * depth].all())
    # The returned z is a genuine preimage with the matching log-det, x = z0 itself included
    # for z (its log-det: see test_inverse_at_the_centre_is_z0).
    assert torch.allclose(x_again, x, rtol=1e-10, atol=1e-10)
    finite = torch.isfinite(ld_fwd) & (rho > 0)
    assert torch.allclose(ld[finite], -ld_fwd[finite], atol=1e-8)
    # unique == "exactly one preimage", counted numerically (away from the tangency ρ = depth).
    clear = ((rho - depth).abs() > 0.05 * depth) & (rho > 0)  # x = z0: a circle of preimages
    count = _count_preimages(rho[clear], alpha, beta)
    assert torch.equal(count, torch.where(unique[clear], 1, 3)), (rho[clear], count, depth)


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["z0", "alpha", "beta"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_parameters_rejected(name, bad):
    kwargs = {"z0": [0.5, 0.5], "alpha": 1.0, "beta": 0.2}
    kwargs[name] = [0.5, bad] if name == "z0" else bad
    with pytest.raises(ValueError, match=rf"Radial: {name} must be (a )?finite") as info:
        Radial(**kwargs)
    assert str(bad) in str(info.value)


@pytest.mark.parametrize("alpha", [0.0, -0.5, -3.0])
def test_non_positive_alpha_rejected(alpha):
    with pytest.raises(ValueError, match=r"alpha must be a finite number > 0; got") as info:
        Radial([0.0, 0.0], alpha, 0.0)
    assert any(v == alpha for v in _numbers_in(str(info.value)))


def test_bad_parameter_shapes_rejected():
    with pytest.raises(ValueError,
                       match=r"alpha must be a single finite number .*; got \[1.0, 2.0\]"):
        Radial([0.0, 0.0], [1.0, 2.0], 0.0)
    with pytest.raises(ValueError, match=r"z0 must be a 1-D vector of finite numbers"):
        Radial(0.0, 1.0, 0.0)
    with pytest.raises(ValueError, match=r"at least one entry"):
        Radial([], 1.0, 0.0)


def test_non_scalar_beta_rejected_with_value_error():
    """Regression: beta was reshaped to () before any check (RuntimeError)."""
    with pytest.raises(ValueError, match=r"beta must be a single finite number \(a scalar\)"):
        Radial([0.0, 0.0], 1.0, [0.5, 0.5])


@pytest.mark.parametrize("method", ["forward", "inverse", "inverse_where"])
def test_bad_input_rejected(method):
    layer = _radial([0.5, 0.5], 1.0, 0.2)
    call = getattr(layer, method)
    assert_rejects_bad_batches(call, 4, torch.zeros(4, 2, dtype=F64).numpy(), torch.int32)


def test_inverse_near_a_vanishing_alpha_plus_beta_hat_keeps_its_guards() -> None:
    """α + β̂ > 0 but tiny (softplus(β) ≈ 0): the centre maps to itself (no 0·inf), and a point
    near z0 gets the float64 preimage."""
    with torch.no_grad():
        layer = Radial([0.0, 0.0], alpha=3.0, beta=-103.0).to(torch.float32)
        z, _, _ = layer._inverse_where(torch.tensor([[0.0, 0.0], [3.0, 0.0]]))
        assert torch.equal(z[0], torch.zeros(2)) and torch.isfinite(z).all()
        layer = Radial([0.0, 0.0], alpha=1.0, beta=-46.0).to(torch.float32)
        x = torch.tensor([[1e-16, 0.0]])
        z, _, _ = layer._inverse_where(x)
        z64, _, _ = layer.double()._inverse_where(x.double())
    assert float(z64[0, 0]) == pytest.approx(1e-8, rel=1e-3)
    assert float(z[0, 0]) == pytest.approx(float(z64[0, 0]), rel=1e-5)


@pytest.mark.parametrize("constrain", [True, False])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_rows_propagate_row_wise(constrain, bad):
    """The documented policy: a NaN/inf row gives a non-finite row of the points and leaves the
    other rows exactly as without it, through the closed-form inverse too (the root of the
    radius equation is NaN there, not 0) and for a folding layer (β < -α)."""
    layer = _radial([0.2, 0.0], 1.0, 0.5 if constrain else -1.6, constrain=constrain)
    clean = torch.tensor([[0.3, -0.2], [1.0, 0.5], [0.2, 0.0], [3.0, 0.1]], dtype=F64)
    x = torch.cat([torch.full((1, 2), bad, dtype=F64), clean])
    with torch.no_grad():
        for method in ("forward", "inverse_where"):
            got, want = getattr(layer, method)(x), getattr(layer, method)(clean)
            assert not torch.isfinite(got[0][0]).all(), method
            for g, w in zip(got, want, strict=True):
                if w is not None:
                    assert torch.equal(g[1:], w), method
        r = layer.radius_of_preimage(torch.tensor([bad, 0.0, 1.0], dtype=F64))
        assert not math.isfinite(float(r[0])) and torch.isfinite(r[1:]).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_alpha_that_the_dtype_cannot_hold_is_refused_not_rounded(dtype):
    """α is stored as log α: a value that rounds to 0 (or overflows) in the dtype would make
    every output NaN, so the constructor and the setter refuse it and say why."""
    tiny = torch.finfo(dtype).tiny
    with pytest.raises(ValueError, match=rf"alpha = {tiny / 10!r} is too small for {dtype}"):
        Radial(torch.zeros(2, dtype=dtype), alpha=tiny / 10)
    layer = Radial(torch.zeros(2, dtype=dtype), alpha=0.5)
    with pytest.raises(ValueError, match="is too small"):
        layer.alpha = tiny / 10
    layer.alpha = tiny  # the smallest normal number is fine
    assert bool(torch.isfinite(layer(torch.ones(3, 2, dtype=dtype))[0]).all())
