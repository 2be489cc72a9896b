"""nfwidgets.view.FlowView: frames equal an uncached evaluation after announced edits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nfwidgets.flows import ElementwiseAffine, Flow, Planar, Radial
from nfwidgets.grid import deformed_grid, density_grid
from nfwidgets.view import FlowView


def _flow() -> Flow:
    return Flow([Planar([1.5, -0.5], [0.4, 1.2], 0.3), Radial([0.5, 1.0], 0.6, 1.5),
                 ElementwiseAffine([0.2, -0.1], [0.3, 0.5])])


def _assert_frame_is_fresh(view: FlowView) -> None:
    frame = view.compute()
    dens = density_grid(view.flow, view.bounds, view.resolution)
    lines = deformed_grid(view.flow, view.bounds, view.n_lines, 60)
    np.testing.assert_allclose(frame.density, dens.density, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(frame.grid_x, lines.x, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        x, _ = view.flow(view._base_samples)
    np.testing.assert_allclose(frame.samples, x.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("k", [0, 1, 2, None])
def test_compute_after_invalidate_equals_an_uncached_evaluation(k) -> None:
    view = FlowView(_flow(), resolution=40, n_samples=50)
    view.compute()
    view.compute(resolution=20)  # a second grid size keeps its own stages
    with torch.no_grad():
        for i, layer in enumerate(view.flow.layers):
            if k is None or i == k:
                for p in layer.parameters():
                    p.mul_(0.8)
    view.invalidate(k)
    _assert_frame_is_fresh(view)
    np.testing.assert_allclose(view.compute(resolution=20).density,
                               density_grid(view.flow, view.bounds, 20).density,
                               rtol=1e-5, atol=1e-7)


def test_an_edit_that_is_not_announced_is_not_seen() -> None:
    """Explicit invalidation: the view does not watch parameters."""
    view = FlowView(_flow(), resolution=30, n_samples=0)
    before = view.compute().density
    with torch.no_grad():
        view.flow.layers[2].shift.add_(1.0)
    np.testing.assert_array_equal(view.compute().density, before)
    view.invalidate(2)
    assert not np.array_equal(view.compute().density, before)


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_invalidate_rejects_what_is_not_a_layer_index(bad) -> None:
    view = FlowView(_flow(), resolution=20, n_samples=0)
    with pytest.raises(ValueError, match="layer"):
        view.invalidate(bad)


@pytest.mark.parametrize("to", [torch.float64, torch.float32])
def test_a_dtype_change_starts_every_layer_over(to) -> None:
    # each planar layer's û is kept per pass: a flow moved to another dtype must not reuse it
    flow = _flow().to(torch.float32 if to == torch.float64 else torch.float64)
    view = FlowView(flow, resolution=24, n_samples=20)
    view.compute()
    flow.to(to)  # not announced: new grid points (another dtype) start every stage over
    frame = view.compute()
    np.testing.assert_allclose(frame.density, density_grid(flow, view.bounds, 24).density,
                               rtol=1e-5, atol=1e-7)


def test_planar_parameters_are_the_layers_and_follow_an_announced_change():
    layer = Planar([1.0, 0.5], [0.3, -0.2], 0.1)
    view = FlowView(Flow([layer]), resolution=16)
    u_hat, c, one_plus_c = view.planar_parameters(layer)
    ref = layer.effective()
    for got, want in zip((u_hat, c, one_plus_c), ref, strict=True):
        assert torch.equal(got, want.detach())
    with torch.no_grad():
        layer.u.add_(1.0)
    view.invalidate(0)
    assert torch.equal(view.planar_parameters(layer)[0], layer.effective()[0].detach())
    with pytest.raises(ValueError, match="Planar"):
        view.planar_parameters(Radial([0.0, 0.0], 1.0, 0.5))
