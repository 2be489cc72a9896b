"""CouplingExplorer: controls drive the engine, plots and the Jacobian panel show its values."""

from __future__ import annotations

import random

import ipywidgets as W
import numpy as np
import pytest
import torch

import nfwidgets
from nfwidgets import AffineCoupling, MLPConditioner, SimpleConditioner
from nfwidgets.flows import SCALE_RULES
from nfwidgets.grid import density_grid
from nfwidgets.layer_controls import SPLITS, controls_for
from nfwidgets.render import colorize
from nfwidgets.widgets import CouplingExplorer

CONDITIONER = SimpleConditioner.PARAMETERS

N = 48
FORWARD, REVERSE = "x₁ conditions x₂", "x₂ conditions x₁"


@pytest.fixture
def explorer() -> CouplingExplorer:
    return CouplingExplorer(redraw_delay=0, resolution=N)


def _autograd_jacobian(layer: AffineCoupling, z: tuple[float, float]) -> np.ndarray:
    point = torch.tensor(z, dtype=torch.float32)
    jac = torch.autograd.functional.jacobian(lambda v: layer(v[None])[0][0], point)
    return jac.double().numpy()


def _params(layer: AffineCoupling) -> dict[str, float]:
    return {n: float(getattr(layer.conditioner, n).detach()) for n in CONDITIONER}


def test_sliders_write_the_conditioner_and_scale_rule(explorer: CouplingExplorer) -> None:
    values = {"s_slope": -1.2, "s_shift": 0.35, "t_amplitude": 2.5, "t_frequency": 3.1,
              "t_shift": -0.8}
    explorer.set(scale="softclip", **values)
    assert _params(explorer.layer) == pytest.approx(values)
    assert explorer.layer.scale == "softclip"
    assert explorer.flow.layers[0] is explorer.layer


@pytest.mark.parametrize("rule", SCALE_RULES)
@pytest.mark.parametrize("split", list(SPLITS))
def test_plotted_density_and_log_det_are_the_engines(explorer: CouplingExplorer, rule: str,
                                                     split: str, png_pixels) -> None:
    explorer.set(split=split, scale=rule, s_slope=0.9, s_shift=-0.4, t_amplitude=1.7,
                 t_frequency=2.2, t_shift=0.3)
    expected = density_grid(explorer.flow, explorer.bounds, N)
    frame = explorer.last_frame
    np.testing.assert_array_equal(frame.density, expected.density)
    np.testing.assert_array_equal(frame.log_det, expected.log_det)
    assert frame.invertible and frame.mass == pytest.approx(expected.mass)
    panel = explorer.panels["log_det"]
    np.testing.assert_array_equal(png_pixels(panel.last_png),
                                  colorize(frame.log_det, panel.vmin, panel.vmax, "RdBu"))


@pytest.mark.parametrize("split", list(SPLITS))
def test_jacobian_panel_matches_autograd(explorer: CouplingExplorer, split: str) -> None:
    explorer.set(split=split, scale="exp", s_slope=0.7, s_shift=0.2, t_amplitude=1.5,
                 t_frequency=1.3, t_shift=-0.5, probe_1=-1.1, probe_2=2.05)
    jac = explorer.last_jacobian
    np.testing.assert_allclose(jac, _autograd_jacobian(explorer.layer, (-1.1, 2.05)),
                               rtol=1e-6, atol=1e-6)
    c, t = (0, 1) if split == FORWARD else (1, 0)
    assert jac[c, t] == 0.0 and jac[c, c] == 1.0  # triangular, x_c passes unchanged
    with torch.no_grad():
        _, log_det = explorer.layer(torch.tensor([[-1.1, 2.05]]))
    assert explorer.last_probe_log_det == pytest.approx(float(log_det[0]))
    assert np.log(jac[t, t]) == pytest.approx(explorer.last_probe_log_det, abs=1e-6)
    # ℓ(z_c) = s for the exp rule: s = slope·z_c + shift
    assert explorer.last_probe_log_det == pytest.approx(0.7 * (-1.1, 2.05)[c] + 0.2, abs=1e-6)
    text = explorer.jacobian_html.value
    assert f"<b data-log-det='{explorer.last_probe_log_det:.6g}'>" in text
    for i in range(2):
        for j in range(2):
            cell = text.split(f"data-entry='{i},{j}'")[1].split("</td>")[0]
            zero = i == c and j == t
            assert cell.endswith(">0" if zero else f">{jac[i, j]:+.3f}")
            assert ("#ffe08a" in cell) is zero  # the zero entry is marked


