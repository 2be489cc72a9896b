"""Grid evaluation: layout, exactness against the engine, finiteness, masks, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nfwidgets.flows import (
    AffineCoupling,
    ElementwiseAffine,
    Flow,
    Planar,
    Radial,
    SimpleConditioner,
)
from nfwidgets.grid import (
    LOG_DENSITY_FLOOR,
    LOG_DET_LIMIT,
    deformed_grid,
    density_grid,
    grid_points,
    log_det_grid,
)

BOX = ((-4.0, 4.0), (-3.0, 5.0))


def _mixed_flow() -> Flow:
    return Flow([
        Planar([1.5, -0.5], [0.4, 1.2], 0.3),
        Radial([0.5, 1.0], 0.6, 1.5),
        AffineCoupling([1, 0], SimpleConditioner(0.2, 0.1, 0.8, 1.5, -0.2)),
        ElementwiseAffine([0.2, -0.1], [0.3, 0.5]),
    ])


def test_grid_points_layout_matches_bqplot_heatmap() -> None:
    xs, ys, pts = grid_points(((0, 4), (10, 12)), 4)
    assert torch.allclose(xs, torch.tensor([0.5, 1.5, 2.5, 3.5]))
    assert torch.allclose(ys, torch.tensor([10.25, 10.75, 11.25, 11.75]))
    grid = pts.reshape(4, 4, 2)  # rows = y, columns = x
    assert torch.allclose(grid[2, 1], torch.tensor([1.5, 11.25]))


def test_density_grid_equals_engine_log_prob_and_arrays_are_plot_ready() -> None:
    flow = _mixed_flow()
    res = density_grid(flow, BOX, n=50)
    _, _, pts = grid_points(BOX, 50)
    with torch.no_grad():
        expected = flow.log_prob(pts).exp().reshape(50, 50).numpy()
    np.testing.assert_allclose(res.density, expected, rtol=1e-5, atol=1e-12)
    for arr in (res.xs, res.ys, res.density, res.log_density):
        assert arr.dtype == np.float32 and arr.flags.c_contiguous and np.isfinite(arr).all()
    assert res.unique.all() and res.invertible


def test_mass_in_a_large_view_is_one() -> None:
    res = density_grid(_mixed_flow().double(), ((-9, 9), (-9, 11)), n=400)
    assert res.mass == pytest.approx(1.0, abs=0.01)


def test_log_det_grid_is_the_forward_log_det_at_grid_points() -> None:
    flow = _mixed_flow()
    res = log_det_grid(flow, BOX, n=30)
    _, _, pts = grid_points(BOX, 30)
    with torch.no_grad():
        expected = flow(pts)[1].reshape(30, 30).numpy()
    np.testing.assert_allclose(res.log_det, expected, rtol=1e-5, atol=1e-5)
    assert not res.clipped.any()


def test_deformed_grid_lines_are_images_of_straight_lines() -> None:
    flow = _mixed_flow()
    res = deformed_grid(flow, BOX, n_lines=5, n_points=7)
    assert res.x.shape == res.y.shape == (10, 7)
    vertical_line = torch.stack([torch.full((7,), -2.0), torch.linspace(-3, 5, 7)], dim=-1)
    with torch.no_grad():
        image = flow(vertical_line)[0]
    np.testing.assert_allclose(res.x[1], image[:, 0].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res.y[1], image[:, 1].numpy(), rtol=1e-5, atol=1e-6)
    horizontal_line = torch.stack([torch.linspace(-4, 4, 7), torch.full((7,), 5.0)], dim=-1)
    with torch.no_grad():
        image = flow(horizontal_line)[0]
    np.testing.assert_allclose(res.x[9], image[:, 0].numpy(), rtol=1e-5, atol=1e-6)


def test_folding_planar_is_masked_not_raised() -> None:
    layer = Planar([2.0, 0.0], [-3.0, 0.5], 0.2, constrain=False)  # wᵀu = -6 < -1
    res = density_grid(Flow([layer]), ((-4, 4), (-4, 4)), n=64)
    lo, hi = layer.fold_interval()
    y = 2.0 * res.xs[None, :].repeat(64, 0)  # wᵀx at every cell
    inside = (y > lo) & (y < hi)
    np.testing.assert_array_equal(~res.unique, inside)
    assert (res.density[~res.unique] == 0).all()
    assert np.isfinite(res.density).all() and not res.invertible


def test_near_singular_planar_is_clipped_and_finite() -> None:
    # wᵀû → -1: det J → 0 on the line wᵀz + b = 0, so log|det J| → -∞ and the density spikes.
    layer = Planar([4.0, 0.0], [-30.0, 0.0], 0.0)
    lg = log_det_grid(Flow([layer]), ((-1, 1), (-1, 1)), n=201)
    assert np.isfinite(lg.log_det).all()
    assert lg.log_det.min() >= -LOG_DET_LIMIT
    dens = density_grid(Flow([layer]), ((-1, 1), (-1, 1)), n=201)
    assert np.isfinite(dens.density).all() and np.isfinite(dens.log_density).all()
    assert dens.log_density.min() >= LOG_DENSITY_FLOOR
    # the spike next to the line x₁ = 0 (column 100, x₁ = O(1e-8) there: det J = tanh²(α)
    # with α ~ (3 wᵀx)^(1/3)) is the highest density of its row, shown, not 0
    row = dens.log_density[100]
    assert row.argmax() == 100 and row[100] > 8.0 and dens.density[:, 100].min() > 1e3


def test_exploding_coupling_stays_finite() -> None:
    cond = SimpleConditioner(s_slope=40.0, s_shift=30.0)
    flow = Flow([AffineCoupling([1, 0], cond, scale="exp")])
    for res in (density_grid(flow, BOX, 40), log_det_grid(flow, BOX, 40)):
        arrays = [getattr(res, k) for k in ("density", "log_density", "log_det") if
                  hasattr(res, k)]
        assert all(np.isfinite(a).all() for a in arrays)
    assert log_det_grid(flow, BOX, 40).clipped.any()
    d = deformed_grid(flow, BOX)
    assert np.isfinite(d.x).all() and np.isfinite(d.y).all() and np.abs(d.y).max() <= 1e3


@pytest.mark.parametrize("bounds", [((0, 0), (0, 1)), ((1, 0), (0, 1)), ((0, math.inf), (0, 1)),
                                    "box", ((0, 1),)])
def test_bad_bounds_raise_with_the_value(bounds: object) -> None:
    with pytest.raises(ValueError, match="bounds"):
        density_grid(_mixed_flow(), bounds, 10)


@pytest.mark.parametrize("n", [1, 0, -3, 2.5, 10_000, True])
def test_bad_resolution_raises(n: object) -> None:
    with pytest.raises(ValueError, match=r"n must be an integer in \[2, 4096\]"):
        density_grid(_mixed_flow(), BOX, n)


def test_wrong_flow_raises() -> None:
    with pytest.raises(ValueError,
                       match=r"flow must be a 2-D nfwidgets Flow .*; got a Flow of dimension 3"):
        density_grid(Flow([Planar([1.0, 0, 0], [0, 1.0, 0], 0.0)]), BOX, 10)
    with pytest.raises(ValueError, match="nfwidgets Flow"):
        log_det_grid(Planar([1.0, 0], [0, 1.0], 0.0), BOX, 10)


def _density_reference(flow: Flow, bounds, n: int, ceiling: float = 20.0) -> dict:
    """density_grid's contract written out elementwise, with no shortcut for the clean case."""
    with torch.no_grad():
        _, _, pts = grid_points(bounds, n)
        z, ld, unique = flow.inverse_where(pts)
        logp = flow.base.log_prob(z) + ld
        clipped = ~torch.isfinite(logp) | (logp > ceiling)
        logp = torch.nan_to_num(logp, nan=LOG_DENSITY_FLOOR, posinf=ceiling,
                                neginf=LOG_DENSITY_FLOOR).clamp(LOG_DENSITY_FLOOR, ceiling)
        dens = torch.where(unique, torch.exp(logp), torch.zeros_like(logp))
        fwd = torch.nan_to_num(-ld, nan=0.0, posinf=LOG_DET_LIMIT,
                               neginf=-LOG_DET_LIMIT).clamp(-LOG_DET_LIMIT, LOG_DET_LIMIT)
    return {"density": dens, "log_density": logp, "log_det": fwd, "unique": unique,
            "clipped": clipped}


