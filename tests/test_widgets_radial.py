"""RadialExplorer: controls drive the engine, the plots show the engine's exact values."""

from __future__ import annotations

import math
import random

import ipywidgets as W
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import assert_mark_arrays_finite
from helpers import panel_pixels, split_rows

import nfwidgets
from nfwidgets import Radial
from nfwidgets.grid import density_grid, grid_points
from nfwidgets.widgets import RadialExplorer

N = 48


@pytest.fixture
def explorer() -> RadialExplorer:
    return RadialExplorer(redraw_delay=0, resolution=N)


def _drag(mark, x: float, y: float) -> None:
    """What the browser does at the end of a drag step: x and y in one state update."""
    with mark.hold_trait_notifications():
        mark.x = np.array([x])
        mark.y = np.array([y])


def _click(explorer: RadialExplorer, panel: str, x: float, y: float) -> None:
    """The message bqplot's Image mark sends when the learner clicks it."""
    explorer.panels[panel].mark._handle_custom_msgs(
        None, {"event": "element_click", "data": {"click_x": x, "click_y": y}})


def test_sliders_write_the_layer_parameters(explorer: RadialExplorer) -> None:
    explorer.set(z0_1=-1.25, z0_2=2.0, alpha=0.8, beta=-0.3, constrain=False)
    layer = explorer.layer
    assert layer.z0.tolist() == pytest.approx([-1.25, 2.0])
    assert float(layer.alpha.detach()) == pytest.approx(0.8, rel=1e-6)
    assert float(layer.beta.detach()) == pytest.approx(-0.3)
    assert layer.constrain is False
    assert explorer.flow.layers[0] is layer


def test_plotted_density_and_log_det_are_the_engines(explorer: RadialExplorer, png_pixels) -> None:
    explorer.set(z0_1=0.4, z0_2=-0.7, alpha=0.3, beta=2.0)
    expected = density_grid(explorer.flow, explorer.bounds, N)
    frame = explorer.last_frame
    np.testing.assert_array_equal(frame.density, expected.density)
    np.testing.assert_array_equal(frame.log_det, expected.log_det)
    assert frame.mass == pytest.approx(expected.mass)
    # log|det J| shown at x is the forward map's at the preimage z = f⁻¹(x)
    _, _, pts = grid_points(explorer.bounds, N)
    with torch.no_grad():
        z, _ = explorer.flow.inverse(pts)
        _, fwd_ld = explorer.flow(z)
    np.testing.assert_allclose(frame.log_det.reshape(-1), fwd_ld.numpy(), atol=1e-4)
    panel = explorer.panels["density"]
    np.testing.assert_array_equal(png_pixels(panel.last_png),
                                  panel_pixels(panel, frame.density))


@pytest.mark.parametrize(("alpha", "beta", "constrain"),
                         [(0.5, 1.0, True), (2.0, -4.0, True), (0.05, 5.0, True),
                          (1.5, -0.7, False), (0.3, -4.5, False)])
def test_readout_shows_beta_hat(explorer: RadialExplorer, alpha: float, beta: float,
                                constrain: bool) -> None:
    explorer.set(alpha=alpha, beta=beta, constrain=constrain)
    a, b = torch.tensor(alpha, dtype=torch.float64), torch.tensor(beta, dtype=torch.float64)
    beta_hat = float(-a + F.softplus(b)) if constrain else beta
    text = explorer.params.value
    assert f"β̂ = <b>{beta_hat:+.3f}</b>" in text
    assert f"α + β̂ = <b>{alpha + beta_hat:+.3f}</b>" in text
    assert ("constraint <b>off</b>" in text) is (not constrain)
    if constrain:
        assert beta_hat > -alpha