def test_split_swap_changes_the_mask_and_keeps_the_other_values(
        explorer: CouplingExplorer) -> None:
    explorer.set(scale="sigmoid", s_slope=-1.5, t_amplitude=2.0, t_shift=0.7, probe_1=0.3)
    before = {name: w.value for name, w in explorer.controls.items() if name != "split"}
    old_layer, old_density = explorer.layer, explorer.last_frame.density.copy()
    frames = explorer.frame
    explorer.controls["split"].value = REVERSE
    assert explorer.frame == frames + 1
    layer = explorer.layer
    assert layer is not old_layer and explorer.flow.layers[0] is layer
    assert layer.mask.tolist() == [0.0, 1.0]
    assert layer.conditioner is old_layer.conditioner
    assert layer.scale == "sigmoid" and layer.bound == old_layer.bound
    assert {n: w.value for n, w in explorer.controls.items() if n != "split"} == before
    assert _params(layer) == pytest.approx({n: before[n] for n in CONDITIONER})
    np.testing.assert_array_equal(explorer.last_frame.density,
                                  density_grid(explorer.flow, explorer.bounds, N).density)
    assert "mask b = [0, 1]" in explorer.params.value
    explorer.controls["split"].value = FORWARD  # and back: the very same picture
    assert explorer.layer.mask.tolist() == [1.0, 0.0]
    np.testing.assert_array_equal(explorer.last_frame.density, old_density)


def test_one_frame_per_control_change(explorer: CouplingExplorer) -> None:
    changes = {"split": REVERSE, "scale": "exp", "s_slope": 1.1, "s_shift": -0.5,
               "t_amplitude": -2.0, "t_frequency": 3.5, "t_shift": 1.25, "probe_1": -2.0,
               "probe_2": 3.0}
    assert set(changes) == set(explorer.controls)
    for name, value in changes.items():
        before, table = explorer.frame, explorer.jacobian_html.value
        explorer.controls[name].value = value
        if name.startswith("probe"):  # the probe updates the Jacobian table only
            assert explorer.frame == before and explorer.jacobian_html.value != table, name
        else:
            assert explorer.frame == before + 1, name


def test_dragging_or_clicking_the_probe(explorer: CouplingExplorer) -> None:
    marker = explorer.probe.marks[0]
    before = explorer.frame
    with marker.hold_trait_notifications():  # the browser's drag update: x and y together
        marker.x = np.array([-2.5])
        marker.y = np.array([0.75])
    assert explorer.frame == before  # only the table and the markers change: no redraw
    assert (explorer.controls["probe_1"].value, explorer.controls["probe_2"].value) == (
        pytest.approx(-2.5), pytest.approx(0.75))
    np.testing.assert_allclose(explorer.last_jacobian,
                               _autograd_jacobian(explorer.layer, (-2.5, 0.75)), atol=1e-6)
    # the image f(z) of the probe is marked on the density panel
    with torch.no_grad():
        x, _ = explorer.layer(torch.tensor([[-2.5, 0.75]]))
    assert float(explorer._probe_image.x[0]) == pytest.approx(float(x[0, 0]), abs=1e-5)
    assert float(explorer._probe_image.y[0]) == pytest.approx(float(x[0, 1]), abs=1e-5)
    explorer.panels["base"].mark._handle_custom_msgs(
        None, {"event": "element_click", "data": {"click_x": 1.5, "click_y": -7.0}})
    assert explorer.frame == before
    assert explorer.controls["probe_2"].value == pytest.approx(-4.0)  # clamped to the view
    assert float(marker.y[0]) == pytest.approx(-4.0)


