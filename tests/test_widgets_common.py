"""Properties every explorer must have: fuzzed controls never break it, every mark stays finite,
and one control change sends at most one comm update per widget model."""

from __future__ import annotations

import gc
import math
import random
import sys
import warnings
from collections import Counter
from collections.abc import Callable

import bqplot
import ipywidgets as W
import numpy as np
import pytest
import torch
from conftest import assert_mark_arrays_finite
from helpers import image_png
from ipywidgets.widgets.widget import _instances  # the open widget models (Widget.widgets)

import nfwidgets
from nfwidgets._checks import shown
from nfwidgets.widgets import PlanarExplorer
from nfwidgets.widgets.controls import control_class, control_row, typed_value
from nfwidgets.widgets.typed_values import TYPED_WIDTH

FUZZ_STATES = 1000


def _factories() -> dict[str, Callable[..., W.Widget]]:
    out: dict[str, Callable[..., W.Widget]] = {"planar": PlanarExplorer}
    for name, attr in (("radial", "RadialExplorer"), ("coupling", "CouplingExplorer"),
                       ("builder", "FlowBuilder"), ("change_of_variables",
                                                    "ChangeOfVariables1D")):
        if hasattr(nfwidgets, attr):
            out[name] = getattr(nfwidgets, attr)
    return out


FACTORIES = _factories()


def _make(name: str, **kwargs: object) -> W.Widget:
    factory = FACTORIES[name]
    if name == "change_of_variables":
        return factory(**{k: v for k, v in kwargs.items() if k == "redraw_delay"})
    return factory(**kwargs)


def _random_value(widget: W.Widget, rng: random.Random) -> object:
    if isinstance(widget, W.FloatSlider | W.FloatLogSlider | W.BoundedFloatText):
        lo, hi = widget.min, widget.max
        if isinstance(widget, W.FloatLogSlider):
            lo, hi = widget.base ** widget.min, widget.base ** widget.max
        return rng.choice([lo, hi, rng.uniform(lo, hi), rng.uniform(lo, hi)])
    if isinstance(widget, W.IntSlider | W.BoundedIntText):
        return rng.randint(widget.min, widget.max)
    if isinstance(widget, W.Checkbox | W.ToggleButton):
        return rng.random() < 0.5
    if isinstance(widget, W.Dropdown | W.ToggleButtons | W.Select | W.RadioButtons):
        options = list(widget.options)
        if not options:
            return widget.value
        choice = rng.choice(options)
        return choice[1] if isinstance(choice, tuple) else choice
    raise TypeError(type(widget))


def _marks_finite(explorer: W.Widget) -> None:
    for name, fig in explorer.figures.items():
        assert isinstance(fig, bqplot.Figure), name
        for mark in fig.marks:
            assert_mark_arrays_finite(mark, name)
            if isinstance(mark, bqplot.Image):
                assert image_png(mark.image).startswith(b"\x89PNG"), f"{name}: not drawn"


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_fuzzed_controls_never_raise_and_marks_stay_finite(name: str) -> None:
    rng = random.Random(hash(name) % 1000)
    explorer = _make(name, redraw_delay=0, resolution=24)
    controls = explorer.controls
    assert controls, "an explorer must expose its controls"
    changes = 0
    for _ in range(FUZZ_STATES):
        key = rng.choice(sorted(controls))
        widget = controls[key]
        if isinstance(widget, W.Button):
            widget.click()
        else:
            try:
                widget.value = _random_value(widget, rng)
            except TypeError:
                continue
        changes += 1
        frame = explorer.last_frame
        if frame is not None and hasattr(frame, "density"):
            assert np.isfinite(frame.density).all() and np.isfinite(frame.log_det).all()
        # the controls dict may change (e.g. a builder's selected layer): re-read it
        controls = explorer.controls
    _marks_finite(explorer)
    assert changes > FUZZ_STATES // 2
    assert explorer.frame > 1


