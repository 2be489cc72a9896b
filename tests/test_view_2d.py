"""``nfwidgets.view_2d``: the base picture, a prefix of a stack, a coupling probe, circles."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nfwidgets import Flow, Planar, Radial, StandardNormal
from nfwidgets.grid import density_grid
from nfwidgets.layer_controls import new_layer
from nfwidgets.view import FlowView
from nfwidgets.view_2d import PrefixView, base_picture, circle_lines, coupling_probe

BOUNDS = ((-3.0, 3.0), (-2.0, 2.0))


def test_base_picture_is_p_z_with_straight_lines_and_the_views_samples() -> None:
    flow = Flow([Planar([1.0, 0.0], [0.5, 0.0], 0.0)])
    v = FlowView(flow, BOUNDS, 16, n_lines=5, n_samples=10, seed=3)
    pic = base_picture(v)
    ident = density_grid(Flow([], base=StandardNormal(2)), BOUNDS, 16).density  # p_z itself
    np.testing.assert_allclose(pic.density, ident, rtol=1e-6)
    assert pic.lines_x.shape == (10, 2) and pic.lines_y.shape == (10, 2)
    assert pic.lines_x[:5, 0].tolist() == pytest.approx([-3.0, -1.5, 0.0, 1.5, 3.0])
    np.testing.assert_array_equal(pic.samples, v._base_samples.numpy())


def test_prefix_view_shows_the_first_k_layers() -> None:
    layers = [Planar([2.0, 0.0], [1.0, 0.0], 0.0), Radial([0.5, 0.5], alpha=0.5, beta=1.0)]
    flow = Flow(layers)
    v = PrefixView(flow, BOUNDS, 16, n_samples=0)
    v.after = 1
    np.testing.assert_allclose(v.compute().density,
                               density_grid(Flow(layers[:1]), BOUNDS, 16).density, rtol=1e-5)
    v.after = None
    np.testing.assert_allclose(v.compute().density, density_grid(flow, BOUNDS, 16).density,
                               rtol=1e-5)


def test_coupling_probe_matches_autograd() -> None:
    layer = new_layer("coupling").double()
    probe = coupling_probe(layer, (0.7, -0.4))
    z = torch.tensor([0.7, -0.4], dtype=torch.float64)
    jac = torch.autograd.functional.jacobian(lambda p: layer(p[None])[0][0], z)
    np.testing.assert_allclose(probe.jacobian, jac.numpy(), atol=1e-12)
    assert probe.log_det == pytest.approx(float(torch.linalg.det(jac).abs().log()))
    with torch.no_grad():
        layer.conditioner.t_shift.fill_(float("nan"))
    with pytest.raises(ValueError, match="t_shift"):
        coupling_probe(layer, (0.0, 0.0))


def test_circle_lines_are_circles() -> None:
    xs, ys = circle_lines((1.0, -1.0), (0.5, 2.0))
    r = np.hypot(xs - 1.0, ys + 1.0)
    np.testing.assert_allclose(r, [[0.5] * xs.shape[1], [2.0] * xs.shape[1]])
