"""Tests for nfwidgets.flows.planar: the planar flow, its reparametrisation and its inverse."""

from __future__ import annotations

import math
import re

import pytest
import torch
from conftest import assert_rejects_bad_batches
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from nfwidgets.flows import Flow, NotInvertibleError, Planar

F64 = torch.float64

# Slider ranges: w, u components in [-4, 4], b in [-3, 3]. A slider cannot produce a non-zero
# component smaller than its resolution, so nonzero components are kept ≥ 0.01 in magnitude
# (as ‖w‖ → 0 the constrained û grows like 0.31/‖w‖: see test_u_hat_grows_as_w_shrinks).
_component = st.floats(-4.0, 4.0).filter(lambda v: v == 0.0 or abs(v) >= 0.01)
_w = st.one_of(st.just((0.0, 0.0)), st.tuples(_component, _component))
_w_nonzero = st.tuples(_component, _component).filter(lambda w: max(map(abs, w)) >= 0.01)
_u = st.tuples(_component, _component)
_b = st.floats(-3.0, 3.0)
_point = st.tuples(st.floats(-5.0, 5.0), st.floats(-5.0, 5.0))
_points = st.lists(_point, min_size=1, max_size=12)


def _batch(extra: list[tuple[float, float]], dtype=F64, n: int = 64, seed: int = 0):
    """A vectorised batch: ``n`` uniform points in [-5, 5]², the box corners, 0, and ``extra``."""
    g = torch.Generator().manual_seed(seed)
    rand = torch.rand(n, 2, generator=g, dtype=F64) * 10 - 5
    fixed = torch.tensor([[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0], [5.0, -5.0], [-5.0, -5.0]],
                         dtype=F64)
    pts = [rand, fixed]
    if extra:
        pts.append(torch.tensor(extra, dtype=F64))
    return torch.cat(pts).to(dtype)


def _planar(w, u, b, constrain=True, dtype=F64) -> Planar:
    """A Planar layer whose parameters are exactly these Python floats, in ``dtype``."""
    return Planar(torch.tensor(w, dtype=dtype), torch.tensor(u, dtype=dtype),
                  torch.tensor(b, dtype=dtype), constrain=constrain)


def _with_wtu(w, u_raw, target):
    """``u`` = ``u_raw`` with its component along ``w`` replaced so that ``wᵀu = target``."""
    w_t = torch.tensor(w, dtype=F64)
    u_t = torch.tensor(u_raw, dtype=F64)
    n2 = w_t @ w_t
    return (u_t - (w_t @ u_t) / n2 * w_t + target / n2 * w_t).tolist()


def _softplus(a: float) -> float:
    return a + math.log1p(math.exp(-a)) if a > 0 else math.log1p(math.exp(a))


def _ref_u_hat(w, u):
    """û from MATH.md, computed independently in float64 (û = u when w = 0)."""
    w_t = torch.tensor(w, dtype=F64)
    u_t = torch.tensor(u, dtype=F64)
    n2 = float(w_t @ w_t)
    if n2 == 0.0:
        return u_t
    wtu = float(w_t @ u_t)
    m = -1.0 + _softplus(wtu)
    return u_t + (m - wtu) * w_t / n2


