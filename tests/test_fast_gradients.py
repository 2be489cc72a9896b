"""nfwidgets.fast equals the reference engine (nfwidgets.flows) in values AND gradients, on
randomly drawn layers and mixed stacks: planar (constrained, and unconstrained with folds),
radial, affine coupling (``SimpleConditioner`` and ``MLPConditioner``, every rule of
``SCALE_RULES``) and elementwise affine.

(a) ``fast.log_prob(flow, x)`` against ``flow.log_prob(x)``: values, and per-point gradients
    with respect to every parameter and to ``x``;
(b) ``fast.sample_and_log_prob`` / ``fast.forward`` against ``flow.sample_and_log_prob`` /
    ``flow(z)``: values and per-point parameter (and input) gradients;
(c) the per-layer ``fast.inverse_where(layer, x, scratch)`` against ``layer._inverse_where(x)``
    on random points and on special ones (fold lines, log-dets clipped to ±inf, the radial
    centre, huge coordinates), NaN where NaN and ±inf where ±inf.

Tolerances: float64 1e-10, float32 1e-5, relative to each element (plus that much absolutely on
the natural scale of the quantity, see ``_agree``). Gradients are taken per point
(``is_grads_batched``): a sum over points would add the points' rounding errors up. Where a
comparison is restricted (an unstable solve whose rounding error grows like 1/det, or points
with several preimages), the docstring says so.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nfwidgets import fast
from nfwidgets.flows import (
    SCALE_RULES,
    AffineCoupling,
    ElementwiseAffine,
    Flow,
    MLPConditioner,
    Planar,
    Radial,
    SimpleConditioner,
)

F64, F32 = torch.float64, torch.float32
TOL = {F64: 1e-10, F32: 1e-5}
#: A reference layer is "well conditioned" at a point when |log det| ≤ WELL there (det within
#: e^±4): beyond, any two exact-to-rounding routes may differ by eps / det.
WELL = 4.0


# ---------------------------------------------------------------------------------------------
# Layer specifications (plain tuples, so hypothesis prints and shrinks them) and their layers

def _pair(lo: float, hi: float):
    return st.tuples(st.floats(lo, hi), st.floats(lo, hi))


_mask = st.sampled_from([(1, 0), (0, 1)])
_rule = st.sampled_from(SCALE_RULES)
_bound = st.floats(0.5, 5.0)

planar_constrained = st.tuples(st.just("planar"), _pair(-3, 3), _pair(-3, 3), st.floats(-2, 2),
                               st.just(True))
planar_free = st.tuples(st.just("planar"), _pair(-3, 3), _pair(-3, 3), st.floats(-2, 2),
                        st.just(False))
radial_constrained = st.tuples(st.just("radial"), _pair(-2, 2), st.floats(0.1, 3.0),
                               st.floats(-6, 6), st.just(True))
# unconstrained but invertible: β > -α (by more than the rounding of α = exp(log α) in float32)
radial_free_ok = st.tuples(_pair(-2, 2), st.floats(0.1, 3.0), st.floats(1e-6, 4.0)).map(
    lambda t: ("radial", t[0], t[1], -t[1] + t[2], False))
radial_free = st.tuples(st.just("radial"), _pair(-2, 2), st.floats(0.1, 3.0),
                        st.floats(-6, 6), st.just(False))
coupling_simple = st.tuples(st.just("simple"), _mask, _rule, _bound,
                            st.tuples(*[st.floats(-2, 2)] * 5))
coupling_mlp = st.tuples(st.just("mlp"), _mask, _rule, _bound,
                         st.sampled_from([(4,), (3, 3)]), st.integers(0, 2**16),
                         st.floats(0.1, 1.0))
affine = st.tuples(st.just("affine"), _pair(-1, 1), _pair(-2, 2))

INVERTIBLE = st.one_of(planar_constrained, radial_constrained, radial_free_ok, coupling_simple,
                       coupling_mlp, affine)
KINDS = {"planar_constrained": planar_constrained, "planar_free": planar_free,
         "radial_constrained": radial_constrained, "radial_free": radial_free,
         "coupling_simple": coupling_simple, "coupling_mlp": coupling_mlp, "affine": affine}
ANY = st.one_of(*KINDS.values())


def build(spec: tuple, dtype: torch.dtype):
    """The layer a specification describes (parameters made in float64, then cast)."""
    kind = spec[0]
    if kind == "planar":
        _, w, u, b, constrain = spec
        layer = Planar(list(w), list(u), b, constrain=constrain)
    elif kind == "radial":
        _, z0, alpha, beta, constrain = spec
        layer = Radial(list(z0), alpha, beta, constrain=constrain)
    elif kind == "simple":
        _, mask, rule, bound, params = spec
        layer = AffineCoupling(list(mask), SimpleConditioner(*params), scale=rule, bound=bound)
    elif kind == "mlp":
        _, mask, rule, bound, hidden, seed, scale = spec
        cond = MLPConditioner(1, 1, hidden).double()
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():  # random weights everywhere (the last layer starts at zero)
            for p in cond.parameters():
                p.copy_(torch.randn(p.shape, generator=g, dtype=F64) * scale)
        layer = AffineCoupling(list(mask), cond, scale=rule, bound=bound)
    else:
        _, log_scale, shift = spec
        layer = ElementwiseAffine(list(log_scale), list(shift))
    return layer.double().to(dtype)


def _points(seed: int, n: int, scale: float, dtype: torch.dtype) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, 2, generator=g, dtype=F64) * scale).to(dtype)


def _agree(a: torch.Tensor, b: torch.Tensor, tol: float, scale=1.0, what: str = "") -> None:
    """``torch.testing.assert_close(a, b, rtol=tol, atol=tol * scale, equal_nan=True)`` with a
    per-element ``scale`` (broadcast): NaN where NaN, the same ±inf, and finite values with
    ``|a - b| ≤ tol (|b| + scale)``."""
    assert a.shape == b.shape and a.dtype == b.dtype, (what, a.shape, b.shape)
    assert torch.equal(torch.isnan(a), torch.isnan(b)), f"{what}: NaN positions differ"
    assert torch.equal(torch.isposinf(a), torch.isposinf(b)), f"{what}: +inf positions differ"
    assert torch.equal(torch.isneginf(a), torch.isneginf(b)), f"{what}: -inf positions differ"
    fin = torch.isfinite(b)
    scale = torch.as_tensor(scale, dtype=b.dtype).expand_as(b)
    a, b, scale = a[fin], b[fin], scale[fin]
    if b.numel():
        excess = ((a - b).abs() - tol * (b.abs() + scale)).max()
        assert float(excess) <= 0.0, (
            f"{what}: max |a - b| = {float((a - b).abs().max()):.3g} (tol {tol:g})")


def _grads_agree(ga, gb, tol: float, rows=None, what: str = "") -> None:
    """Per-point gradients (leading axis: the point), restricted to ``rows``; absolute slack on
    the scale of each gradient tensor (its largest finite entry)."""
    for k, (a, b) in enumerate(zip(ga, gb, strict=True)):
        assert (a is None) == (b is None), (what, k)
        if b is None:
            continue
        if rows is not None:
            a, b = a[rows], b[rows]
        fin = b[torch.isfinite(b)]
        scale = 1.0 + (float(fin.abs().max()) if fin.numel() else 0.0)
        _agree(a, b, tol, scale, f"{what} gradient {k}")


def _per_point_grads(out: torch.Tensor, inputs: list[torch.Tensor]):
    n = out.shape[0]
    return torch.autograd.grad(out, inputs, torch.eye(n, dtype=out.dtype),
                               is_grads_batched=True, allow_unused=True)


def _inverse_conditioning(flow: Flow, x: torch.Tensor) -> torch.Tensor:
    """Points where every reference layer of the inverse pass has |log det| ≤ WELL."""
    well = torch.ones(x.shape[0], dtype=torch.bool)
    with torch.no_grad():
        for layer in reversed(flow.layers):
            x, ld, _ = layer._inverse_where(x)
            well &= ld.abs() <= WELL
    return well


def _forward_conditioning(flow: Flow, z: torch.Tensor) -> torch.Tensor:
    well = torch.ones(z.shape[0], dtype=torch.bool)
    with torch.no_grad():
        for layer in flow.layers:
            z, ld = layer._forward(z)
            well &= ld.abs() <= WELL
    return well


# ---------------------------------------------------------------------------------------------
# (a) log_prob: values and gradients

def _check_log_prob(specs, seed, scale, dtype, n=24):
    flow = Flow([build(s, dtype) for s in specs])
    params = list(flow.parameters())
    x0 = _points(seed, n, scale, dtype)
    tol = TOL[dtype]
    out = []
    for route in (fast.log_prob, Flow.log_prob):
        x = x0.clone().requires_grad_(True)
        lp = route(flow, x)
        out.append((lp.detach(), _per_point_grads(lp, [*params, x])))
    (lf, gf), (lr, gr) = out
    _agree(lf, lr, tol, what="log_prob (with gradient)")
    _grads_agree(gf, gr, tol, what="log_prob")
    # Without gradient the fast layers take their own routes (closed-form radial, complex row
    # updates, sigmoid tanh): equal where no layer's solve is ill-conditioned.
    with torch.no_grad():
        lf, lr = fast.log_prob(flow, x0), flow.log_prob(x0)
    well = _inverse_conditioning(flow, x0)
    assert torch.equal(torch.isfinite(lf), torch.isfinite(lr))
    _agree(lf[well], lr[well], tol, what="log_prob (no gradient)")


@settings(max_examples=35, deadline=None)
@given(specs=st.lists(INVERTIBLE, min_size=1, max_size=5), seed=st.integers(0, 10_000),
       scale=st.sampled_from([0.5, 2.0, 6.0]))
def test_log_prob_values_and_gradients_float64(specs, seed, scale):
    _check_log_prob(specs, seed, scale, F64)


@settings(max_examples=25, deadline=None)
@given(specs=st.lists(INVERTIBLE, min_size=1, max_size=4), seed=st.integers(0, 10_000),
       scale=st.sampled_from([0.5, 2.0]))
def test_log_prob_values_and_gradients_float32(specs, seed, scale):
    _check_log_prob(specs, seed, scale, F32)


@settings(max_examples=30, deadline=None)
@given(spec=st.one_of(coupling_simple, coupling_mlp), seed=st.integers(0, 10_000),
       dtype=st.sampled_from([F64, F32]))
def test_log_prob_of_every_coupling_rule_alone(spec, seed, dtype):
    """One coupling layer at a time, so every conditioner × rule × mask is met on its own."""
    _check_log_prob([spec], seed, 2.0, dtype)


# ---------------------------------------------------------------------------------------------
# (b) forward and sample_and_log_prob: values and gradients

@settings(max_examples=35, deadline=None)
@given(specs=st.lists(ANY, min_size=1, max_size=6), seed=st.integers(0, 10_000),
       dtype=st.sampled_from([F64, F64, F32]))
def test_forward_values_and_gradients(specs, seed, dtype):
    """``fast.forward`` batches runs of planar layers (``planar_run``): other sums, other
    rounding. Points x everywhere; log-dets and gradients where every layer's |log det| ≤
    WELL (near a fold line both are ~1/det, and so is their rounding), with equal infinities
    everywhere else."""
    flow = Flow([build(s, dtype) for s in specs])
    params = list(flow.parameters())
    z0 = _points(seed, 24, 2.0, dtype)
    tol = TOL[dtype]
    out = []
    for route in (fast.forward, Flow.forward):
        z = z0.clone().requires_grad_(True)
        x, ld = route(flow, z)
        grads = _per_point_grads(x.sum(-1) + ld, [*params, z])
        out.append((x.detach(), ld.detach(), grads))
    (xf, lf, gf), (xr, lr, gr) = out
    well = _forward_conditioning(flow, z0)
    row_scale = 1.0 + xr.abs().amax(-1, keepdim=True)
    _agree(xf, xr, tol, row_scale, "forward x")
    _agree(lf[well], lr[well], tol, what="forward log_det")
    _grads_agree(gf, gr, tol, well, "forward")
    with torch.no_grad():
        xf2, lf2 = fast.forward(flow, z0)
    _agree(xf2, xr, tol, row_scale, "forward x (no gradient)")
    _agree(lf2[well], lr[well], tol, what="forward log_det (no gradient)")


@settings(max_examples=30, deadline=None)
@given(specs=st.lists(ANY, min_size=1, max_size=5), seed=st.integers(0, 10_000),
       dtype=st.sampled_from([F64, F32]))
def test_sample_and_log_prob_values_and_gradients(specs, seed, dtype):
    """Same generator state, same draws; values and per-sample parameter gradients (where every
    layer is well conditioned, as in the forward test)."""
    flow = Flow([build(s, dtype) for s in specs])
    params = list(flow.parameters())
    tol = TOL[dtype]
    n = 20
    xf, lpf = fast.sample_and_log_prob(flow, n, torch.Generator().manual_seed(seed))
    xr, lpr = flow.sample_and_log_prob(n, torch.Generator().manual_seed(seed))
    gf = _per_point_grads(xf.sum(-1) + lpf, params)
    gr = _per_point_grads(xr.sum(-1) + lpr, params)
    z = flow.base.sample(n, generator=torch.Generator().manual_seed(seed))
    well = _forward_conditioning(flow, z)
    xf, lpf, xr, lpr = xf.detach(), lpf.detach(), xr.detach(), lpr.detach()
    _agree(xf, xr, tol, 1.0 + xr.abs().amax(-1, keepdim=True), "samples")
    _agree(lpf[well], lpr[well], tol, what="sample log_prob")
    _grads_agree(gf, gr, tol, well, "sample_and_log_prob")


# ---------------------------------------------------------------------------------------------
# (c) the per-layer fast inverse, special points included

def _special_points(layer, dtype) -> torch.Tensor:
    """Points where things happen: planar fold lines and singular projections (α + b = 0 and
    the ends of the fold interval), the radial centre and fold circle, huge coordinates."""
    big = 1e150 if dtype == F64 else 1e18
    pts = [[0.0, 0.0], [big, 0.0], [0.0, -big], [big, big], [-big, 3.0], [1e-300, -1e-300]]
    if isinstance(layer, Planar):
        w = layer.w.detach().double()
        nw2 = float(w @ w)
        if nw2 > 0:
            perp = torch.stack([-w[1], w[0]])
            b = float(layer.b.detach())
            ys = [-b]
            fold = layer.fold_interval()
            if fold is not None:
                ys += list(fold)
            sing = layer.singular_projections()
            if sing is not None:
                ys += list(sing)
            for y in ys:
                for dy in (0.0, 1e-12, -1e-12, 1e-6):
                    for t in (0.0, 1.5):
                        pts.append(((y + dy) * w / nw2 + t * perp).tolist())
    if isinstance(layer, Radial):
        z0 = layer.z0.detach().double()
        pts += [z0.tolist(), (z0 + 1e-300).tolist(), (z0 + torch.tensor([1e-9, 0.0])).tolist()]
        radius = layer.fold_radius()
        alpha, _, apb = (float(t.detach()) for t in layer.alpha_beta_hat())
        for r in [radius, abs(apb), alpha]:
            if r is not None and math.isfinite(r):
                for dr in (0.0, 1e-12, -1e-12):
                    pts.append((z0 + torch.tensor([r + dr, 0.0], dtype=F64)).tolist())
    return torch.tensor(pts, dtype=F64).to(dtype)


# Extreme parameters that clip log-dets to ±inf: 1 + wᵀû = softplus(wᵀu) underflowing to 0
# (c = -1 exactly: det J = 0 on the line α + b = 0), α + β̂ = softplus(β) underflowing to 0
# (det J = 0 at the radial centre), a coupling log-scale overflowing exp.
_extreme = st.one_of(
    st.tuples(st.just("planar"), _pair(0.5, 3), st.tuples(st.just(-2000.0), st.floats(-3, 3)),
              st.floats(-2, 2), st.just(True)),
    st.tuples(st.just("radial"), _pair(-2, 2), st.floats(0.1, 3.0), st.just(-800.0),
              st.booleans()),
    st.tuples(st.just("simple"), _mask, st.just("exp"), _bound,
              st.tuples(st.floats(-3, 3), st.floats(-2, 2), st.floats(-2, 2), st.floats(-3, 3),
                        st.floats(-2, 2))),
)


def _check_layer_inverse(spec, seed, dtype, grad: bool):
    layer = build(spec, dtype)
    x0 = torch.cat([_points(seed, 16, 3.0, dtype), _special_points(layer, dtype)])
    tol = TOL[dtype]
    with torch.set_grad_enabled(grad):
        zf, lf, uf = fast.inverse_where(layer, x0, {})
        zr, lr, ur = layer._inverse_where(x0)
    assert (uf is None) == (ur is None)
    rows = torch.ones(x0.shape[0], dtype=torch.bool)
    if ur is not None:
        assert torch.equal(uf, ur)
        rows = ur  # several preimages (an unconstrained fold): compare where unique only
    scale = 1.0 + x0.abs().amax(-1, keepdim=True)
    _agree(zf.detach()[rows], zr.detach()[rows], tol, scale[rows], "z")
    _agree(lf.detach()[rows], lr.detach()[rows], tol, what="log_det")


@pytest.mark.parametrize("kind", list(KINDS))
@settings(max_examples=15, deadline=None)
@given(data=st.data(), seed=st.integers(0, 10_000), dtype=st.sampled_from([F64, F64, F32]),
       grad=st.booleans())
def test_layer_inverse_where_on_random_and_special_points(kind, data, seed, dtype, grad):
    """Every layer kind on its own (so each fast route is met often), with and without
    gradient (without: the closed-form radial, complex row updates, sigmoid tanh)."""
    _check_layer_inverse(data.draw(KINDS[kind], label="spec"), seed, dtype, grad)


@settings(max_examples=25, deadline=None)
@given(spec=_extreme, seed=st.integers(0, 10_000), dtype=st.sampled_from([F64, F32]),
       grad=st.booleans())
def test_layer_inverse_where_with_clipped_log_dets(spec, seed, dtype, grad):
    _check_layer_inverse(spec, seed, dtype, grad)


@pytest.mark.parametrize("kind", list(KINDS))
@settings(max_examples=8, deadline=None)
@given(data=st.data(), seed=st.integers(0, 10_000), dtype=st.sampled_from([F64, F32]))
def test_layer_inverse_where_gradients(kind, data, seed, dtype):
    """Per-point gradients of ``z.sum() + log_det`` with respect to the parameters and ``x``,
    on the points with one preimage (folds of unconstrained layers included)."""
    layer = build(data.draw(KINDS[kind], label="spec"), dtype)
    params = list(layer.parameters())
    x0 = _points(seed, 16, 3.0, dtype)
    out = []
    for route in (lambda v: fast.inverse_where(layer, v, {}), layer._inverse_where):
        x = x0.clone().requires_grad_(True)
        z, ld, u = route(x)
        out.append((z.detach(), ld.detach(), u,
                    _per_point_grads(z.sum(-1) + ld, [*params, x])))
    (zf, lf, uf, gf), (zr, lr, ur, gr) = out
    rows = torch.ones(16, dtype=torch.bool) if ur is None else ur
    assert (uf is None) == (ur is None) and (ur is None or torch.equal(uf, ur))
    tol = TOL[dtype]
    _agree(zf[rows], zr[rows], tol, 1.0 + x0.abs().amax(-1, keepdim=True)[rows], "z")
    _agree(lf[rows], lr[rows], tol, what="log_det")
    _grads_agree(gf, gr, tol, rows, "inverse_where")