@pytest.mark.parametrize("case", ["clean", "spike", "fold", "exploding", "far_tail"])
def test_density_grid_equals_its_elementwise_definition(case: str) -> None:
    """The clean frame skips the masks and clean-ups (two reductions decide); every kind of
    frame (clean, a det J = 0 spike above the ceiling, a fold, log-dets beyond ±LOG_DET_LIMIT,
    densities below the floor) must give the elementwise definition's arrays (the masks
    exactly, the float32 values to rounding: the grid takes the fast path)."""
    flows = {
        "clean": _mixed_flow(),
        "spike": Flow([Planar([4.0, 0.0], [-30.0, 0.0], 0.0)]),
        "fold": Flow([Planar([1.0, 0.5], [-3.0, 0.2], 0.1, constrain=False)]),
        "exploding": Flow([AffineCoupling([1, 0], SimpleConditioner(40.0, 30.0), scale="exp")]),
        "far_tail": Flow([ElementwiseAffine([-2.0, -2.0], [0.0, 0.0])]),
    }
    flow = flows[case]
    box, n = (((-1.0, 1.0), (-1.0, 1.0)), 61) if case == "spike" else (BOX, 60)  # 61: x₁ = 0
    got = density_grid(flow, box, n)
    ref = _density_reference(flow, box, n)
    for key, want in ref.items():  # the grid takes the fast path: equal to rounding
        want = want.reshape(n, n).numpy()
        if want.dtype == bool:
            np.testing.assert_array_equal(getattr(got, key), want, key)
        else:
            np.testing.assert_allclose(getattr(got, key), want, rtol=1e-4, atol=1e-5,
                                       err_msg=key)
    assert got.clipped.any() == (case == "exploding")
    if case == "far_tail":  # densities below e^-50 are drawn as 0 (the floor), not clipped
        assert got.log_density.min() == LOG_DENSITY_FLOOR
    if case == "fold":
        assert not got.unique.all() and (got.density[~got.unique] == 0).all()
    if case == "exploding":
        assert np.abs(got.log_det).max() == LOG_DET_LIMIT