def _numbers_in(message: str) -> list[float]:
    return [float(s) for s in re.findall(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", message)]


# --------------------------------------------------------------------------------------------
# The layer contract over the slider ranges
# --------------------------------------------------------------------------------------------


@given(w=_w, u=_u, b=_b, pts=_points)
def test_constrained_contract_float64(check_layer_contract, w, u, b, pts):
    layer = _planar(w, u, b, constrain=True)
    # Round trip ≤ 1e-6 at every point whose Jacobian is not near-singular (|det| > 1e-4).
    check_layer_contract(layer, _batch(pts), round_trip_tol=1e-6, det_floor=1e-4)


@settings(max_examples=30)
@given(w=_w_nonzero, u_raw=_u, b=_b, wtu=st.sampled_from([-50.0, -20.0, -1.0, 30.0, 100.0]),
       pts=_points)
def test_constrained_contract_extreme_wtu(check_layer_contract, w, u_raw, b, wtu, pts):
    layer = _planar(w, _with_wtu(w, u_raw, wtu), b, constrain=True)
    check_layer_contract(layer, _batch(pts), round_trip_tol=1e-6, det_floor=1e-4)


@given(w=_w, u=_u, b=_b, pts=_points)
def test_unconstrained_invertible_contract(check_layer_contract, w, u, b, pts):
    assume(sum(a * c for a, c in zip(w, u, strict=True)) >= -1.0)
    layer = _planar(w, u, b, constrain=False)
    assert layer.why_not_invertible() is None
    check_layer_contract(layer, _batch(pts), round_trip_tol=1e-6, det_floor=1e-4)


@settings(max_examples=30)
@given(w=_w, u=_u, b=_b)
def test_constrained_contract_float32(check_layer_contract, w, u, b):
    layer = Planar(w, u, b, constrain=True).float()
    z = _batch([], dtype=torch.float32)
    # float32 near the fold line (|det J| ~ 1e-2) legitimately loses ~3 digits in the inverse.
    x, log_det = check_layer_contract(layer, z, round_trip_tol=2e-3, det_floor=1e-1)
    # The float32 forward agrees with the float64 one.
    ref = _planar(w, u, b, constrain=True)
    with torch.no_grad():
        x64, ld64 = ref(z.double())
    assert torch.allclose(x.double(), x64, rtol=1e-5, atol=1e-4)
    assert torch.allclose(log_det.double(), ld64, rtol=1e-4, atol=1e-3)


def test_unconstrained_boundary_wtu_minus_one(check_layer_contract):
    """wᵀu = -1 exactly is still a bijection (det J = tanh² ≥ 0 vanishes only on a line)."""
    layer = _planar([1.0, 0.0], [-1.0, 0.5], 0.5, constrain=False)
    assert layer.why_not_invertible() is None
    assert layer.fold_interval() is None
    z = _batch([])
    check_layer_contract(layer, z, round_trip_tol=1e-6, det_floor=1e-4)
    # On the line wᵀz + b = 0 the log-det is -inf (det J = 0) -- not NaN, not finite.
    _, ld = layer(torch.tensor([[-0.5, 1.0]], dtype=F64))
    assert ld.item() == -math.inf


# --------------------------------------------------------------------------------------------
# The forward map and the reparametrisation against MATH.md
# --------------------------------------------------------------------------------------------


@given(w=_w, u=_u, b=_b, pts=_points)
def test_forward_matches_formula(w, u, b, pts):
    layer = _planar(w, u, b)
    z = _batch(pts)
    u_hat = _ref_u_hat(w, u)
    w_t = torch.tensor(w, dtype=F64)
    a = z @ w_t + b
    x_ref = z + torch.tanh(a)[:, None] * u_hat
    # log|1 + h'(a) wᵀû| with 1 + wᵀû = softplus(wᵀu) (MATH.md) taken exactly, not as 1 + (-1 + ε).
    raw = sum(p * q for p, q in zip(w, u, strict=True))
    one_plus_c = _softplus(raw) if any(w) else 1.0 + raw
    ld_ref = torch.log(torch.abs(torch.tanh(a) ** 2 + one_plus_c / torch.cosh(a) ** 2))
    x, ld = layer(z)
    assert torch.allclose(x, x_ref, rtol=1e-12, atol=1e-9)
    finite = torch.isfinite(ld_ref) & (ld_ref > -20)
    assert torch.allclose(ld[finite], ld_ref[finite], rtol=0, atol=1e-8)


@given(w=_w, u=_u, b=_b, wtu=st.one_of(st.none(), st.floats(-60.0, 120.0)))
@example(w=(1.0, 0.0), u=(0.0, 0.0), b=0.0, wtu=100.0)
@example(w=(0.01, 0.0), u=(0.0, 1.0), b=0.0, wtu=-50.0)
def test_constraint_holds(w, u, b, wtu):
    if wtu is not None:
        assume(any(w))
        u = _with_wtu(w, u, wtu)
    layer = _planar(w, u, b, constrain=True)
    w_t = torch.tensor(w, dtype=F64)
    c = layer.wtu_hat.detach()
    u_hat = layer.u_hat.detach()
    assert torch.isfinite(u_hat).all()
    assert float(c) >= -1.0
    assert layer.why_not_invertible() is None and layer.fold_interval() is None
    scale = 1.0 + float(w_t.abs().sum() * u_hat.abs().max())
    assert abs(float(w_t @ u_hat) - float(c)) <= 1e-12 * scale
    if any(w):
        raw = float(w_t @ torch.tensor(u, dtype=F64))
        # (torch's softplus returns x itself for x > 20: an absolute error < 2.1e-9)
        assert float(c) == pytest.approx(-1.0 + _softplus(raw), rel=1e-12, abs=3e-9)
        # û - u is parallel to w (the reparametrisation only moves u along w).
        d = u_hat - torch.tensor(u, dtype=F64)
        assert abs(float(d[0] * w_t[1] - d[1] * w_t[0])) <= 1e-12 * (1 + float(d.abs().max()))
        assert torch.allclose(u_hat, _ref_u_hat(w, u), rtol=1e-10, atol=1e-10)
    else:
        assert torch.equal(u_hat, torch.tensor(u, dtype=F64))


@pytest.mark.parametrize("wtu", [88.0, 89.0, 100.0, 1000.0, -50.0, -200.0])
def test_constraint_float32_no_overflow(wtu):
    """Naive log(1 + exp(wᵀu)) overflows in float32 for wᵀu ≳ 88.7; softplus does not."""
    w = [0.6, -0.8]
    layer = Planar(torch.tensor(w), torch.tensor(_with_wtu(w, [1.0, 2.0], wtu),
                                                 dtype=torch.float32), 0.5)
    assert layer.w.dtype == torch.float32
    c = layer.wtu_hat.detach()
    u_hat = layer.u_hat.detach()
    assert torch.isfinite(u_hat).all() and math.isfinite(float(c))
    assert float(c) >= -1.0
    expected = -1.0 + _softplus(wtu)
    assert float(c) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert float(layer.w.detach() @ u_hat) == pytest.approx(expected, rel=1e-4, abs=1e-4)
    if wtu > 0:
        assert float(c) > -1.0
    z = _batch([], dtype=torch.float32)
    with torch.no_grad():
        x, ld = layer(z)
        z_back, ld_inv = layer.inverse(x)
    assert torch.isfinite(x).all() and torch.isfinite(ld).all()
    assert torch.isfinite(z_back).all() and torch.isfinite(ld_inv).all()
    if wtu > 0:  # well-conditioned: the float32 round trip is accurate relative to |x|
        err = (z_back - z).abs().amax(-1) / (1 + x.abs().amax(-1))
        assert float(err.max()) < 1e-4


def test_w_zero_is_a_translation():
    """w = 0: û = u and f(z) = z + u tanh(b), log-det 0; gradients stay finite."""
    u, b = [1.5, -2.0], 0.7
    for constrain in (True, False):
        layer = _planar([0.0, 0.0], u, b, constrain=constrain)
        z = _batch([])
        x, ld = layer(z)
        shift = torch.tensor(u, dtype=F64) * math.tanh(b)
        assert torch.allclose(x, z + shift, atol=1e-14)
        assert torch.equal(ld, torch.zeros_like(ld))
        z_back, _ = layer.inverse(x.detach())
        assert torch.allclose(z_back, z, atol=1e-12)
        loss = -Flow([layer]).log_prob(z).mean()
        loss.backward()
        for name, p in layer.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_u_hat_grows_as_w_shrinks():
    """Documented behaviour of the reparametrisation: as w → 0 (w ≠ 0), wᵀu → 0 and
    û ≈ u + (ln 2 - 1) w/‖w‖², so |û| ~ 0.307/‖w‖ -- finite, but discontinuous at w = 0."""
    u = [0.0, 0.0]
    for eps in (1e-1, 1e-2, 1e-4):
        layer = _planar([eps, 0.0], u, 0.0)
        u_hat = layer.u_hat.detach()
        assert float(u_hat[0]) == pytest.approx((math.log(2) - 1) / eps, rel=1e-9)
    assert torch.equal(Planar([0.0, 0.0], u, 0.0).u_hat.detach(), torch.zeros(2))


# --------------------------------------------------------------------------------------------
# The inverse solve
# --------------------------------------------------------------------------------------------


@settings(max_examples=30)
@given(w=_w_nonzero, u_raw=_u, b=_b, c=st.floats(-1.0, 100.0))
def test_inverse_vectorised_equals_pointwise(w, u_raw, b, c):
    """Solving a batch gives the same preimages as solving each point alone, and they are roots
    (an early version's Newton iteration could 2-cycle for a lone point and return a non-root)."""
    layer = _planar(w, _with_wtu(w, u_raw, c), b, constrain=False)
    assume(layer.why_not_invertible() is None)  # c = -1 may round to just below -1
    w_t = torch.tensor(w, dtype=F64)
    g = torch.Generator().manual_seed(1)
    # Points whose projections wᵀx sweep the whole bracket region, saturated tanh included.
    y = torch.linspace(-abs(c) - 8, abs(c) + 8, 25, dtype=F64)
    x = y[:, None] * w_t / (w_t @ w_t) + torch.randn(25, 2, generator=g, dtype=F64)
    with torch.no_grad():
        z_all, ld_all = layer.inverse(x)
        for i in range(x.shape[0]):
            z_i, ld_i = layer.inverse(x[i:i + 1])
            assert torch.allclose(z_i[0], z_all[i], rtol=1e-10, atol=1e-10)
            assert torch.allclose(ld_i[0], ld_all[i], rtol=1e-10, atol=1e-10)
        x_again, _ = layer(z_all)
    assert torch.allclose(x_again, x, rtol=1e-10, atol=1e-10)


@settings(max_examples=15)
@given(w=_w, u=_u, b=_b, wtu=st.sampled_from([None, -50.0, -1.0, 30.0, 100.0]),
       constrain=st.booleans(), dtype=st.sampled_from([F64, torch.float32]))
@example(w=(1.0, 0.0), u=(-1.0, 0.0), b=0.0, wtu=None, constrain=False, dtype=F64)
def test_large_batch_inverse_matches_small_batches(w, u, b, wtu, constrain, dtype):
    """Plot grids are large batches (the solver may take another path for them): same answers
    as small batches, a residual at rounding level, and the float64 round trip within 1e-6."""
    if wtu is not None and any(w):
        u = _with_wtu(w, u, wtu)
    layer = _planar(w, u, b, constrain=constrain, dtype=dtype)
    assume(layer.why_not_invertible() is None)
    g = torch.Generator().manual_seed(0)
    z = (torch.rand(12_000, 2, generator=g, dtype=F64) * 10 - 5).to(dtype)
    with torch.no_grad():
        x, ld = layer(z)
        z_big, ld_big = layer.inverse(x)
        parts = [layer.inverse(chunk) for chunk in x.split(1000)]
        z_small = torch.cat([p[0] for p in parts])
        x_again, _ = layer(z_big)
    assert z_big.shape == z.shape and z_big.dtype == dtype and ld_big.shape == (12_000,)
    fine = dtype == F64
    scale = 1 + x.abs().amax(-1)
    # (|û| up to ~100 amplifies the float32 residual the solver accepts, ~4 eps·(|α|+|c|+|y|+1))
    assert float(((x_again - x).abs().amax(-1) / scale).max()) <= (1e-12 if fine else 1e-4)
    # float32 near-singular points (|det| ~ 1e-2) legitimately lose ~3 digits in the inverse.
    well = torch.exp(ld) > (1e-4 if fine else 1e-1)
    tol = 1e-6 if fine else 1e-3
    assert float((z_big - z).abs().amax(-1)[well].max()) <= tol
    assert float((z_big - z_small).abs().amax(-1)[well].max()) <= tol
    assert torch.allclose(ld_big[well], -ld[well], atol=1e-8 if fine else 1e-3)


def test_float32_solver_near_the_fold_line():
    """Regression (bug in 09e3497..f38dd1d, fixed in 6cbc5ae): default dtype (float32),
    constrained, wᵀu = -13.2 (1 + wᵀû = 1.8e-6), one point next to the line where det J is
    smallest. The bracketed solver flagged the start point converged (|g| <= tol/2) yet still
    took its Newton step, rounding noise / dg = 0.33 here, so z came back as (-5.51, 5.63)
    ↦ (-5.011, 5.013) instead of x = (-4.994, 4.992), with inverse log-det 2.27 where
    -log|det J| there is 2.34. Found by test_constrained_contract_float32."""
    layer = Planar([4.0, 3.78125], [0.0, -3.5], 1.0976645181544296)
    assert layer.w.dtype == torch.float32
    z = torch.tensor([[-5.0, 5.0]])
    with torch.no_grad():
        x, _ = layer(z)
        z_back, ld_inv = layer.inverse(x)
        x_again, ld_again = layer(z_back)
    assert torch.allclose(x_again, x, atol=1e-4)
    assert torch.allclose(ld_inv, -ld_again, atol=1e-2)


@pytest.mark.parametrize(("c", "b", "y"), [(4.0, 0.0, 2.2), (4.0, 0.0, -2.2), (5.0, 0.0, -3.3),
                                           (10.0, 1.0, -9.6), (20.0, 2.0, -20.64)])
def test_inverse_regression_newton_two_cycle(c, b, y):
    """Pins a bug of the first engine version (commit f0ff44d): Newton steps landing exactly on a
    bracket end were accepted, so the iteration cycled between the saturated ends of tanh and
    ``inverse`` returned a point off by ~|c| (here, e.g., c = 4, b = 0, wᵀx = 2.2)."""
    layer = _planar([1.0, 0.0], [c, 0.0], b, constrain=False)
    x = torch.tensor([[y, 0.25]], dtype=F64)
    with torch.no_grad():
        z, _ = layer.inverse(x)
        x_again, _ = layer(z)
    assert torch.allclose(x_again, x, atol=1e-12)


# --------------------------------------------------------------------------------------------
# Non-invertible parameters: the error, the fold and its three preimages
# --------------------------------------------------------------------------------------------

_c_fold = st.floats(-50.0, -1.1)


@given(w=_w_nonzero, u_raw=_u, b=_b, c=_c_fold)
@example(w=(1.0, 0.0), u_raw=(0.0, 1.0), b=0.0, c=-2.5)
def test_non_invertible_inverse_raises(w, u_raw, b, c):
    layer = _planar(w, _with_wtu(w, u_raw, c), b, constrain=False)
    c_val = float(layer.wtu_hat.detach())
    assert c_val < -1
    reason = layer.why_not_invertible()
    assert reason is not None
    x = _batch([])
    with pytest.raises(NotInvertibleError) as info:
        layer.inverse(x)
    assert isinstance(info.value, ValueError)
    # The message names the offending value wᵀu (to its printed precision) and the remedy.
    assert any(math.isclose(v, c_val, rel_tol=1e-3) for v in _numbers_in(str(info.value)))
    assert "constrain=True" in str(info.value)
    with pytest.raises(NotInvertibleError, match="layer 1"):
        Flow([_planar(w, u_raw, b), layer]).inverse(x)
    # inverse_where never raises.
    z, ld, unique = layer.inverse_where(x)
    assert z.shape == x.shape and ld.shape == unique.shape == (x.shape[0],)
    assert unique.dtype == torch.bool


def _count_roots(y: torch.Tensor, c: float, b: float, step: float = 4e-3) -> torch.Tensor:
    """Number of real roots of α + c tanh(α + b) = yᵢ for each yᵢ, by sign changes on a grid.

    Every root lies in [y - |c|, y + |c|]; the grid covers a slightly wider interval.
    """
    half = abs(c) + 1.0
    offsets = torch.arange(-half, half + step, step, dtype=F64) + 1.234567e-7
    alpha = y[:, None] + offsets
    s = alpha + c * torch.tanh(alpha + b) - y[:, None] >= 0
    return (s[:, 1:] != s[:, :-1]).sum(-1)


@pytest.mark.parametrize("x", [[[0.0, 0.0]], [[0.0, 1.0]], [[0.5, -2.0]], [[-0.2, 0.0]]])
def test_fold_single_point_returns_a_preimage(x):
    """Pins a bug of the first engine version (commit f0ff44d): inside the fold, when the start
    point was already a root on the decreasing branch (dg < 0), the solver flagged it converged
    but returned a bisection midpoint instead, so ``inverse_where`` gave a z that is no preimage
    (x = (0, 0) with w = (1, 0), u = (-3, 0), b = 0 came back as z = (-2.72, 0) ↦ (0.26, 0))."""
    layer = _planar([1.0, 0.0], [-3.0, 0.0], 0.0, constrain=False)
    x = torch.tensor(x, dtype=F64)
    with torch.no_grad():
        z, ld, unique = layer.inverse_where(x)
        x_again, ld_fwd = layer(z)
    assert not bool(unique.any())
    assert torch.allclose(x_again, x, atol=1e-12)
    assert torch.allclose(ld, -ld_fwd, atol=1e-12)


@settings(max_examples=25)
@given(w=_w_nonzero, u_raw=_u, b=_b, c=_c_fold, seed=st.integers(0, 2**16))
@example(w=(1.0, 0.0), u_raw=(0.0, 0.0), b=0.0, c=-3.0, seed=0)
def test_fold_unique_flags_and_three_preimages(w, u_raw, b, c, seed):
    layer = _planar(w, _with_wtu(w, u_raw, c), b, constrain=False)
    c_val = float(layer.wtu_hat.detach())
    fold = layer.fold_interval()
    assert fold is not None
    lo, hi = fold
    assert lo < hi
    w_t = torch.tensor(w, dtype=F64)
    g = torch.Generator().manual_seed(seed)
    # Projections y = wᵀx sweeping the fold interval and beyond, plus its exact centre.
    y = torch.cat([torch.rand(24, generator=g, dtype=F64) * (hi - lo + 6) + lo - 3,
                   torch.tensor([0.5 * (lo + hi)], dtype=F64)])
    perp = torch.tensor([-w[1], w[0]], dtype=F64)
    x = (y[:, None] * w_t / (w_t @ w_t)
         + torch.randn(y.shape[0], 1, generator=g, dtype=F64) * perp)
    with torch.no_grad():
        z, ld, unique = layer.inverse_where(x)
        x_again, ld_fwd = layer(z)
    y = x @ w_t
    inside = (y > lo) & (y < hi)
    assert torch.equal(unique, ~inside)
    # The returned z is a genuine preimage, with the matching log-det, even inside the fold.
    assert torch.allclose(x_again, x, rtol=1e-10, atol=1e-10)
    assert torch.allclose(ld, -ld_fwd, atol=1e-9)
    margin = min(1e-2, 0.05 * (hi - lo))
    clear = torch.minimum((y - lo).abs(), (y - hi).abs()) >= margin
    roots = _count_roots(y[clear], c_val, b)
    assert torch.equal(roots, torch.where(unique[clear], 1, 3)), (y[clear], roots, lo, hi)


# --------------------------------------------------------------------------------------------
# Gradients (the inverse's implicit-function Newton step)
# --------------------------------------------------------------------------------------------


@settings(max_examples=30)
@given(w=_w_nonzero, u=_u, b=_b, seed=st.integers(0, 2**16))
def test_log_prob_parameter_gradients_match_finite_differences(w, u, b, seed):
    layer = _planar(w, u, b)
    flow = Flow([layer])
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(16, 2, generator=g, dtype=F64) * 2
    loss = -flow.log_prob(x).mean()
    loss.backward()
    h = 1e-6
    for name in ("w", "u", "b"):
        p = getattr(layer, name)
        assert p.grad is not None and torch.isfinite(p.grad).all()
        fd = torch.zeros_like(p)
        with torch.no_grad():
            for i in range(p.numel()):
                old = p.view(-1)[i].item()
                p.view(-1)[i] = old + h
                plus = -flow.log_prob(x).mean()
                p.view(-1)[i] = old - h
                minus = -flow.log_prob(x).mean()
                p.view(-1)[i] = old
                fd.view(-1)[i] = (plus - minus) / (2 * h)
        assert torch.allclose(p.grad, fd, rtol=1e-5, atol=1e-5 * (1 + float(fd.abs().max()))), \
            (name, p.grad, fd)


@given(w=_w_nonzero, u=_u, b=_b, seed=st.integers(0, 2**16))
def test_log_prob_input_gradient_matches_closed_form(w, u, b, seed):
    """∇ₓ log p(x) through the inverse equals J_f(z)^{-T} ∇_z[log N(z) - log|det J_f(z)|],
    computed with autograd through the closed-form forward map only."""
    layer = _planar(w, u, b)
    flow = Flow([layer])
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(8, 2, generator=g, dtype=F64) * 2
    with torch.no_grad():
        x, _ = layer(z)
    x = x.clone().requires_grad_(True)
    (grad_x,) = torch.autograd.grad(flow.log_prob(x).sum(), x)

    zz = z.clone().requires_grad_(True)
    _, ld = layer(zz)
    base = -0.5 * (zz * zz).sum(-1)
    (grad_z,) = torch.autograd.grad((base - ld).sum(), zz)
    jac = torch.autograd.functional.jacobian(lambda v: layer(v)[0].sum(0), z).permute(1, 0, 2)
    expected = torch.linalg.solve(jac.transpose(-1, -2), grad_z.unsqueeze(-1)).squeeze(-1)
    good = torch.linalg.det(jac) > 1e-3
    assert torch.allclose(grad_x[good], expected[good], rtol=1e-7, atol=1e-7)


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["w", "u", "b"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_parameters_rejected(name, bad):
    kwargs = {"w": [1.0, 0.5], "u": [0.2, -0.3], "b": 0.1}
    if name == "b":
        kwargs["b"] = bad
    else:
        kwargs[name] = [kwargs[name][0], bad]
    with pytest.raises(ValueError, match=rf"Planar: {name} must be finite") as info:
        Planar(**kwargs)
    assert str(bad) in str(info.value)


def test_mismatched_parameter_shapes_rejected():
    with pytest.raises(ValueError, match=r"same shape.*w \(2,\).*u \(3,\)"):
        Planar([1.0, 0.0], [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"w must be a 1-D vector.*got \[\[1.0, 0.0\], \[0.0, "):
        Planar([[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match=r"w must be a 1-D vector .*at least one entry; got \[\]"):
        Planar([], [])
    with pytest.raises(ValueError, match=r"w must be a 1-D vector .*got 'ab'"):
        Planar("ab", [0.0, 1.0])


def test_non_scalar_b_rejected_with_value_error():
    """Regression (fixed in 6cbc5ae): b was reshaped to () before any check (RuntimeError)."""
    with pytest.raises(ValueError, match=r"b must be a single finite number .*; got \[0.5, 0.5\]"):
        Planar([1.0, 0.0], [0.0, 1.0], b=[0.5, 0.5])


@pytest.mark.parametrize("method", ["forward", "inverse", "inverse_where"])
def test_bad_input_rejected(method):
    layer = _planar([1.0, 0.5], [0.2, -0.3], 0.1)
    call = getattr(layer, method)
    assert_rejects_bad_batches(call, 5, [[0.0, 0.0]], torch.int64)


def test_reference_parameters_follow_in_place_edits_and_the_constraint_toggle():
    """The layer keeps nothing between calls: an in-place slider edit, a replaced parameter
    and the constraint toggle are seen at once, and ``effective`` is differentiable."""
    layer = Planar([1.0, 0.0], [-3.0, 0.0], 0.0)
    with torch.no_grad():
        first = layer.wtu_hat.clone()
        layer.u[0] = 2.0  # in place, as a slider does
        assert float(layer.wtu_hat) == pytest.approx(-1.0 + math.log1p(math.exp(2.0)))
        layer.u = torch.nn.Parameter(torch.tensor([-3.0, 0.0]))  # replaced
        assert torch.equal(layer.wtu_hat, first)
        layer.constrain = False
        assert float(layer.wtu_hat) == pytest.approx(-3.0)
    _, c, _ = layer.effective()
    assert c.requires_grad


def test_u_hat_of_a_stack_equals_u_hat_of_each_layer():
    """``u_hat`` works on the last axis: (K, D) stacks give the K single-layer answers."""
    from nfwidgets.flows.planar import one_plus_wtu_hat, u_hat

    g = torch.Generator().manual_seed(3)
    w = torch.randn(6, 3, generator=g, dtype=F64)
    w[2] = 0.0
    u = torch.randn(6, 3, generator=g, dtype=F64) * 3
    stacked, opc = u_hat(w, u), one_plus_wtu_hat(w, u)
    for k in range(6):
        assert torch.equal(stacked[k], u_hat(w[k], u[k]))
        assert torch.equal(opc[k], one_plus_wtu_hat(w[k], u[k]))
    assert torch.equal(stacked[2], u[2]) and float(opc[2]) == 1.0


def test_fold_functions_of_c_and_b_match_the_methods():
    from nfwidgets.flows.planar import fold_interval, singular_projections

    for u in ([0.3, 0.2], [-2.0, 0.0], [-1.0, 0.0]):
        layer = Planar([1.0, 0.0], u, 0.4, constrain=False)
        c, b = float(layer.wtu_hat), float(layer.b.detach())
        assert layer.singular_projections() == singular_projections(c, b)
        assert layer.fold_interval() == fold_interval(c, b)
    assert singular_projections(-0.5, 0.0) is None and fold_interval(-1.0, 0.0) is None
    lo, hi = singular_projections(-2.0, 0.3)
    s = math.acosh(math.sqrt(2.0))
    assert (lo, hi) == pytest.approx((-0.3 - s, -0.3 + s))


@pytest.mark.parametrize("constrain", [True, False])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_rows_propagate_row_wise(constrain, bad):
    """The documented policy: a NaN/inf row gives a non-finite row of the points and leaves the
    other rows exactly as without it — also through the inverse's root finding, which freezes
    the non-finite row (it never converges) instead of iterating on it, and for a folding
    layer (wᵀu < -1, three preimages on a band)."""
    layer = Planar([1.0, 0.5], [-3.0, 0.4] if not constrain else [0.5, -0.3], 0.1,
                   constrain=constrain).double()
    clean = torch.tensor([[0.3, -0.2], [1.0, 0.5], [-2.0, 0.1], [0.05, 0.0]], dtype=F64)
    x = torch.cat([torch.full((1, 2), bad, dtype=F64), clean])
    with torch.no_grad():
        for method in ("forward", "inverse_where"):
            got, want = getattr(layer, method)(x), getattr(layer, method)(clean)
            assert not torch.isfinite(got[0][0]).all(), method
            for g, w in zip(got, want, strict=True):
                assert torch.equal(g[1:], w), method
        if math.isnan(bad) and not constrain:  # a NaN projection is not marked "unique"
            assert not bool(layer.inverse_where(x)[2][0])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("w1", [1e-30, 1e-320, 1e-10])
def test_a_tiny_w_gives_a_log_det_that_matches_the_map(dtype, w1):
    """``u_hat`` and ``one_plus_wtu_hat`` decide "w is zero" by one test (``w_is_zero``), so a
    ‖w‖ that underflows or is subnormal cannot give a map from one rule and a log-det from the
    other."""
    layer = Planar([w1, 0.0], [1.0, 0.0], 0.2).to(dtype)
    z = torch.tensor([[0.5, 0.3], [-1.0, 2.0]], dtype=dtype)
    x, log_det = layer(z)
    assert bool(torch.isfinite(x).all()) and bool(torch.isfinite(log_det).all())
    jac = torch.autograd.functional.jacobian(lambda v: layer(v)[0].sum(0), z).permute(1, 0, 2)
    torch.testing.assert_close(log_det, torch.linalg.slogdet(jac)[1].detach(),
                               rtol=1e-5, atol=1e-5)