def _first_slider(explorer: W.Widget) -> W.FloatSlider:
    """The first slider that changes the flow (a probe only moves a readout)."""
    for name, widget in sorted(explorer.controls.items()):
        if isinstance(widget, W.FloatSlider) and not name.startswith("probe"):
            return widget
    raise AssertionError("no float slider")


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_one_slider_move_sends_one_update_per_changed_model(name: str, comm_log: list) -> None:
    explorer = _make(name, redraw_delay=0, resolution=40)
    slider = _first_slider(explorer)
    frame = explorer.frame
    comm_log.clear()
    slider.value = slider.min + 0.37 * (slider.max - slider.min)
    assert explorer.frame == frame + 1, "one slider move, one redraw"
    updates = Counter(cid for method, cid, _ in comm_log if method == "update")
    assert updates, "nothing was sent"
    assert max(updates.values()) == 1, f"a model got several updates: {updates.most_common(3)}"
    opens = [cid for method, cid, _ in comm_log if method == "open"]
    closes = [cid for method, cid, _ in comm_log if method == "close"]
    assert opens == [] and closes == [], "a redraw opens and closes no widget model"


def test_planar_burst_of_events_ends_on_the_last_state() -> None:
    explorer = PlanarExplorer(redraw_delay=0, resolution=40)
    for v in np.linspace(-3, 3, 25):
        explorer.controls["b"].value = float(v)
    from nfwidgets.grid import density_grid

    expected = density_grid(explorer.flow, explorer.bounds, 40).density
    np.testing.assert_array_equal(explorer.last_frame.density, expected)
    assert float(explorer.layer.b) == pytest.approx(3.0)


def test_coalescing_on_a_running_event_loop() -> None:
    """With an event loop (as in a kernel): an isolated change is drawn at once and in full; a
    quick burst adds one coarse redraw of its last state and one full settle frame; a drag gives
    coarse frames then one full frame of the final state. Nothing queues up."""
    import asyncio

    from nfwidgets.grid import density_grid

    async def scenario() -> tuple[int, int, int, PlanarExplorer]:
        e = PlanarExplorer(redraw_delay=0.02, resolution=32, coarse_resolution=16)
        await asyncio.sleep(0.3)
        start = e.frame
        e.controls["b"].value = 0.3  # isolated: drawn before the assignment returns
        assert e.frame == start + 1 and e.last_frame.resolution == 32
        await asyncio.sleep(0.5)
        isolated = e.frame - start
        start = e.frame
        e.controls["b"].value = 0.5
        e.controls["b"].value = 0.7  # 1 ms later: gathered into one deferred redraw
        e.controls["b"].value = 0.9
        await asyncio.sleep(0.5)
        burst = e.frame - start
        assert e.last_frame.resolution == 32
        start = e.frame
        for v in np.linspace(-1.0, 1.0, 8):  # a drag: one event every 40 ms
            e.controls["b"].value = float(v)
            await asyncio.sleep(0.04)
        await asyncio.sleep(0.6)
        return isolated, burst, e.frame - start, e

    isolated, burst, drag, e = asyncio.run(scenario())
    assert isolated == 1
    assert burst == 3  # the first change at once, one coarse frame of the last, one settle frame
    assert 2 <= drag <= 9  # coarse frames while dragging, then exactly one settle frame
    assert e.last_frame.resolution == 32 and float(e.layer.b) == pytest.approx(1.0)
    np.testing.assert_array_equal(e.last_frame.density,
                                  density_grid(e.flow, e.bounds, 32).density)


def test_close_closes_every_model_and_pending_redraw(comm_log: list) -> None:
    e = PlanarExplorer(redraw_delay=0, resolution=16)
    e.controls["b"].value = 0.3
    opened = {cid for method, cid, _ in comm_log if method == "open"}
    e.close()
    closed = {cid for method, cid, _ in comm_log if method == "close"}
    assert opened - closed == set(), f"{len(opened - closed)} of {len(opened)} models left open"


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_building_and_redrawing_leave_torchs_thread_count_alone(name: str) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        widget = _make(name, redraw_delay=0)
        seen: list[int] = []
        draw = widget._draw

        def spy(frame: object) -> None:
            seen.append(torch.get_num_threads())
            draw(frame)

        widget._draw = spy
        widget.redraw()
        _first_slider(widget).value += 0.1
        assert seen == [2, 2] and torch.get_num_threads() == 2
        widget.close()
    finally:
        torch.set_num_threads(before)


