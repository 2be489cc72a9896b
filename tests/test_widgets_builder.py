"""FlowBuilder: structural edits change flow.layers in place, the learner's state is kept, and the
plots show exactly the engine's density of the first k layers, one redraw per user action."""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
import pytest
import torch
from helpers import panel_pixels, png_pixels

import nfwidgets
from nfwidgets import (
    AffineCoupling,
    ElementwiseAffine,
    Flow,
    MLPConditioner,
    Planar,
    Radial,
    SimpleConditioner,
)
from nfwidgets.flows.base import Layer
from nfwidgets.grid import deformed_grid, density_grid
from nfwidgets.widgets import FlowBuilder
from nfwidgets.widgets.controls import typed_value
from nfwidgets.widgets.stack_presets import FIVE_AFFINE, PRESETS

RES = 32
STRUCTURAL = {"layers", "add_kind", "add", "remove", "up", "down", "after_layer", "preset"}
LAYER_CONTROLS = {
    "planar": {"layer.w1", "layer.w2", "layer.u1", "layer.u2", "layer.b", "layer.constrain"},
    "radial": {"layer.z0_1", "layer.z0_2", "layer.alpha", "layer.beta", "layer.constrain"},
    "coupling": {"layer.split", "layer.scale", "layer.s_slope", "layer.s_shift",
                 "layer.t_amplitude", "layer.t_frequency", "layer.t_shift"},
    "affine": {"layer.log_scale1", "layer.log_scale2", "layer.shift1", "layer.shift2"},
}


def make(**kwargs: object) -> FlowBuilder:
    return FlowBuilder(redraw_delay=0, resolution=RES, n_samples=64, **kwargs)


def assert_shows_engine(b: FlowBuilder) -> None:
    """The last frame is the engine's density / grid of ``flow.truncated(after_layer)``."""
    part = b.flow.truncated(b.after_layer)
    expected = density_grid(part, b.bounds, RES)
    np.testing.assert_array_equal(b.last_frame.density, expected.density)
    np.testing.assert_array_equal(b.last_frame.log_det, expected.log_det)
    lines = deformed_grid(part, b.bounds, b.view.n_lines, 60)
    np.testing.assert_array_equal(b.last_frame.grid_x, lines.x)
    panel = b.panels["density"]  # the grid is drawn into the density picture
    np.testing.assert_array_equal(panel.lines[0], lines.x)
    np.testing.assert_array_equal(panel.lines[1], lines.y)
    mask = ~b.last_frame.unique if not b.last_frame.invertible else None
    np.testing.assert_array_equal(png_pixels(panel.last_png),
                                  panel_pixels(panel, b.last_frame.density, mask))


def layer_names(b: FlowBuilder) -> set[str]:
    return {k for k in b.controls if k.startswith("layer.")}


def test_public_surface() -> None:
    b = make()
    assert nfwidgets.FlowBuilder is FlowBuilder
    assert STRUCTURAL <= set(b.controls)
    assert layer_names(b) == LAYER_CONTROLS["planar"]  # mixed_8 opens on its planar layer 1
    assert {"base", "density", "log_det"} <= set(b.figures)
    assert "nfw-flow-builder" in b._dom_classes
    assert b.frame == 1 and 'data-frame="1"' in b.status.value
    assert [o[0] for o in b.controls["layers"].options][:3] == [
        "1 · Planar", "2 · Radial", "3 · Coupling x₁→x₂"]
    assert b.controls["after_layer"].max == len(b.flow) == 8
    assert_shows_engine(b)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_scrubber_shows_the_first_k_layers(preset: str) -> None:
    b = make(preset=preset)
    assert b.controls["after_layer"].value == len(b.flow)
    for k in reversed(range(len(b.flow) + 1)):
        frames = b.frame
        if b.controls["after_layer"].value != k:
            b.controls["after_layer"].value = k
            assert b.frame == frames + 1
        assert b.after_layer == k
        assert_shows_engine(b)
        assert (f"first <b>{k}</b>" in b.readout.value if k < len(b.flow)
                else f"all {k}" in b.readout.value)
    if len(b.flow):  # k = 0 is the base itself
        base = density_grid(Flow([], base=b.flow.base), b.bounds, RES).density
        np.testing.assert_array_equal(b.last_frame.density, base)