def test_deformed_grid_with_a_cache_follows_edits_and_view_changes() -> None:
    """The cache keeps the line points per (bounds, n_lines, n_points): a parameter edit (said
    with ``invalidate``), a new view and new line counts give what an uncached call gives."""
    from nfwidgets.fast import ForwardCache

    flow = _mixed_flow()
    cache = ForwardCache()
    for bounds, n_lines, n_points in ((BOX, 5, 7), (BOX, 5, 7), (((-1, 2), (0, 3)), 5, 7),
                                      (((-1, 2), (0, 3)), 9, 4)):
        with torch.no_grad():
            flow.layers[0].b.add_(0.25)  # an edit of the first layer: every stage recomputed
        cache.invalidate(0)
        got = deformed_grid(flow, bounds, n_lines, n_points, cache=cache)
        want = deformed_grid(flow, bounds, n_lines, n_points)
        np.testing.assert_array_equal(got.x, want.x)
        np.testing.assert_array_equal(got.y, want.y)
        assert got.x.shape == (2 * n_lines, n_points)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_bounds_are_refused_naming_the_axis(bad):
    """The grid helpers refuse non-finite bounds (documented), naming the axis and the value."""
    flow = Flow([Planar([1.0, 0.0], [0.5, 0.5])])
    with pytest.raises(ValueError, match=r"bounds must be .*; got \(\(-1.0, 1.0\), \(0.0, "):
        density_grid(flow, ((-1.0, 1.0), (0.0, bad)), 8)
    with pytest.raises(ValueError, match=r"the x axis is \(1, -1\)"):
        grid_points(((1.0, -1.0), (0.0, 1.0)), 8)