def test_control_changes_tell_the_view_which_layer_changed() -> None:
    """The contract with ``FlowView.invalidate``: a slider of layer k invalidates k, a change of
    the stack or a ``redraw()`` from code invalidates everything (``None``)."""
    calls: list[int | None] = []
    explorer = PlanarExplorer(redraw_delay=0, resolution=16)
    explorer.view.invalidate = calls.append
    explorer.controls["b"].value = 0.4
    explorer.redraw()
    assert calls == [0, None]
    builder = FACTORIES["builder"](redraw_delay=0, resolution=16)
    builder.view.invalidate = calls.append
    calls.clear()
    builder.controls["layers"].value = 2
    next(w for n, w in sorted(builder.controls.items())
         if n.startswith("layer.") and isinstance(w, W.FloatSlider)).value = 0.2
    builder.controls["after_layer"].value = 3  # another prefix: no parameter changed
    builder.controls["remove"].click()
    assert calls == [2, None]


# --- set() and typed values: one rule (typed_values.check_value), refusals change nothing ---------
def _walk(root: W.Widget) -> list[W.Widget]:
    """``root`` and every widget laid out below it (through ``children``)."""
    out, stack = [], [root]
    while stack:
        w = stack.pop()
        out.append(w)
        stack.extend(c for c in getattr(w, "children", ()) if isinstance(c, W.Widget))
    return out


def _state(widget: W.Widget) -> tuple:
    """Everything a refused value must leave alone: control values, the engine's tensors, the
    picture and frame counter, the message area, the typed boxes' text."""
    modules = list(getattr(widget, "layers", {}).values()) if isinstance(
        getattr(widget, "layers", None), dict) else []
    tensors = [t.detach().clone() for m in [widget.flow, *modules]
               for t in m.state_dict().values()]
    typed = {n: typed_value(w).text.value for n, w in widget.controls.items()
             if typed_value(w) is not None}
    values = {n: w.value for n, w in widget.controls.items() if not isinstance(w, W.Button)}
    return (values, tensors, widget.last_frame, widget.frame, widget.status.value,
            widget.message.value, typed)


def _assert_same_state(before: tuple, after: tuple) -> None:
    values, tensors, frame_obj, frame, status, message, typed = after
    assert values == before[0]
    assert len(tensors) == len(before[1])
    for a, b in zip(tensors, before[1], strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)
    assert frame_obj is before[2] and frame == before[3] and status == before[4]
    assert message == before[5] and typed == before[6]


#: (widget, control, refused value, what the message must say besides the control's name)
REFUSED = [
    ("planar", "w1", "x", "number in [-4, 4]"),
    ("planar", "w1", None, "number"),
    ("planar", "w1", ["a"], "number"),
    ("planar", "w1", {}, "number"),
    ("planar", "w1", 1 + 2j, "number"),
    ("planar", "b", True, "number in [-3, 3]"),
    ("planar", "b", np.bool_(False), "number"),
    ("planar", "b", float("nan"), "finite number in [-3, 3]"),
    ("planar", "b", float("inf"), "finite"),
    ("planar", "b", -float("inf"), "finite"),
    ("planar", "b", 3.5, "number in [-3, 3]"),
    ("planar", "b", np.float64(-3.01), "number in [-3, 3]"),
    ("planar", "constrain", "no", "True or False"),
    ("planar", "constrain", 1, "True or False"),
    ("radial", "alpha", -3.0, "number in [0.05, 4]"),
    ("radial", "alpha", 0.0, "number in [0.05, 4]"),
    ("radial", "alpha", 4.5, "number in [0.05, 4]"),
    ("coupling", "scale", "cube", "one of ['exp', 'tanh', "),
    ("coupling", "split", 0, "one of ['x₁ conditions x₂', 'x₂ conditions x₁']"),
    ("coupling", "probe_1", 7.0, "number in [-4, 4]"),
    ("builder", "layer.b", 9.0, "number in [-3, 3]"),
    ("builder", "after_layer", 2.5, "an integer in [0, 8]"),
    ("builder", "after_layer", True, "an integer"),
    ("builder", "after_layer", 9, "an integer in [0, 8]"),
    ("builder", "layers", True, "one of [0, 1, "),
    ("builder", "layers", 1.0, "one of [0, 1, "),
    ("builder", "preset", "spiral", "one of ['custom', "),
    ("change_of_variables", "kind", "spiral", "one of ['affine', 'planar', 'radial']"),
    ("change_of_variables", "samples", "yes", "True or False"),
    ("change_of_variables", "log_scale", "0.5", "number in [-2, 2]"),
]