def test_constraint_off_warns_and_draws_the_fold_circles(explorer: RadialExplorer) -> None:
    explorer.set(z0_1=0.5, z0_2=-0.5, alpha=0.5, beta=-3.0)
    assert explorer.warning.layout.display == "none"  # constrained: β̂ > -α
    assert not explorer._fold_x.visible and not explorer._fold_z.visible
    assert explorer.last_frame.invertible
    explorer.controls["constrain"].value = False  # β̂ = -3 < -α = -0.5
    layer = explorer.layer
    assert "not invertible" in explorer.warning.value
    assert "inside out" in explorer.warning.value
    assert explorer.warning.layout.display is None
    radius = layer.fold_radius()
    assert radius == pytest.approx((math.sqrt(3.0) - math.sqrt(0.5)) ** 2, rel=1e-5)
    assert f"{radius:.2f}" in explorer.warning.value
    # the dashed circle on the density and log-det panels has radius |φ_min| around z0
    for mark in (explorer._fold_x, explorer._fold_x_log_det):
        assert mark.visible
        (x, y), = split_rows(mark.x, mark.y)
        np.testing.assert_allclose(np.hypot(x - 0.5, y + 0.5), radius, rtol=1e-5)
    # on the base panel, the two circles where det J = 0
    r_star, r_collapse = layer.singular_radii()
    (x0, y0), (x1, y1) = split_rows(explorer._fold_z.x, explorer._fold_z.y)
    np.testing.assert_allclose(np.hypot(x0 - 0.5, y0 + 0.5), r_star, rtol=1e-5)
    np.testing.assert_allclose(np.hypot(x1 - 0.5, y1 + 0.5), r_collapse, rtol=1e-5)
    # grey (three preimages: the one-preimage formula fails) exactly inside the fold circle
    frame = explorer.last_frame
    xs, ys, _ = grid_points(explorer.bounds, N)
    gx, gy = np.meshgrid(xs.numpy(), ys.numpy(), indexing="xy")
    inside = np.hypot(gx - 0.5, gy + 0.5) < radius
    np.testing.assert_array_equal(~frame.unique, inside)
    assert np.isfinite(frame.density).all() and (frame.density[inside] == 0).all()
    # constraint back on: warning and circles go, the picture is invertible again
    explorer.controls["constrain"].value = True
    assert explorer.warning.layout.display == "none"
    assert not explorer._fold_x.visible and not explorer._fold_z.visible
    assert explorer.last_frame.invertible


def test_constraint_off_but_beta_at_least_minus_alpha_is_fine(explorer: RadialExplorer) -> None:
    explorer.set(alpha=1.0, beta=-0.9, constrain=False)
    assert explorer.warning.layout.display == "none"
    assert explorer.last_frame.invertible and not explorer._fold_x.visible


def test_one_frame_per_control_change(explorer: RadialExplorer) -> None:
    changes = {"z0_1": -2.0, "z0_2": 1.5, "alpha": 2.5, "beta": -4.0, "constrain": False}
    for name, value in changes.items():
        before = explorer.frame
        explorer.controls[name].value = value
        assert explorer.frame == before + 1, name
        assert f'data-frame="{explorer.frame}"' in explorer.status.value


def test_dragging_the_centre_sets_the_sliders_in_one_frame(explorer: RadialExplorer) -> None:
    before = explorer.frame
    _drag(explorer.centre.marks[1], 2.0, -1.5)  # the cross on the density panel
    assert explorer.frame == before + 1
    assert explorer.controls["z0_1"].value == pytest.approx(2.0)
    assert explorer.controls["z0_2"].value == pytest.approx(-1.5)
    assert explorer.layer.z0.tolist() == pytest.approx([2.0, -1.5])
    for mark in explorer.centre.marks:  # every panel's cross follows
        assert float(mark.x[0]) == pytest.approx(2.0) and float(mark.y[0]) == pytest.approx(-1.5)
    np.testing.assert_array_equal(explorer.last_frame.density,
                                  density_grid(explorer.flow, explorer.bounds, N).density)


def test_dragging_outside_the_view_is_clamped(explorer: RadialExplorer) -> None:
    _drag(explorer.centre.marks[0], 9.0, -0.5)
    assert explorer.controls["z0_1"].value == pytest.approx(4.0)  # the slider's maximum
    assert explorer.layer.z0.tolist() == pytest.approx([4.0, -0.5])
    for mark in explorer.centre.marks:  # the cross snaps back to where z0 really is
        assert float(mark.x[0]) == pytest.approx(4.0)


def test_clicking_a_plot_moves_the_centre(explorer: RadialExplorer) -> None:
    before = explorer.frame
    _click(explorer, "log_det", -1.0, 3.0)
    assert explorer.frame == before + 1
    assert explorer.layer.z0.tolist() == pytest.approx([-1.0, 3.0])
    _click(explorer, "base", -1.0, 3.0)  # same place: nothing changes, nothing redrawn
    assert explorer.frame == before + 1


def test_slider_change_moves_the_cross(explorer: RadialExplorer) -> None:
    explorer.controls["z0_2"].value = -2.25
    for mark in explorer.centre.marks:
        assert float(mark.y[0]) == pytest.approx(-2.25)


