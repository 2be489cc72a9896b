"""nfwidgets.fast.planar equals the reference planar layer (nfwidgets.flows.planar) to rounding:
the batched forward run (values and gradients) and the table-seeded grid inverse."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nfwidgets.fast.planar import planar_inverse_where, planar_run
from nfwidgets.flows import Planar
from nfwidgets.flows.planar import solve_projection
from nfwidgets.grid import grid_points

F64, F32 = torch.float64, torch.float32
#: fast == reference: float64 to 1e-10, float32 to 1e-5, relative to the values' scale.
TOL = {F64: 1e-10, F32: 1e-5}

_param = st.floats(-4.0, 4.0)
_layer = st.tuples(st.tuples(_param, _param), st.tuples(_param, _param), st.floats(-3.0, 3.0))


def _layers(specs, constrain: bool, dtype) -> list[Planar]:
    return [Planar(list(w), list(u), b, constrain=constrain).to(dtype) for w, u, b in specs]


def _close(fast: torch.Tensor, ref: torch.Tensor, dtype, where=None) -> None:
    if where is not None:
        fast, ref = fast[where], ref[where]
    scale = 1.0 + ref.abs().max() if ref.numel() else 1.0
    err = float((fast - ref).abs().max()) if ref.numel() else 0.0
    assert err <= TOL[dtype] * float(scale), err


@settings(max_examples=40)
@given(specs=st.lists(_layer, min_size=1, max_size=6), constrain=st.booleans(),
       dtype=st.sampled_from([F64, F32]), seed=st.integers(0, 100))
def test_planar_run_equals_the_layers_one_by_one(specs, constrain, dtype, seed):
    """Values and gradients (parameters and input) of a run equal the reference layers'.
    Gradients are compared on a loss over the points where every |det J| ≥ 0.05: near a fold
    line the log-det's gradient is ~1/det, and rounding differences grow with it."""
    g = torch.Generator().manual_seed(seed)
    z0 = (torch.randn(64, 2, generator=g, dtype=F64) * 3).to(dtype)
    well = torch.ones(64, dtype=torch.bool)
    with torch.no_grad():
        x = z0
        for layer in _layers(specs, constrain, dtype):
            x, step = layer(x)
            well &= step >= -3.0
    runs = []
    for fast in (True, False):
        layers = _layers(specs, constrain, dtype)
        z = z0.clone().requires_grad_(True)
        if fast:
            x, ld = planar_run(layers, z)
        else:
            x, ld = z, torch.zeros(64, dtype=dtype)
            for layer in layers:
                x, step = layer(x)
                ld = ld + step
        # per-point gradients (a sum over points would add the points' rounding errors up)
        per_point = x.sum(-1) + ld
        params = [p for layer in layers for p in layer.parameters()]
        grads = torch.autograd.grad(per_point, [*params, z], torch.eye(64, dtype=dtype),
                                    is_grads_batched=True)
        runs.append((x.detach(), ld.detach(), grads))
    (xf, ldf, gf), (xr, ldr, gr) = runs
    _close(xf, xr, dtype)
    assert torch.equal(torch.isfinite(ldf), torch.isfinite(ldr))
    _close(ldf, ldr, dtype, torch.isfinite(ldr))
    for a, b in zip(gf, gr, strict=True):
        _close(a, b, dtype, well)


def _grid_inverse(layer: Planar, x: torch.Tensor, table=None):
    with torch.no_grad():
        fast = planar_inverse_where(layer, x, table)
        ref = layer._inverse_where(x)
    return fast, ref


@settings(max_examples=25)
@given(spec=_layer, constrain=st.booleans(), dtype=st.sampled_from([F64, F32]),
       half=st.sampled_from([0.05, 4.0, 40.0]))
def test_grid_inverse_equals_the_reference(spec, constrain, dtype, half):
    """On a 100² grid (the table path when invertible; the reference solver for folds) the fast
    inverse gives the reference's preimage, log-det and ``unique`` mask, compared where the
    point has one preimage and the solve is well conditioned (g'(α) = 1 + c sech² ≥ 0.1:
    α's rounding error is eps / g'(α) for any exact solver)."""
    (layer,) = _layers([spec], constrain, dtype)
    _, _, x = grid_points(((-half, half), (-half, half)), 100, dtype=dtype)
    (zf, ldf, uf), (zr, ldr, ur) = _grid_inverse(layer, x)
    assert (uf is None) == (ur is None)
    unique = torch.ones(x.shape[0], dtype=torch.bool) if ur is None else ur
    if ur is not None:
        assert torch.equal(uf, ur)
    _, c, opc = layer.effective()
    h = torch.tanh(zr @ layer.w + layer.b).detach()
    well = unique & ((opc - c * h * h).detach() >= 0.1)
    _close(zf, zr, dtype, well)
    _close(ldf, ldr, dtype, well)