@pytest.mark.parametrize(("name", "control", "value", "allowed"), REFUSED,
                         ids=[f"{n}-{c}-{v!r}" for n, c, v, _ in REFUSED])
def test_set_refuses_a_value_the_control_cannot_take_and_changes_nothing(
        name: str, control: str, value: object, allowed: str) -> None:
    widget = _make(name, redraw_delay=0, resolution=16)
    before = _state(widget)
    with pytest.raises(ValueError) as err:
        widget.set(**{control: value})
    text = str(err.value)
    assert text.startswith(f"{type(widget).__name__}.set: {control} must be "), text
    assert allowed in text and f"got {shown(value)}" in text, text
    _assert_same_state(before, _state(widget))


def test_set_checks_every_value_before_writing_any() -> None:
    explorer = PlanarExplorer(redraw_delay=0, resolution=16)
    before = _state(explorer)
    with pytest.raises(ValueError, match=r"^PlanarExplorer.set: w2 must be a finite number "
                                         r"in \[-4, 4\]; got 'x'$"):
        explorer.set(b=0.5, u1=-1.0, w2="x")  # b and u1 come first and are fine
    _assert_same_state(before, _state(explorer))


def test_set_takes_numpy_scalars_and_ints_for_float_sliders() -> None:
    explorer = PlanarExplorer(redraw_delay=0, resolution=16)
    frame = explorer.frame
    explorer.set(b=np.float64(0.25), u1=np.int64(-2), w2=1, constrain=np.bool_(False))
    assert explorer.frame == frame + 1
    assert float(explorer.layer.b.detach()) == pytest.approx(0.25)
    assert explorer.layer.u.detach().tolist()[0] == pytest.approx(-2.0)
    assert explorer.layer.constrain is False
    assert type(explorer.controls["u1"].value) is float
    builder = FACTORIES["builder"](redraw_delay=0, resolution=16)
    builder.set(layers=np.int64(2), after_layer=np.int64(3))
    assert builder.selected_layer == 2 and builder.after_layer == 3
    assert type(builder.controls["layers"].value) is int


def _refusing_engine(explorer: W.Widget, control: str) -> None:
    """Make the engine refuse every write of ``control`` (as it refuses, say, α ≤ 0)."""
    write = explorer._write

    def refuse(spec: object, value: object) -> None:
        if spec.name == control:
            raise ValueError(f"Planar: {control} refused by the test; got {value!r}")
        write(spec, value)

    explorer._write = refuse


def test_set_a_value_the_engine_refuses_raises_and_puts_everything_back() -> None:
    explorer = PlanarExplorer(redraw_delay=0, resolution=16)
    _refusing_engine(explorer, "b")
    before = _state(explorer)
    with pytest.raises(ValueError, match=r"^PlanarExplorer.set: b = 0\.4 was refused: "
                                               r"Planar: b refused by the"):
        explorer.set(u1=1.25, b=0.4)  # u1 is written, then b is refused: u1 goes back
    _assert_same_state(before, _state(explorer))  # no message either: the cell shows it
    explorer.set(u1=1.25)  # the next good set() draws
    assert explorer.frame == before[3] + 1 and explorer.message.value == ""