def test_alpha_cannot_reach_zero_from_the_ui(explorer: RadialExplorer) -> None:
    slider = explorer.controls["alpha"]
    assert isinstance(slider, W.FloatLogSlider)
    assert slider.base ** slider.min == pytest.approx(0.05, rel=1e-6)
    slider.value = 0.0  # clamped to the slider's minimum, which is > 0
    assert slider.value > 0 and float(explorer.layer.alpha.detach()) > 0
    assert explorer.message.value == ""


def test_bad_value_through_the_engine_is_shown_not_raised(explorer: RadialExplorer) -> None:
    slider = explorer.controls["alpha"]
    frames, alpha = explorer.frame, float(explorer.layer.alpha.detach())
    # forge the change event a bad value would cause; the engine's ValueError must be shown
    slider.notify_change({"name": "value", "old": slider.value, "new": 0.0, "owner": slider,
                          "type": "change"})
    assert "alpha must be a finite number &gt; 0" in explorer.message.value
    assert explorer.message.layout.display is None
    assert explorer.frame == frames and float(explorer.layer.alpha.detach()) == pytest.approx(alpha)
    explorer.controls["beta"].value = 0.5  # the next good change clears the message
    assert explorer.message.value == "" and explorer.frame == frames + 1


def test_random_states_never_raise_and_stay_finite() -> None:
    explorer = RadialExplorer(redraw_delay=0, resolution=24)
    rng = random.Random(3)
    controls = explorer.controls
    for _ in range(300):
        name = rng.choice(sorted(controls))
        w = controls[name]
        if isinstance(w, W.ToggleButton):
            value: object = rng.random() < 0.5
        elif isinstance(w, W.FloatLogSlider):
            value = w.base ** rng.choice([w.min, w.max, rng.uniform(w.min, w.max)])
        else:
            value = rng.choice([w.min, w.max, rng.uniform(w.min, w.max)])
        before = explorer.frame
        changed = w.value != value
        w.value = value
        assert explorer.frame == before + (1 if changed else 0)
        frame = explorer.last_frame
        assert np.isfinite(frame.density).all() and np.isfinite(frame.log_det).all()
        assert np.isfinite(frame.grid_x).all() and np.isfinite(frame.grid_y).all()
        assert explorer.message.value == "", explorer.message.value
        for mark in (explorer._fold_x, explorer._fold_z):
            if mark.visible:
                assert_mark_arrays_finite(mark, "fold circles")  # NaN only between circles
        folded = explorer.layer.fold_radius() is not None
        assert (explorer.warning.layout.display is None) is folded


def test_layer_values_outside_the_slider_ranges_are_kept() -> None:
    layer = Radial([6.0, -0.5], alpha=8.0, beta=-7.0, constrain=False)
    explorer = RadialExplorer(layer, redraw_delay=0, resolution=16)
    c = explorer.controls
    assert c["z0_1"].value == pytest.approx(6.0) and c["z0_1"].max >= 6.0
    assert c["alpha"].value == pytest.approx(8.0, rel=1e-5)
    assert c["beta"].value == pytest.approx(-7.0)
    assert explorer.layer.z0.tolist() == pytest.approx([6.0, -0.5])


def test_bad_arguments_raise_with_the_value() -> None:
    with pytest.raises(ValueError, match="2-D Radial"):
        RadialExplorer(Radial([0.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="2-D Radial"):
        RadialExplorer("radial")
    with pytest.raises(ValueError, match="redraw_delay"):
        RadialExplorer(redraw_delay=-1)


def test_public_surface() -> None:
    assert nfwidgets.RadialExplorer is RadialExplorer
    e = RadialExplorer(redraw_delay=0, resolution=16)
    assert {"z0_1", "z0_2", "alpha", "beta", "constrain"} == set(e.controls)
    assert {"base", "density", "log_det"} <= set(e.figures)
    assert "nfw-radial-explorer" in e._dom_classes
    assert 'data-frame="1"' in e.status.value
    for mark in e.centre.marks:
        assert mark.enable_move and mark.update_on_move


def test_browser_snapping_alpha_on_its_log_slider_is_not_an_edit() -> None:
    e = RadialExplorer(Radial([0.5, 0.5], alpha=0.7, beta=0.3), redraw_delay=0, resolution=16)
    frames = e.frame
    slider = e.controls["alpha"]
    snapped = slider.base ** (round(math.log(0.7, slider.base) / slider.step) * slider.step)
    slider.set_state({"value": snapped})  # what the browser sends after rendering 0.7
    assert float(e.layer.alpha) == pytest.approx(0.7, rel=1e-6) and e.frame == frames
    slider.set_state({"value": 2.0})  # a learner's move
    assert float(e.layer.alpha) == pytest.approx(2.0, rel=1e-6) and e.frame == frames + 1
