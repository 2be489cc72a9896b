"""PlanarExplorer: controls drive the engine, the plots show the engine's exact values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import panel_pixels, split_rows

from nfwidgets import Planar
from nfwidgets.grid import density_grid, grid_points
from nfwidgets.render import LINE_BIT, palette
from nfwidgets.widgets import PlanarExplorer


@pytest.fixture
def explorer() -> PlanarExplorer:
    return PlanarExplorer(redraw_delay=0, resolution=48)


def test_sliders_write_the_layer_parameters(explorer: PlanarExplorer) -> None:
    c = explorer.controls
    c["w1"].value, c["w2"].value, c["u1"].value, c["u2"].value, c["b"].value = (
        0.5, -1.25, 2.0, 0.75, -0.4)
    layer = explorer.layer
    assert layer.w.tolist() == pytest.approx([0.5, -1.25])
    assert layer.u.tolist() == pytest.approx([2.0, 0.75])
    assert float(layer.b) == pytest.approx(-0.4)
    assert explorer.flow.layers[0] is layer


def test_plotted_density_and_log_det_are_the_engines(explorer: PlanarExplorer, png_pixels) -> None:
    explorer.controls["u1"].value = -2.5
    explorer.controls["b"].value = 0.7
    expected = density_grid(explorer.flow, explorer.bounds, 48)
    frame = explorer.last_frame
    np.testing.assert_array_equal(frame.density, expected.density)
    np.testing.assert_array_equal(frame.log_det, expected.log_det)
    # the log-det shown is log|det J| of the forward map at the preimage of each pixel
    _, _, pts = grid_points(explorer.bounds, 48)
    with torch.no_grad():
        z, _ = explorer.flow.inverse(pts)
        _, fwd_ld = explorer.flow(z)
    np.testing.assert_allclose(frame.log_det.reshape(-1), fwd_ld.numpy(), atol=1e-4)
    # and the picture sent to the browser is exactly that field, colour-mapped
    panel = explorer.panels["density"]
    np.testing.assert_array_equal(png_pixels(panel.last_png),
                                  panel_pixels(panel, frame.density))
    assert panel.lines is not None  # with the deformed grid drawn in


def test_readout_shows_u_hat_and_wtu_hat(explorer: PlanarExplorer) -> None:
    explorer.controls["w1"].value, explorer.controls["w2"].value = 1.0, 0.0
    explorer.controls["u1"].value, explorer.controls["u2"].value = -3.0, 0.0
    ref = Planar([1.0, 0.0], [-3.0, 0.0], 0.0)
    c = float(ref.wtu_hat)
    assert f"wᵀû = <b>{c:+.3f}</b>" in explorer.params.value
    assert c > -1


def test_constraint_off_warns_and_draws_the_fold(explorer: PlanarExplorer) -> None:
    c = explorer.controls
    c["w1"].value, c["w2"].value, c["u1"].value, c["u2"].value = 2.0, 0.0, -2.0, 0.0
    assert explorer.warning.layout.display == "none" and not explorer._fold_x.visible
    c["constrain"].value = False  # raw wᵀu = -4 < -1
    assert "not invertible" in explorer.warning.value
    assert explorer._fold_x.visible and explorer._fold_z.visible
    lo, hi = explorer.layer.fold_interval()
    # the dashed lines on the density panel sit at wᵀx = lo and wᵀx = hi
    xs = sorted(float(x[0]) for x, _ in split_rows(explorer._fold_x.x, explorer._fold_x.y))
    assert xs == pytest.approx(sorted([lo / 2.0, hi / 2.0]), abs=1e-5)
    frame = explorer.last_frame
    assert not frame.invertible and np.isfinite(frame.density).all()
    c["constrain"].value = True
    assert explorer.warning.layout.display == "none" and not explorer._fold_x.visible


def test_engine_errors_are_shown_not_raised(explorer: PlanarExplorer) -> None:
    frames = explorer.frame
    with torch.no_grad():
        explorer.layer.w.fill_(float("nan"))  # a broken state reached behind the UI's back
    explorer.redraw()
    assert explorer.frame == frames  # nothing drawn from a broken state...
    assert "⚠" in explorer.message.value  # ...and the learner is told
    explorer.controls["w1"].value = 1.0  # a slider repairs one entry, the other is still NaN
    explorer.controls["w2"].value = 0.5
    assert explorer.frame == frames + 1 and explorer.message.value == ""


def test_bad_arguments_raise_with_the_value() -> None:
    with pytest.raises(ValueError, match="2-D Planar"):
        PlanarExplorer(Planar([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], 0.0))
    with pytest.raises(ValueError, match="redraw_delay"):
        PlanarExplorer(redraw_delay=-1)


def test_public_surface() -> None:
    e = PlanarExplorer(redraw_delay=0, resolution=16)
    assert {"w1", "w2", "u1", "u2", "b", "constrain"} <= set(e.controls)
    assert {"density", "log_det"} <= set(e.figures)
    assert "nfw-planar-explorer" in e._dom_classes
    assert 'data-frame="1"' in e.status.value


def test_browser_snapping_a_shown_value_does_not_edit_the_layer() -> None:
    e = PlanarExplorer(Planar([0.123, 0.0], [1.0, 0.5], 0.0), redraw_delay=0, resolution=16)
    frames = e.frame
    e.controls["w1"].set_state({"value": 0.1})  # the browser snaps 0.123 onto the 0.05 grid
    assert float(e.layer.w[0]) == pytest.approx(0.123) and e.frame == frames
    e.controls["w1"].set_state({"value": 0.5})  # a learner's move
    assert float(e.layer.w[0]) == pytest.approx(0.5) and e.frame == frames + 1


def test_grid_lines_toggle_redraws_the_pictures_without_them(explorer: PlanarExplorer,
                                                             png_pixels) -> None:
    frame, frames = explorer.last_frame, explorer.frame
    density, base = explorer.panels["density"], explorer.panels["base"]
    with_lines = density.last_png
    explorer.show_grid.value = False  # no recomputation: the same field, redrawn
    assert explorer.last_frame is frame and explorer.frame == frames
    assert density.lines is None and base.lines is None
    np.testing.assert_array_equal(png_pixels(density.last_png), panel_pixels(density,
                                                                             frame.density))
    shown = {tuple(c) for c in png_pixels(base.last_png).reshape(-1, 3)}
    assert not shown & {tuple(c) for c in palette()[LINE_BIT:]}  # no pixel under a line
    explorer.show_grid.value = True
    assert density.last_png == with_lines and base.lines is not None


def test_a_refused_value_in_set_leaves_everything_as_it_was() -> None:
    # constrain's bad value is refused before u1 is written: nothing changes, nothing is drawn
    explorer = PlanarExplorer(resolution=32, redraw_delay=0)
    u1, frame, picture = float(explorer.layer.u[0]), explorer.frame, explorer.last_frame
    with pytest.raises(ValueError, match=r"constrain must be True or False; got 'no'"):
        explorer.set(u1=1.5, constrain="no")
    assert float(explorer.layer.u[0]) == u1 and explorer.controls["u1"].value == u1
    assert explorer.frame == frame and explorer.last_frame is picture
    assert explorer.message.value == ""