def test_a_move_the_engine_refuses_is_explained_and_the_slider_shows_the_value_in_use() -> None:
    explorer = PlanarExplorer(redraw_delay=0, resolution=16)
    _refusing_engine(explorer, "b")
    slider, typed = explorer.controls["b"], typed_value(explorer.controls["b"])
    b, frame = float(explorer.layer.b.detach()), explorer.frame
    slider.set_state({"value": 0.4})  # a learner's drag, from the browser
    assert "b refused by the test" in explorer.message.value
    assert "controls show the values in use" in explorer.message.value
    assert explorer.message.layout.display is None
    assert slider.value == b and typed.text.value == f"{b:.2f}"
    assert float(explorer.layer.b.detach()) == b and explorer.frame == frame
    typed.text.set_state({"value": "0.6"})  # typed: the same path, the same answer
    assert slider.value == b and typed.text.value == f"{b:.2f}" and explorer.frame == frame


#: (widget, control) pairs to type into: a slider, a log slider, a probe, a layer editor's
#: slider, a 1-D map's slider.
TYPED = [("planar", "b"), ("radial", "alpha"), ("coupling", "s_slope"), ("coupling", "probe_2"),
         ("builder", "layer.u1"), ("change_of_variables", "shift")]


@pytest.mark.parametrize(("name", "control"), TYPED)
@pytest.mark.parametrize("text", ["abc", "", "1,5", "99", "-99", "nan", "inf", "1e400"])
def test_a_refused_typed_value_is_explained_and_the_box_shows_the_value_in_use(
        name: str, control: str, text: str) -> None:
    widget = _make(name, redraw_delay=0, resolution=16)
    typed = typed_value(widget.controls[control])
    before = _state(widget)
    typed.text.set_state({"value": text})  # typed in the browser, then Enter
    after = _state(widget)
    assert f"{control} must be a" in widget.message.value
    assert widget.message.layout.display is None
    _assert_same_state(before[:5] + after[5:6] + before[6:], after)  # only the message is new
    assert typed.text.value == before[6][control]


@pytest.mark.parametrize(("name", "control"), TYPED)
def test_a_typed_value_in_range_moves_the_slider_like_a_drag(name: str, control: str) -> None:
    widget = _make(name, redraw_delay=0, resolution=16)
    slider = widget.controls[control]
    typed = typed_value(slider)
    typed.text.set_state({"value": "abc"})
    assert widget.message.value != ""
    frame = widget.frame
    value = 0.75 if control != "alpha" else 2.5  # not the value in use
    typed.text.set_state({"value": f" {value} "})
    assert slider.value == pytest.approx(value)
    assert typed.text.value == format(value, ".3g" if control == "alpha" else ".2f")
    if control.startswith("probe"):  # the probe moves the Jacobian table, no new picture
        assert widget.frame == frame and widget.message.value == ""
        return
    assert widget.frame == frame + 1 and widget.message.value == ""  # drawn; message gone
    spec_value = {"alpha": lambda: widget.layer.alpha, "b": lambda: widget.layer.b}
    if control in spec_value:
        assert float(spec_value[control]().detach()) == pytest.approx(value)


def test_the_typed_box_follows_the_slider_and_shows_a_log_sliders_value() -> None:
    explorer = FACTORIES["radial"](redraw_delay=0, resolution=16)
    alpha = explorer.controls["alpha"]
    typed = typed_value(alpha)
    assert isinstance(alpha, W.FloatLogSlider) and not alpha.readout
    alpha.value = 0.125  # a value, not its exponent
    assert typed.text.value == "0.125"
    typed.text.value = "3"  # from code too: the same rule
    assert alpha.value == pytest.approx(3.0) and typed.text.value == "3"
    # the browser putting a shown value on the slider's steps is not an edit: the box keeps
    # showing the value in use
    explorer.set(alpha=0.123)
    frame = explorer.frame
    alpha.set_state({"value": 10 ** (round(math.log10(0.123) / alpha.step) * alpha.step)})
    assert typed.text.value == "0.123" and explorer.frame == frame
    assert float(explorer.layer.alpha.detach()) == pytest.approx(0.123)


