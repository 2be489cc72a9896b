"""Properties every explorer must have: fuzzed controls never break it, every mark stays finite,
and one control change sends at most one comm update per widget model."""

from __future__ import annotations

import gc
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
from nfwidgets.widgets import PlanarExplorer

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