def test_samples_are_pushed_through_the_first_k_layers_only() -> None:
    b = make(preset="five_affine")
    b.controls["after_layer"].value = 2
    assert b.last_frame.samples is None  # not computed while hidden
    b.show_samples.value = True
    z = b.flow.base.sample(64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        x, _ = b.flow.truncated(2)(z)
    np.testing.assert_allclose(b.last_frame.samples, x.numpy(), atol=1e-6)
    # the base panel's dots are the same base samples the view pushes through
    np.testing.assert_allclose(b._base_points.x, z[:, 0].numpy(), atol=1e-6)


@pytest.mark.parametrize(("index", "kind", "values"), [
    (0, "planar", {"w1": 0.5, "w2": -1.25, "u1": 2.0, "u2": 0.75, "b": -0.4}),
    (1, "radial", {"z0_1": -0.5, "z0_2": 1.5, "alpha": 0.3, "beta": -1.0}),
    (2, "coupling", {"s_slope": 0.4, "s_shift": -0.3, "t_amplitude": 1.2,
                     "t_frequency": 2.5, "t_shift": 0.2}),
    (3, "affine", {"log_scale1": 0.3, "log_scale2": -0.6, "shift1": 1.0, "shift2": -0.5}),
])
def test_layer_sliders_write_the_selected_layer(index: int, kind: str,
                                                values: dict[str, float]) -> None:
    b = make(preset="mixed_8")
    others = [p.detach().clone() for k, layer in enumerate(b.flow.layers) if k != index
              for p in layer.parameters()]
    b.controls["layers"].value = index
    assert layer_names(b) == LAYER_CONTROLS[kind]
    for name, v in values.items():
        frames = b.frame
        b.controls[f"layer.{name}"].value = v
        assert b.frame == frames + 1, name
    layer = b.flow.layers[index]
    got = {
        "planar": lambda: {"w1": layer.w[0], "w2": layer.w[1], "u1": layer.u[0],
                           "u2": layer.u[1], "b": layer.b},
        "radial": lambda: {"z0_1": layer.z0[0], "z0_2": layer.z0[1], "alpha": layer.alpha,
                           "beta": layer.beta},
        "coupling": lambda: {n: getattr(layer.conditioner, n) for n in values},
        "affine": lambda: {"log_scale1": layer.log_scale[0], "log_scale2": layer.log_scale[1],
                           "shift1": layer.shift[0], "shift2": layer.shift[1]},
    }[kind]()
    assert {k: float(v.detach()) for k, v in got.items()} == pytest.approx(values, abs=1e-6)
    after = [p.detach().clone() for k, layer in enumerate(b.flow.layers) if k != index
             for p in layer.parameters()]
    assert all(torch.equal(x, y) for x, y in zip(others, after, strict=True))
    assert b.controls["preset"].value == "custom"
    assert_shows_engine(b)


def test_readout_shows_the_selected_layers_engine_values() -> None:
    b = make(preset="mixed_8")
    planar = b.flow.layers[0]
    assert f"wᵀû = <b>{float(planar.wtu_hat.detach()):+.3f}</b>" in b.params.value
    b.controls["layers"].value = 1
    radial = b.flow.layers[1]
    assert f"β̂ = <b>{float(radial.beta_hat.detach()):+.3f}</b>" in b.params.value
    assert "layer 2 of 8" in b.params.value


def test_selection_loads_values_without_redraw_or_leaked_observers() -> None:
    b = make(preset="mixed_8")
    widgets = [w for e in b.editors.values() for w in e.widgets.values()]
    counts = [len(w._trait_notifiers["value"]["change"]) for w in widgets]
    frames = b.frame
    for k in list(range(8)) * 5:
        b.controls["layers"].value = k
    assert b.frame == frames  # selecting changes no picture
    assert [len(w._trait_notifiers["value"]["change"]) for w in widgets] == counts
    # the sliders show the selected layer's values, not the previous layer's
    b.controls["layers"].value = 4  # the second planar layer
    layer = b.flow.layers[4]
    assert b.controls["layer.w2"].value == pytest.approx(float(layer.w[1].detach()))
    assert b.controls["layer.b"].value == pytest.approx(float(layer.b.detach()))
    b.controls["layers"].value = 0
    assert b.controls["layer.w2"].value == pytest.approx(float(b.flow.layers[0].w[1].detach()))


@pytest.mark.parametrize(("kind", "cls"), [("planar", Planar), ("radial", Radial),
                                            ("coupling", AffineCoupling),
                                            ("affine", ElementwiseAffine)])
def test_add_inserts_a_near_identity_layer_after_the_selection(kind: str, cls: type) -> None:
    b = make(preset="five_affine")
    flow, old = b.flow, list(b.flow.layers)
    b.controls["layers"].value = 1
    before = b.last_frame.density
    frames = b.frame
    b.controls["add_kind"].value = kind
    assert b.frame == frames  # choosing what to add is not an edit
    b.controls["add"].click()
    assert b.frame == frames + 1
    assert b.flow is flow and len(flow) == 6
    assert isinstance(flow.layers[2], cls)
    assert list(flow.layers) == [*old[:2], flow.layers[2], *old[2:]]
    assert b.selected_layer == 2 and b.controls["layers"].value == 2
    assert layer_names(b) == LAYER_CONTROLS[kind]
    assert b.controls["after_layer"].max == 6 and b.after_layer == 6  # at the end: follows
    # near the identity: the density moves by a fraction of its peak, not a jump
    change = np.abs(b.last_frame.density - before).max()
    assert change < 0.35 * before.max()
    assert_shows_engine(b)


def test_new_couplings_alternate_their_split() -> None:
    b = make(preset="empty")
    b.controls["add_kind"].value = "coupling"
    for _ in range(3):
        b.controls["add"].click()
    masks = [layer.mask.tolist() for layer in b.flow.layers]
    assert masks == [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]


def test_remove_and_move_keep_the_selection_and_values() -> None:
    b = make(preset="mixed_8")
    flow, layers = b.flow, list(b.flow.layers)
    b.controls["layers"].value = 3  # affine
    b.controls["layer.shift1"].value = 1.5
    b.controls["up"].click()
    assert list(flow.layers)[2:4] == [layers[3], layers[2]]
    assert b.selected_layer == 2 and b.controls["layer.shift1"].value == pytest.approx(1.5)
    assert [o[0] for o in b.controls["layers"].options][2] == "3 · Affine"
    b.controls["down"].click()
    b.controls["down"].click()
    assert list(flow.layers) == [*layers[:3], layers[4], layers[3], *layers[5:]]
    assert b.selected_layer == 4 and float(flow.layers[4].shift[0].detach()) == pytest.approx(1.5)
    b.controls["remove"].click()
    assert list(flow.layers) == [*layers[:3], layers[4], *layers[5:]] and b.flow is flow
    assert b.selected_layer == 4 and layer_names(b) == LAYER_CONTROLS["radial"]
    assert b.controls["after_layer"].max == 7 == b.after_layer
    assert_shows_engine(b)


def test_buttons_that_cannot_act_do_nothing() -> None:
    b = make(preset="radial_x3")
    assert b.controls["up"].disabled and not b.controls["down"].disabled
    frames, layers = b.frame, list(b.flow.layers)
    b.controls["up"].click()  # the first layer cannot move up
    b.controls["layers"].value = 2
    assert b.controls["down"].disabled
    b.controls["down"].click()
    assert b.frame == frames and list(b.flow.layers) == layers
    for _ in range(3):
        b.controls["remove"].click()
    assert len(b.flow) == 0 and b.selected_layer is None and b.controls["remove"].disabled
    frames = b.frame
    b.controls["remove"].click()
    b.controls["up"].click()
    assert b.frame == frames and not layer_names(b)
    assert "empty" in b.params.value


def test_scrubber_keeps_showing_the_same_layers_across_edits() -> None:
    b = make(preset="mixed_8")
    b.controls["after_layer"].value = 3
    b.controls["layers"].value = 5
    b.controls["add"].click()  # inserted after layer 6, beyond what is shown
    assert b.after_layer == 3 and b.controls["after_layer"].max == 9
    b.controls["layers"].value = 0
    b.controls["add"].click()  # inserted as layer 2, inside what is shown
    assert b.after_layer == 4
    b.controls["remove"].click()
    assert b.after_layer == 3
    b.controls["layers"].value = 8
    b.controls["remove"].click()  # the last layer, not shown
    assert b.after_layer == 3 and b.controls["after_layer"].max == 8
    assert_shows_engine(b)


@pytest.mark.parametrize(("preset", "kinds"), [
    ("five_affine", [ElementwiseAffine] * 5),
    ("planar_x4", [Planar] * 4),
    ("radial_x3", [Radial] * 3),
    ("mixed_8", [Planar, Radial, AffineCoupling, ElementwiseAffine] * 2),
    ("empty", []),
])
def test_presets_replace_the_layers_in_place(preset: str, kinds: list[type]) -> None:
    b = make(preset="planar_x4" if preset != "planar_x4" else "mixed_8")
    flow, base = b.flow, b.flow.base
    b.controls["layers"].value = 2
    b.controls["after_layer"].value = 1
    frames = b.frame
    b.controls["preset"].value = preset
    assert b.frame == frames + 1
    assert b.flow is flow and b.flow.base is base
    assert [type(layer) for layer in flow.layers] == kinds
    assert b.controls["after_layer"].max == len(kinds) == b.after_layer
    assert b.selected_layer == (0 if kinds else None)
    assert_shows_engine(b)
    if preset == "mixed_8":
        masks = [layer.mask.tolist() for layer in flow.layers if isinstance(layer,
                                                                            AffineCoupling)]
        assert masks == [[1.0, 0.0], [0.0, 1.0]]
        assert all(isinstance(layer.conditioner, SimpleConditioner)
                   for layer in flow.layers if isinstance(layer, AffineCoupling))
    # an edit makes the stack "custom"; choosing the preset again restores it
    if kinds:
        b.controls["remove"].click()
        assert b.controls["preset"].value == "custom"
        b.controls["preset"].value = preset
        assert [type(layer) for layer in flow.layers] == kinds


def test_five_affine_preset_squeezes_the_standard_normal() -> None:
    b = make(preset="five affine layers (seed example)")  # the label works as well as the key
    s = torch.tensor([layer[0] for layer in FIVE_AFFINE]).sum(0)
    z = b.flow.base.sample(10_000, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        x, log_det = b.flow(z)
    assert torch.allclose(log_det, s.sum().expand(10_000), atol=1e-6)
    ratio = x.std(0) / z.std(0)
    assert torch.allclose(ratio, torch.exp(s), rtol=1e-5)
    assert float(ratio[0]) < 0.5  # x₁ squeezed to less than half its spread
    assert b.last_frame.peak > 1.4 / (2 * np.pi)  # and the peak density rises with it


def test_split_change_makes_a_new_layer_with_the_same_conditioner() -> None:
    b = make(preset="mixed_8")
    b.controls["layers"].value = 2
    old = b.flow.layers[2]
    b.controls["layer.t_amplitude"].value = 1.1
    frames = b.frame
    b.controls["layer.split"].value = "x₂ conditions x₁"
    assert b.frame == frames + 1
    new = b.flow.layers[2]
    assert new is not old and new.mask.tolist() == [0.0, 1.0]
    assert new.conditioner is old.conditioner and new.scale == old.scale
    assert b.controls["layers"].options[2][0] == "3 · Coupling x₂→x₁"
    assert b.controls["layer.t_amplitude"].value == pytest.approx(1.1)
    b.controls["layer.scale"].value = "exp"
    assert b.flow.layers[2].scale == "exp"
    assert_shows_engine(b)


def test_one_redraw_per_user_action() -> None:
    b = make(preset="mixed_8")
    c = b.controls
    actions = [
        (lambda: setattr(c["layer.u1"], "value", -2.0), 1),
        (lambda: setattr(c["layer.constrain"], "value", False), 1),
        (lambda: setattr(c["layers"], "value", 2), 0),
        (lambda: setattr(c["layer.split"], "value", "x₂ conditions x₁"), 1),
        (lambda: setattr(c["layer.scale"], "value", "softclip"), 1),
        (lambda: setattr(c["add_kind"], "value", "radial"), 0),
        (lambda: c["add"].click(), 1),
        (lambda: c["up"].click(), 1),
        (lambda: c["down"].click(), 1),
        (lambda: c["remove"].click(), 1),
        (lambda: setattr(c["after_layer"], "value", 4), 1),
        (lambda: setattr(c["preset"], "value", "radial_x3"), 1),
        (lambda: setattr(c["preset"], "value", "custom"), 0),
    ]
    for k, (act, redraws) in enumerate(actions):
        frames = b.frame
        act()
        assert b.frame == frames + redraws, k
    assert b.message.value == ""


def test_a_given_flow_is_edited_in_place_and_kept_exact() -> None:
    flow = Flow([Planar([6.0, 0.0], [0.5, 0.0], 0.0),
                 AffineCoupling([0, 1], MLPConditioner(1, 1, hidden=(8,))),
                 Radial([0.0, 0.0], alpha=0.01, beta=0.5)]).double()
    b = make(flow=flow)
    assert b.flow is flow and flow.layers[0].w.dtype == torch.float32
    assert b.controls["preset"].value == "custom"
    # a value outside a slider's range widens the slider instead of being clipped
    assert b.controls["layer.w1"].max == 6.0 and b.controls["layer.w1"].value == 6.0
    assert float(flow.layers[0].w[0].detach()) == 6.0
    b.controls["layers"].value = 1  # an MLP conditioner has no sliders
    assert layer_names(b) == {"layer.split", "layer.scale"}
    assert "neural network" in b.editors["coupling"].note.value
    b.controls["layers"].value = 2
    alpha = b.controls["layer.alpha"]  # a log slider: its range is one of exponents
    assert alpha.base ** alpha.min == pytest.approx(0.01) and alpha.value == pytest.approx(0.01)
    b.controls["layers"].value = 0
    b.controls["add"].click()  # a new planar layer: the slider range is the usual one again
    assert len(flow) == 4 and flow.layers[1].w.dtype == torch.float32
    assert b.controls["layer.w1"].max == 4.0 and b.controls["layer.w1"].value == 1.0
    assert float(flow.layers[0].w[0].detach()) == 6.0  # loading never wrote into a layer
    assert_shows_engine(b)


class _Shift(Layer):
    """A layer kind the builder has no editor for."""

    def __init__(self) -> None:
        super().__init__()
        self.dim = 2
        self.t = torch.nn.Parameter(torch.tensor([0.5, 0.0]))

    def _forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return z + self.t, z.new_zeros(z.shape[0])

    def _inverse_where(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None]:
        return x - self.t, x.new_zeros(x.shape[0]), None


def test_unknown_layers_are_shown_without_sliders() -> None:
    b = make(flow=Flow([_Shift(), Planar([1.0, 0.0], [0.5, 0.0], 0.0)]))
    assert b.controls["layers"].options[0][0] == "1 · _Shift"
    assert not layer_names(b) and "no sliders" in b.params.value
    b.controls["down"].click()
    assert isinstance(b.flow.layers[1], _Shift)
    assert_shows_engine(b)


def test_layers_changed_behind_the_widget_are_picked_up_on_redraw() -> None:
    b = make(preset="radial_x3")
    b.flow.layers.append(ElementwiseAffine([0.2, 0.2], [0.0, 0.0]))
    b.redraw()
    assert len(b.controls["layers"].options) == 4 and b.controls["after_layer"].max == 4
    assert_shows_engine(b)


def test_a_layer_replaced_behind_the_widget_is_listed_and_edited_on_redraw() -> None:
    b = make(preset="mixed_8")
    b.controls["layers"].value = 2
    b.flow.layers[2] = Planar([0.5, 1.0], [1.0, 0.0], 0.2)  # same length, another kind
    b.redraw()
    assert "Planar" in b.controls["layers"].options[2][0]
    frames = b.frame
    b.controls["layer.b"].value = 0.7  # the planar editor is shown and writes the new layer
    assert b.frame == frames + 1 and float(b.flow.layers[2].b) == pytest.approx(0.7)
    assert_shows_engine(b)


def test_a_folding_layer_warns_with_its_position() -> None:
    b = make(preset="planar_x4")
    b.controls["layers"].value = 2
    c = b.controls
    c["layer.w1"].value, c["layer.w2"].value, c["layer.u1"].value, c["layer.u2"].value = (
        2.0, 0.0, -2.0, 0.0)
    c["layer.constrain"].value = False
    assert "layer 3" in b.warning.value and "not invertible" in b.warning.value
    assert not b.last_frame.invertible and np.isfinite(b.last_frame.density).all()
    c["after_layer"].value = 2  # the fold is not among the first two layers
    assert b.warning.layout.display == "none" and b.last_frame.invertible


def test_bad_arguments_raise_with_the_value() -> None:
    with pytest.raises(ValueError, match="not both"):
        FlowBuilder(Flow([Planar([1.0, 0.0], [0.5, 0.0])]), preset="empty")
    with pytest.raises(ValueError, match=r"preset must be one of .*'planar_x4'.*got 'spiral'"):
        FlowBuilder(preset="spiral")
    with pytest.raises(ValueError, match="2-D nfwidgets Flow"):
        FlowBuilder(Flow([Planar([1.0, 0.0, 0.0], [0.5, 0.0, 0.0])]))
    with pytest.raises(ValueError, match="2-D nfwidgets Flow"):
        FlowBuilder([Planar([1.0, 0.0], [0.5, 0.0])])


def test_an_action_that_fails_is_reported_and_changes_nothing() -> None:
    b = make(preset="radial_x3")
    layers, frames = list(b.flow.layers), b.frame
    b.controls["add_kind"].options = [("spiral", "spiral")]  # not a kind the builder knows
    b.controls["add"].click()
    assert "layer kind must be one of" in b.message.value and "⚠" in b.message.value
    assert list(b.flow.layers) == layers and b.frame == frames


def test_set_and_edit_layer_change_several_controls_with_one_redraw() -> None:
    b = make(preset="mixed_8")
    frames = b.frame
    b.set(after_layer=3, preset="radial_x3")  # the preset resets the scrubber to the end
    assert b.frame == frames + 1 and len(b.flow) == 3 and b.after_layer == 3
    b.edit_layer(1, alpha=0.4, beta=-1.0, z0_1=0.5)
    assert b.frame == frames + 2 and b.selected_layer == 1
    layer = b.flow.layers[1]
    assert float(layer.alpha.detach()) == pytest.approx(0.4)
    assert float(layer.beta.detach()) == pytest.approx(-1.0)
    assert float(layer.z0[0].detach()) == pytest.approx(0.5)
    assert_shows_engine(b)
    with pytest.raises(ValueError, match=r"layer 1 \(Radial\) has no control\(s\) \['w1'\]"):
        b.edit_layer(0, w1=1.0)
    with pytest.raises(ValueError, match=r"index must be an integer in \[0, 2\]; got 3"):
        b.edit_layer(3, alpha=1.0)


def test_a_refused_edit_layer_changes_nothing_not_even_the_selection() -> None:
    b = make(preset="radial_x3")
    layer = b.flow.layers[2]
    state = (b.selected_layer, b.frame, b.status.value, b.message.value,
             float(layer.alpha.detach()), float(layer.beta.detach()))
    controls = {k: w.value for k, w in b.controls.items() if not isinstance(w, W.Button)}
    for values in ({"alpha": 99.0}, {"alpha": "x"}, {"beta": 1.0, "constrain": "no"},
                   {"alpha": float("nan")}):
        with pytest.raises(ValueError, match=r"layer\.(alpha|constrain) must be"):
            b.edit_layer(2, **values)
        assert (b.selected_layer, b.frame, b.status.value, b.message.value,
                float(layer.alpha.detach()), float(layer.beta.detach())) == state
        assert {k: w.value for k, w in b.controls.items()
                if not isinstance(w, W.Button)} == controls
    b.edit_layer(2, alpha=1.5)  # a good value still selects the layer and draws once
    assert b.selected_layer == 2 and b.frame == state[1] + 1


def test_the_after_layer_box_takes_integers_in_the_range_of_the_current_stack() -> None:
    b = make(preset="radial_x3")
    box = typed_value(b.controls["after_layer"])
    frame = b.frame
    for text, got in (("abc", "'abc'"), ("1.5", "1.5"), ("4", "4"), ("-1", "-1")):
        box.text.set_state({"value": text})  # typed in the browser, then Enter
        assert html.escape(f"after_layer must be an integer in [0, 3]; got {got}"
                           ) in b.message.value
        assert box.text.value == "3" and b.after_layer == 3 and b.frame == frame
    box.text.set_state({"value": " 1 "})
    assert b.after_layer == 1 and b.frame == frame + 1 and b.message.value == ""
    b.controls["layers"].value = 0
    b.controls["remove"].click()  # the stack is now 2 layers: the box's range follows
    box.text.set_state({"value": "3"})
    assert "after_layer must be an integer in [0, 2]; got 3" in b.message.value
    box.text.set_state({"value": "2"})
    assert b.after_layer == 2 and box.text.value == "2"


def test_the_browser_snapping_a_shown_value_is_not_an_edit() -> None:
    """A rendered slider sends back its value put on the step grid; that must not quantise the
    parameter, redraw, or turn the preset into "custom" (seen in JupyterLab: 0.15 in float32 is
    0.15000000596 and comes back as 0.1499999999999999)."""
    b = make(preset="mixed_8")
    b.controls["layers"].value = 2
    slope = b.controls["layer.s_slope"]
    frames, before = b.frame, float(b.flow.layers[2].conditioner.s_slope.detach())
    slope.set_state({"value": 0.1499999999999999})  # the path of a message from the browser
    assert b.frame == frames and b.controls["preset"].value == "mixed_8"
    assert float(b.flow.layers[2].conditioner.s_slope.detach()) == before
    # a trained value off the grid survives being shown ...
    flow = Flow([Planar([0.123, 1.0], [0.5, 0.0], 0.0)])
    b = make(flow=flow)
    w1 = b.controls["layer.w1"]
    w1.set_state({"value": 0.1})
    assert float(flow.layers[0].w[0].detach()) == pytest.approx(0.123)
    # ... and the learner's moves from the snapped position are edits
    w1.set_state({"value": 0.15})
    assert float(flow.layers[0].w[0].detach()) == pytest.approx(0.15)
    w1.set_state({"value": 0.1})
    assert float(flow.layers[0].w[0].detach()) == pytest.approx(0.1)
    w1.value = 0.1049  # from Python, any value is an edit
    assert float(flow.layers[0].w[0].detach()) == pytest.approx(0.1049)
    assert_shows_engine(b)