def _public_widget(name: str) -> W.Widget:
    """A small instance of public widget ``name`` (small untrained models: fast)."""
    from nfwidgets.flows import Flow, Planar

    cls = getattr(nfwidgets.widgets, name)
    small = {"redraw_delay": 0, "resolution": 16}
    torch.manual_seed(0)
    if name in ("PlanarExplorer", "RadialExplorer", "CouplingExplorer", "FlowBuilder"):
        return cls(**small)
    if name == "Explorer":
        return cls(Flow([Planar([1.0, 0.0], [0.5, 0.0], 0.0)]), **small)
    if name == "ChangeOfVariables1D":
        return cls(redraw_delay=0)
    if name == "LayerComparison":
        return cls(lambda z: (z, z[:, 0] * 0), Planar([1.0, 0.0], [0.5, 0.0], 0.0), **small)
    if name == "TrainingDashboard":
        return cls(target="eight_gaussians", flow="coupling", layers=3, n_data=300,
                   panel_size=200, **small)
    if name == "PosteriorExplorer":
        from nfwidgets.models.flowvae import FlowVAE

        return cls(FlowVAE(layers=4, hidden=16), **small)
    if name == "SampleGrid":
        from nfwidgets.models.glow import Glow

        model = Glow(levels=2, depth=2, hidden=8)
        with torch.no_grad():  # data-dependent initialisation
            model.log_prob(nfwidgets.data.dequantize(nfwidgets.data.digits("train")[:64]))
        return cls(model.eval(), redraw_delay=0)
    raise AssertionError(f"{name}: a public widget this test does not build yet")


#: The sliders each widget makes itself (not from ``controls_for``): type, range, step, the
#: format of the value shown and the width of slider + box (the slider's width with
#: ipywidgets' readout, as before the typed boxes).
OWN_SLIDERS = {
    "FlowBuilder": {"after_layer": (W.IntSlider, 0, 8, 1, "d", 420)},
    "SampleGrid": {"temperature": (W.FloatSlider, 0.0, 1.2, 0.05, ".2f", 340),
                   "first": (W.IntSlider, 0, 359, 1, "d", 340),
                   "second": (W.IntSlider, 0, 359, 1, "d", 340)},
    "PosteriorExplorer": {"index": (W.IntSlider, 0, 359, 1, "d", 320),
                          "k": (W.IntSlider, 0, 4, 1, "d", 320)},
    "TrainingDashboard": {"layers": (W.IntSlider, 1, 32, 1, "d", 290),
                          "lr": (W.FloatLogSlider, -4, 0, 0.1, ".1e", 320),
                          "after_layer": (W.IntSlider, 0, 3, 1, "d", 300)},
}


@pytest.mark.parametrize("name", nfwidgets.widgets.__all__)
def test_every_slider_has_a_typed_box_laid_out_next_to_it(name: str) -> None:
    """Every slider of every public widget: ipywidgets' readout (which clamps and drops typed
    values in the browser) off, our typed box next to it, laid out, showing the value in use;
    the widgets' own sliders keep their range, step, format and width."""
    widget = _public_widget(name)
    hidden = list(getattr(widget, "_boxes", {}).values())  # the 1-D view's other maps' boxes
    shown = {id(w) for root in [widget, *hidden] for w in _walk(root)}
    sliders = {n: w for n, w in widget.controls.items()
               if isinstance(w, W.FloatSlider | W.FloatLogSlider | W.IntSlider)}
    assert sliders or name in ("Explorer", "LayerComparison"), name  # no controls of their own
    assert set(OWN_SLIDERS.get(name, {})) <= set(sliders)
    for control, slider in sliders.items():
        typed = typed_value(slider)
        assert typed is not None, f"{control}: no typed box"
        assert not slider.readout, f"{control}: ipywidgets' readout is still shown"
        assert {"nfw-typed", control_class(control)} <= set(typed.text._dom_classes)
        assert not typed.text.continuous_update and typed.name == control
        assert typed.text.value == format(slider.value, slider.readout_format)
        row = control_row(slider)
        assert list(row.children) == [slider, typed.text]
        assert id(slider) in shown and id(typed.text) in shown, f"{control}: not laid out"
        if control in OWN_SLIDERS.get(name, {}):
            cls, lo, hi, step, fmt, width = OWN_SLIDERS[name][control]
            assert type(slider) is cls and (slider.min, slider.max) == (lo, hi)
            assert slider.step == step and slider.readout_format == fmt
            assert int(slider.layout.width.removesuffix("px")) + TYPED_WIDTH == width
    widget.close()