@pytest.mark.parametrize("dtype", [F64, F32])
def test_grid_inverse_gradients_equal_the_reference(dtype):
    """Through the table path with autograd on (implicit-function gradient): the gradients of
    Σ log p equal the reference's."""
    _, _, x = grid_points(((-3, 3), (-3, 3)), 100, dtype=dtype)
    grads = []
    for fast in (True, False):
        layer = Planar([1.2, -0.4], [0.7, 1.1], 0.3).to(dtype)
        xg = x.clone().requires_grad_(True)
        z, ld, _ = planar_inverse_where(layer, xg) if fast else layer._inverse_where(xg)
        (-0.5 * (z * z).sum() + ld.sum()).backward()
        grads.append([p.grad for p in layer.parameters()] + [xg.grad])
    for a, b in zip(*grads, strict=True):
        _close(a, b, dtype)


@pytest.mark.parametrize("grad", [False, True])
def test_large_float32_batch_at_c_minus_one(grad):
    """Regression (bug in eabdf3c, fixed in 6cbc5ae): a float32 batch large enough for the
    table path, through a planar layer whose wᵀû rounds to -1. The Newton polish divided by
    dg = 1 + c·sech² = 0, α became ±inf, and the acceptance test |residual| <= 4 eps (|α| + …)
    read inf <= inf, so the bracketed fallback was skipped."""
    w = torch.tensor([0.5967552065849304, 1.1500552892684937])
    u = torch.tensor([-0.3554772138595581, -0.6850689053535461])
    layer = Planar(w, u, torch.tensor(2.3119688034057617), constrain=False)
    assert float(layer.wtu_hat.detach()) == -1.0
    pts = torch.tensor([[4.464597702026367, -4.326582431793213],
                        [-4.9565629959106445, -4.958433151245117],
                        [4.993644714355469, 4.991060256958008]])
    x = torch.cat([pts, pts[:1].expand(17_000, 2)])
    with torch.set_grad_enabled(grad):
        z, ld, _ = planar_inverse_where(layer, x)
    with torch.no_grad():
        z_small, ld_small = layer.inverse(pts)
        x_again, _ = layer(z_small)
    assert torch.allclose(x_again, pts, atol=1e-5)
    assert torch.allclose(z[:3].detach(), z_small, atol=1e-4)
    assert torch.allclose(ld[:3].detach(), ld_small, atol=1e-3)


@pytest.mark.parametrize("dtype", [F64, F32])
def test_table_reuse_gives_the_fresh_answer(dtype):
    """The table kept in ``table`` is reused while (c, b) are unchanged and the input's range
    stays inside it: the reused table gives what a fresh solve gives, and a change of b, of c
    or of the range rebuilds it."""
    layer = Planar([1.0, 0.5], [0.8, -0.3], 0.2).to(dtype)
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(40_000, 2, generator=g, dtype=F64) * 8 - 4).to(dtype)
    tol = 1e-12 if dtype == F64 else 1e-5
    table: dict = {}
    with torch.no_grad():
        planar_inverse_where(layer, x, table)
        first = table["table"]
        x2 = x * 1.02 + 0.01  # the input moves a little (a layer above is being dragged)
        z2, ld2, _ = planar_inverse_where(layer, x2, table)
        assert table["table"] is first
        z2_fresh, ld2_fresh, _ = planar_inverse_where(layer, x2)
        assert float((z2 - z2_fresh).abs().max()) <= tol
        assert float((ld2 - ld2_fresh).abs().max()) <= tol
        planar_inverse_where(layer, x * 3.0, table)
        assert table["table"] is not first
        wide = table["table"]
        planar_inverse_where(layer, x * 0.5, table)
        assert table["table"] is not wide
        narrow = table["table"]
        layer.b.fill_(-0.7)
        z3, _, _ = planar_inverse_where(layer, x, table)
        assert table["table"] is not narrow
        x3, _ = layer(z3)
        assert float((x3 - x).abs().max()) <= (1e-12 if dtype == F64 else 1e-4)


@pytest.mark.parametrize("c", [1.0, 20.0, 1000.0])
@pytest.mark.parametrize("half", [0.01, 1.0])
def test_grid_inverse_is_accurate_relative_to_small_preimages(c: float, half: float) -> None:
    """On a plot grid (the table path), z = x - û tanh(α + b) cancels near α + b = 0 when |û|
    is large: tanh must be accurate relative to itself there. float32 against a float64
    solve, in views down to ±0.01 (a tanh off by ~eps absolutely gave 0.3–0.9%)."""
    layer = Planar([1.0, 0.0], [c, 0.0], 0.0, constrain=False).to(F32)
    _, _, pts = grid_points(((-half, half), (-half, half)), 200)
    with torch.no_grad():
        z, _, _ = planar_inverse_where(layer, pts)
    alpha = solve_projection(pts.double()[:, 0], torch.tensor(c, dtype=F64),
                             torch.tensor(0.0, dtype=F64))
    ref = pts.double().clone()
    ref[:, 0] = alpha
    rel = ((z.double() - ref).norm(dim=1) / ref.norm(dim=1)).max()
    assert float(rel) < 1e-4, float(rel)