def test_bad_values_are_rejected_with_the_value(explorer: CouplingExplorer) -> None:
    specs = {s.name: s for s in controls_for("coupling")}
    with pytest.raises(ValueError, match=r"scale must be one of .*; got 'cubic'"):
        explorer._write(specs["scale"], "cubic")
    with pytest.raises(ValueError, match=r"split must be one of .*; got 'x₃ conditions x₁'"):
        explorer._write(specs["split"], "x₃ conditions x₁")
    assert explorer.layer.scale == "tanh" and explorer.layer.mask.tolist() == [1.0, 0.0]


def test_engine_errors_are_shown_not_raised(explorer: CouplingExplorer) -> None:
    frames = explorer.frame
    with torch.no_grad():  # a broken state reached behind the UI's back
        explorer.layer.conditioner.t_shift.fill_(float("nan"))
    explorer.redraw()
    assert explorer.frame == frames and "⚠" in explorer.message.value
    explorer.controls["t_shift"].value = 0.5  # the slider repairs it
    assert explorer.message.value == "" and explorer.frame == frames + 1
    assert np.isfinite(explorer.last_jacobian).all()


def test_random_states_never_raise_and_stay_finite() -> None:
    explorer = CouplingExplorer(redraw_delay=0, resolution=24)
    rng = random.Random(5)
    controls = explorer.controls
    for _ in range(300):
        name = rng.choice(sorted(controls))
        w = controls[name]
        if isinstance(w, W.ToggleButtons | W.Dropdown):
            value: object = rng.choice(list(w.options))
        else:
            value = rng.choice([w.min, w.max, rng.uniform(w.min, w.max)])
        before = explorer.frame
        changed = w.value != value
        w.value = value
        redraws = changed and not name.startswith("probe")
        assert explorer.frame == before + (1 if redraws else 0)
        frame = explorer.last_frame
        assert np.isfinite(frame.density).all() and np.isfinite(frame.log_det).all()
        assert np.isfinite(explorer.last_jacobian).all()
        assert explorer.message.value == "", explorer.message.value
        c = int(explorer.layer.cond_index[0])
        assert explorer.last_jacobian[c, 1 - c] == 0.0


def test_given_layer_is_shown_with_its_values() -> None:
    cond = SimpleConditioner(s_slope=-3.0, s_shift=0.5, t_amplitude=0.2, t_frequency=6.0,
                             t_shift=0.0)
    layer = AffineCoupling([0, 1], cond, scale="softclip", bound=2.0)
    explorer = CouplingExplorer(layer, redraw_delay=0, resolution=16)
    c = explorer.controls
    assert c["split"].value == REVERSE and c["scale"].value == "softclip"
    assert c["s_slope"].value == pytest.approx(-3.0) and c["s_slope"].min <= -3.0
    assert c["t_frequency"].value == pytest.approx(6.0)
    assert explorer.layer.bound == 2.0
    c["split"].value = FORWARD
    assert explorer.layer.bound == 2.0 and explorer.layer.scale == "softclip"


def test_bad_arguments_raise_with_the_value() -> None:
    with pytest.raises(ValueError, match="SimpleConditioner"):
        CouplingExplorer(AffineCoupling([1, 0], MLPConditioner(1, 1)))
    with pytest.raises(ValueError, match="2-D AffineCoupling"):
        CouplingExplorer(AffineCoupling([1, 0, 1], SimpleConditioner()))
    with pytest.raises(ValueError, match="redraw_delay"):
        CouplingExplorer(redraw_delay=-1)


def test_public_surface() -> None:
    assert nfwidgets.CouplingExplorer is CouplingExplorer
    e = CouplingExplorer(redraw_delay=0, resolution=16)
    assert {"split", "scale", *CONDITIONER, "probe_1", "probe_2"} == set(e.controls)
    assert {"base", "density", "log_det"} <= set(e.figures)
    assert "nfw-coupling-explorer" in e._dom_classes
    assert "nfw-jacobian" in e.jacobian_html._dom_classes
    assert e.probe.marks[0].enable_move