# --- a refused constructor leaves nothing behind -----------------------------------------------
#: Each widget with one bad argument its constructor refuses (after building nothing, or after
#: building some of its models: both must leave no open widget model and print nothing).
REFUSED = {
    "PlanarExplorer": {"resolution": 2.5},
    "RadialExplorer": {"n_samples": True},
    "CouplingExplorer": {"density_max": -1.0},
    "Explorer": {"panel_size": 10**9},
    "FlowBuilder": {"preset": "no-such-preset"},
    "ChangeOfVariables1D": {"bins": 0},
    "TrainingDashboard": {"lr": -1.0},
    "PosteriorExplorer": {"index": -1},
    "SampleGrid": {"temperature": 5.0},
    "LayerComparison": {"direction": "sideways"},
}


def _refused_call(name: str) -> Callable[[], object]:
    from nfwidgets.flows import Flow, Planar

    cls = getattr(nfwidgets.widgets, name)
    bad = REFUSED[name]
    if name == "Explorer":
        return lambda: cls(Flow([Planar([1.0, 0.0], [0.5, 0.0], 0.0)]), **bad)
    if name == "LayerComparison":
        return lambda: cls(lambda z: (z, z[:, 0] * 0), Planar([1.0, 0.0], [0.5, 0.0], 0.0),
                           **bad)
    return lambda: cls(**bad)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_constructor_leaves_no_widget_and_prints_nothing(
        name: str, capfd: pytest.CaptureFixture[str]) -> None:
    call = _refused_call(name)
    before = set(_instances)
    unraisable: list[str] = []
    hook, sys.unraisablehook = sys.unraisablehook, lambda u: unraisable.append(repr(u))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ValueError, match=next(iter(REFUSED[name]))):
                call()
        gc.collect()
    finally:
        sys.unraisablehook = hook
    left = [type(_instances[k]).__name__ for k in set(_instances) - before]
    assert not left, f"{name}: a refused constructor left open widget models {left}"
    assert not unraisable, unraisable
    out, err = capfd.readouterr()
    assert err == "" and out == ""


def test_refused_constructor_after_building_closes_what_it_built() -> None:
    """A check that fails after the widget models exist (a layer the explorer cannot show,
    found by ``_bind_layer``) still closes every model the constructor opened."""
    from nfwidgets.widgets._lifetime import builds_widgets

    class Broken(PlanarExplorer):
        @builds_widgets
        def __init__(self) -> None:
            super().__init__(resolution=16, redraw_delay=0.0)
            raise ValueError("refused after building")

    before = set(_instances)
    with pytest.raises(ValueError, match="after building"):
        Broken()
    assert set(_instances) - before == set()


@pytest.mark.parametrize("name", ["PlanarExplorer", "FlowBuilder", "ChangeOfVariables1D"])
def test_close_closes_every_model_the_widget_opened(name: str) -> None:
    kwargs = {"redraw_delay": 0.0} if name == "ChangeOfVariables1D" else {
        "resolution": 16, "redraw_delay": 0.0}
    before = set(_instances)
    getattr(nfwidgets.widgets, name)(**kwargs).close()
    left = [type(_instances[k]).__name__ for k in set(_instances) - before]
    assert not left, f"{name}.close() left open widget models {left}"


def test_a_decimal_comma_typed_into_a_box_is_refused_with_a_hint() -> None:
    """Many students write 1,5 for 1.5: the box says how to write it, and changes nothing."""
    explorer = PlanarExplorer(redraw_delay=0, resolution=16)
    before = _state(explorer)[:4]
    typed_value(explorer.controls["b"]).text.value = "1,5"
    assert "write a decimal point: 1.5" in explorer.message.value
    assert _state(explorer)[:4][0] == before[0] and explorer.frame == before[3]
    typed_value(explorer.controls["b"]).text.value = "abc"
    assert "decimal point" not in explorer.message.value
