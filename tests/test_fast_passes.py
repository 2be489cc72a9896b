"""nfwidgets.fast.passes: the fast forward equals the reference flow, and the staged passes
equal a fresh reference pass after any sequence of edits that is announced by ``invalidate``."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nfwidgets import fast
from nfwidgets.fast import ForwardCache, InverseCache, LayerScratch
from nfwidgets.flows import (
    AffineCoupling,
    ElementwiseAffine,
    Flow,
    Planar,
    Radial,
    SimpleConditioner,
)
from nfwidgets.grid import grid_points

F64, F32 = torch.float64, torch.float32
TOL = {F64: 1e-10, F32: 1e-5}
KINDS = ("planar", "planar_free", "radial", "radial_free", "coupling", "affine")


def _layer(kind: str, g: torch.Generator):
    def r(*shape, scale=1.0):
        return (torch.rand(shape, generator=g, dtype=F64) * 2 - 1) * scale

    if kind.startswith("planar"):  # unconstrained: wᵀu < -1 (a fold) happens
        return Planar(r(2, scale=3), r(2, scale=3), float(r(scale=2)),
                      constrain=kind == "planar")
    if kind.startswith("radial"):
        return Radial(r(2, scale=2), float(0.2 + r().abs()), float(r(scale=3)),
                      constrain=kind == "radial")
    if kind == "coupling":
        mask = [1, 0] if float(r()) > 0 else [0, 1]
        cond = SimpleConditioner(*(float(v) for v in r(5)))
        return AffineCoupling(mask, cond, scale=("exp", "tanh", "softclip", "sigmoid")[
            int(torch.randint(4, (1,), generator=g))])
    return ElementwiseAffine(r(2, scale=0.5), r(2))


def _flow(kinds, seed: int, dtype) -> Flow:
    g = torch.Generator().manual_seed(seed)
    return Flow([_layer(k, g) for k in kinds]).to(dtype)


def _close(a, b, dtype, where=None) -> None:
    if where is not None:
        a, b = a[where], b[where]
    finite = torch.isfinite(b)
    assert torch.equal(torch.isfinite(a), finite)  # ±inf log-dets (clipped points) agree
    a, b = a[finite], b[finite]
    if b.numel():
        err = float((a - b).abs().max())
        assert err <= TOL[dtype] * (1.0 + float(b.abs().max())), err


_kinds = st.lists(st.sampled_from(KINDS), min_size=1, max_size=6)


@settings(max_examples=30)
@given(kinds=_kinds, seed=st.integers(0, 10_000), dtype=st.sampled_from([F64, F32]))
def test_fast_forward_equals_the_flow_values_and_gradients(kinds, seed, dtype):
    flows = [_flow(kinds, seed, dtype) for _ in range(2)]
    z0 = torch.randn(48, 2, generator=torch.Generator().manual_seed(seed), dtype=dtype) * 2
    with torch.no_grad():
        _, ld = flows[1](z0)
    well = ld.abs() < 3.0  # gradients near a fold line (~1/det) amplify rounding
    out = []
    for flow, step in zip(flows, (fast.forward, lambda f, z: f(z)), strict=True):
        z = z0.clone().requires_grad_(True)
        x, ld = step(flow, z)
        per_point = x.sum(-1) + ld
        params = list(flow.parameters())
        grads = torch.autograd.grad(per_point, [*params, z], torch.eye(48, dtype=dtype),
                                    is_grads_batched=True, allow_unused=True)
        out.append((x.detach(), ld.detach(), grads))
    (xf, lf, gf), (xr, lr, gr) = out
    _close(xf, xr, dtype)
    _close(lf, lr, dtype)
    for a, b in zip(gf, gr, strict=True):
        if b is not None:
            _close(a, b, dtype, well)


def test_fast_sampling_draws_what_the_flow_draws():
    flow = _flow(["planar", "planar", "radial", "planar"], 1, F64)
    a = fast.sample_and_log_prob(flow, 100, torch.Generator().manual_seed(5))
    b = flow.sample_and_log_prob(100, torch.Generator().manual_seed(5))
    _close(a[0], b[0], F64)
    _close(a[1], b[1], F64)


def _reference_inverse(flow, pts):
    """``flow.inverse_where(pts)`` and where every layer is well conditioned (|log det| ≤ 1.5
    at each step: a solve's rounding error grows like 1/det, and float32 stacks compound it)."""
    with torch.no_grad():
        x, well = pts, torch.ones(pts.shape[0], dtype=torch.bool)
        for layer in reversed(flow.layers):
            x, ld, _ = layer._inverse_where(x)
            well &= ld.abs() <= 1.5
        return (*flow.inverse_where(pts), well)


@settings(max_examples=25)
@given(kinds=_kinds, seed=st.integers(0, 10_000), dtype=st.sampled_from([F64, F32]),
       edits=st.lists(st.integers(0, 5), min_size=1, max_size=3), n=st.sampled_from([30, 100]))
def test_inverse_pass_after_invalidate_equals_a_fresh_reference_pass(kinds, seed, dtype,
                                                                      edits, n):
    """Folds (unconstrained planar/radial), clipped points (log-det ±inf) and the table path
    (100² points) included; compared where the point has one preimage and every layer is well
    conditioned (see ``_reference_inverse``)."""
    flow = _flow(kinds, seed, dtype)
    _, _, pts = grid_points(((-4, 4), (-4, 4)), n, dtype=dtype)
    cache = InverseCache()
    with torch.no_grad():
        cache.inverse_where(flow, pts)
        for k in edits:
            k %= len(flow.layers)
            for p in flow.layers[k].parameters():
                p.add_(0.1)
            cache.invalidate(k)
            z, ld, unique = cache.inverse_where(flow, pts)
            zr, ldr, ur, well = _reference_inverse(flow, pts)
            assert torch.equal(unique, ur)
            well &= ur
            _close(z, zr, dtype, well)
            _close(ld, ldr, dtype, well)


def test_inverse_pass_recomputes_only_layers_k_to_0_and_keeps_the_rest():
    flow = _flow(["planar", "radial", "coupling", "affine"], 2, F64)
    _, _, pts = grid_points(((-4, 4), (-4, 4)), 20, dtype=F64)
    cache = InverseCache()
    with torch.no_grad():
        cache.inverse_where(flow, pts)
        stages = [s[1] for s in cache._stages]  # pass order: layers 3, 2, 1, 0
        cache.inverse_where(flow, pts)
        assert all(s[1] is t for s, t in zip(cache._stages, stages, strict=True))
        flow.layers[1].beta.add_(0.5)
        stale = cache.inverse_where(flow, pts)[0]  # not announced: the stages are kept
        assert torch.equal(stale, stages[-1])
        cache.invalidate(1)
        z, _, _ = cache.inverse_where(flow, pts)
        assert [s[1] is t for s, t in zip(cache._stages, stages, strict=True)] == [
            True, True, False, False]
        _close(z, flow.inverse_where(pts)[0], F64)


def test_forward_pass_recomputes_only_layers_k_to_the_end():
    flow = _flow(["affine", "planar", "radial", "coupling"], 3, F64)
    _, _, pts = grid_points(((-4, 4), (-4, 4)), 20, dtype=F64)
    cache = ForwardCache()
    with torch.no_grad():
        cache.forward(flow, pts)
        stages = [s[1] for s in cache._stages]
        flow.layers[2].z0.add_(0.5)
        cache.invalidate(2)
        x, ld = cache.forward(flow, pts)
        assert [s[1] is t for s, t in zip(cache._stages, stages, strict=True)] == [
            True, True, False, False]
        xr, ldr = flow(pts)
    _close(x, xr, F64)
    _close(ld, ldr, F64)


def test_structural_changes_need_no_invalidate():
    """New layers, a removed or swapped layer, a replaced layer object and new points are seen
    without a call (identity checks); invalidate(None) recomputes everything."""
    flow = _flow(["planar", "radial", "affine"], 4, F64)
    _, _, pts = grid_points(((-4, 4), (-4, 4)), 20, dtype=F64)
    cache = InverseCache()

    def check():
        with torch.no_grad():
            z, ld, u = cache.inverse_where(flow, pts)
            zr, ldr, ur = flow.inverse_where(pts)
        _close(z, zr, F64)
        _close(ld, ldr, F64)
        assert torch.equal(u, ur)

    check()
    flow.layers.append(ElementwiseAffine([0.3, 0.1], [0.2, 0.0]).double())
    check()
    flow.layers[0], flow.layers[1] = flow.layers[1], flow.layers[0]
    check()
    flow.layers[2] = Planar([0.5, 0.5], [1.0, 0.0], 0.2).double()
    check()
    del flow.layers[1]
    check()
    check()
    del flow.layers[-1]  # the last stage of a forward pass, the first of an inverse pass
    check()
    pts = pts * 0.5  # a new points tensor
    check()
    flow.layers[0].constrain = not flow.layers[0].constrain  # a setting: announce it
    cache.invalidate()
    check()


def test_invalidate_of_a_layer_outside_a_truncated_flow_costs_nothing():
    flow = _flow(["planar", "radial", "coupling", "affine"], 5, F64)
    _, _, pts = grid_points(((-4, 4), (-4, 4)), 20, dtype=F64)
    cache = InverseCache()
    head = flow.truncated(2)
    with torch.no_grad():
        cache.inverse_where(head, pts)
        stages = [s[1] for s in cache._stages]
        cache.invalidate(3)  # not in the first two layers
        cache.inverse_where(flow.truncated(2), pts)
    assert all(s[1] is t for s, t in zip(cache._stages, stages, strict=True))


def test_a_shorter_stack_in_the_same_order_reuses_its_common_stages():
    flow = _flow(["affine", "planar", "radial", "coupling"], 6, F64)
    _, _, pts = grid_points(((-4, 4), (-4, 4)), 20, dtype=F64)
    cache = ForwardCache()
    with torch.no_grad():
        cache.forward(flow, pts)
        stages = [s[1] for s in cache._stages]
        x, _ = cache.forward(flow.truncated(2), pts)  # fewer layers than kept stages
        assert x is stages[1] and len(cache._stages) == 2
        x, _ = cache.forward(flow, pts)
        assert torch.equal(x, flow(pts)[0])


def test_an_edit_beyond_a_truncated_flow_is_seen_when_the_layer_is_shown_again():
    """The builder shows the first k layers: layer 3 edited while hidden, then shown."""
    flow = _flow(["planar", "radial", "affine", "planar"], 7, F64)
    _, _, pts = grid_points(((-4, 4), (-4, 4)), 20, dtype=F64)
    for cache in (InverseCache(), ForwardCache()):
        with torch.no_grad():
            cache.run(flow, pts)
            cache.run(flow.truncated(2), pts)
            flow.layers[3].u.add_(0.7)
            cache.invalidate(3)
            cache.run(flow.truncated(2), pts)
            x, ld, _ = cache.run(flow, pts)
            xr, ldr, _ = flow.inverse_where(pts) if cache.inverse else (*flow(pts), None)
        _close(x, xr, F64)
        _close(ld, ldr, F64)


def test_passes_sharing_a_layer_scratch_derive_u_hat_once_per_change(monkeypatch):
    """FlowView's passes (inverse grid, forward grid lines, samples) share one LayerScratch:
    a planar layer's û is derived once per change, and the results equal the reference."""
    flow = _flow(["planar", "radial", "planar"], 8, F64)
    _, _, pts = grid_points(((-4, 4), (-4, 4)), 20, dtype=F64)
    scratch = LayerScratch()
    inverse, forward = InverseCache(scratch), ForwardCache(scratch)
    calls = []
    original = Planar.effective

    def counting(self):
        calls.append(self)
        return original(self)

    monkeypatch.setattr(Planar, "effective", counting)
    with torch.no_grad():
        inverse.inverse_where(flow, pts)
        forward.forward(flow, pts)
        assert len(calls) == 2  # the two planar layers, once each
        flow.layers[2].u.add_(0.3)
        for cache in (inverse, forward):
            cache.invalidate(2)
        scratch.invalidate(2)
        calls.clear()
        z, ld, _ = inverse.inverse_where(flow, pts)
        x, ldf = forward.forward(flow, pts)
        assert calls == [flow.layers[2]]
        zr, ldr, _ = flow.inverse_where(pts)
        xr, ldfr = flow(pts)
    _close(z, zr, F64)
    _close(ld, ldr, F64)
    _close(x, xr, F64)
    _close(ldf, ldfr, F64)


def test_layer_scratch_never_hands_out_a_dict_of_another_dtype():
    layer = Planar([1.0, 0.5], [0.3, -0.2], 0.1)
    scratch = LayerScratch()
    d32 = scratch.of(layer, torch.zeros(1, dtype=F32))
    d32["effective"] = "float32 values"
    assert scratch.of(layer, torch.zeros(1, dtype=F32)) is d32
    assert "effective" not in scratch.of(layer, torch.zeros(1, dtype=F64))
