"""TrainingDashboard: same training as a bare loop however the steps are split, drawing points,
pause/reset, non-blocking Play on a real event loop, the NaN guard, fuzzed controls, comm
messages per redraw, and close()."""

from __future__ import annotations

import asyncio
import copy
import math
import random
import re
import threading
from collections import Counter

import bqplot
import ipywidgets as W
import numpy as np
import pytest
import torch
from conftest import assert_mark_arrays_finite
from helpers import image_png

from nfwidgets import Flow, FlowBuilder, Planar, TrainingDashboard
from nfwidgets.grid import density_grid
from nfwidgets.targets import energy, toy_data
from nfwidgets.train import MaximumLikelihood, ReverseKL
from nfwidgets.training_setup import make_flow
from nfwidgets.widgets.controls import typed_value

SMALL = dict(resolution=16, redraw_delay=0, n_data=300, panel_size=200)


def _ml_dashboard(**kw: object) -> TrainingDashboard:
    args = dict(target="eight_gaussians", flow="coupling", layers=3, lr=1e-2, batch_size=64,
                seed=3, **SMALL)
    args.update(kw)
    return TrainingDashboard(**args)


def _rkl_dashboard(**kw: object) -> TrainingDashboard:
    args = dict(target="U1", flow="planar", layers=4, lr=2e-2, batch_size=64, seed=5,
                anneal_steps=20, **SMALL)
    args.update(kw)
    return TrainingDashboard(**args)


def _params(flow: Flow) -> list[torch.Tensor]:
    return [p.detach().clone() for p in flow.parameters()]


def _assert_same(a: list[torch.Tensor], b: list[torch.Tensor]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y), (x, y)


def _bare_ml(flow: Flow, n: int, **kw: object) -> list[torch.Tensor]:
    data = toy_data("eight_gaussians", 300, seed=3)
    fit = MaximumLikelihood(flow, data, batch_size=64, lr=1e-2, seed=3)
    fit.run(n)
    return _params(flow)


def _bare_rkl(flow: Flow, n: int) -> list[torch.Tensor]:
    fit = ReverseKL(flow, energy("U1"), n_samples=64, anneal_steps=20, lr=2e-2, seed=5)
    fit.run(n)
    return _params(flow)


# --- the dashboard trains exactly like a bare loop ------------------------------------------
def test_maximum_likelihood_matches_a_bare_loop_however_the_steps_are_split() -> None:
    d = _ml_dashboard(redraw_every=0.0)  # redraw after every chunk: redraws must not matter
    initial = copy.deepcopy(d.flow)
    for _ in range(4):
        d.controls["step"].click()
    d.step(6)
    d.train(15)
    d.redraw()
    assert d.trainer.step_count == 25 and len(d.history) == 25
    _assert_same(_params(d.flow), _bare_ml(initial, 25))
    # and the same number of steps in one go, with no redraw in between
    e = _ml_dashboard(redraw_every=1e9)
    e.train(25)
    _assert_same(_params(e.flow), _params(d.flow))


def test_coarse_grid_while_training_full_grid_at_rest() -> None:
    d = _ml_dashboard(redraw_every=0.0, resolution=21)
    seen: list[int] = []
    draw = d._draw
    d._draw = lambda frame: (seen.append(frame.resolution), draw(frame))  # type: ignore[method-assign]
    d.train(4)
    assert seen[:-1] and set(seen[:-1]) == {d.coarse_resolution} and d.coarse_resolution == 15
    assert seen[-1] == 21 and d.last_frame.density.shape == (21, 21)


def test_reverse_kl_matches_a_bare_loop_and_draws_the_current_parameters() -> None:
    d = _rkl_dashboard(redraw_every=0.0)
    fresh = make_flow("planar", 4, 5)  # built afresh: never evaluated, no engine cache
    _assert_same(_params(fresh), _params(d.flow))
    d.step(3)
    d.train(27)
    assert d.last_frame.bound is not None and math.isfinite(d.last_frame.bound[0])
    _assert_same(_params(d.flow), _bare_rkl(fresh, 30))
    # the legend says the curve was the annealed objective (β_t < 1) for the first 20 steps
    assert "annealed until step 20" in d.loss_panel.legend.value
    # the picture is that of the trained parameters, not of a stale no-grad cache
    np.testing.assert_array_equal(d.last_frame.density, density_grid(fresh, d.bounds, 16).density)


def test_the_built_flow_is_seeded_and_leaves_the_global_rng_alone() -> None:
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, b = _ml_dashboard(), _ml_dashboard()
    assert torch.equal(torch.random.get_rng_state(), before)
    _assert_same(_params(a.flow), _params(b.flow))
    c = _ml_dashboard(seed=4)
    assert not all(torch.equal(x, y) for x, y in zip(_params(a.flow), _params(c.flow),
                                                      strict=True))


# --- Play on a real event loop --------------------------------------------------------------
async def _until(condition: object, limit: int = 6000) -> int:
    """Yield to the event loop (10 ms sleeps) until ``condition()``; returns the sleeps taken.
    The limit only keeps a broken Play from hanging the test run."""
    for ticks in range(limit):
        if condition():
            return ticks
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never came true")


def test_play_is_non_blocking_pauses_and_matches_a_bare_loop() -> None:
    async def scenario() -> tuple[TrainingDashboard, int, int, list[torch.Tensor]]:
        d = _ml_dashboard(steps=10**6, redraw_every=0.02, chunk_seconds=0.005)
        initial = copy.deepcopy(d.flow)
        d.controls["play"].click()
        assert d.playing and d.trainer.step_count == 0  # returned at once: nothing ran yet
        # this coroutine keeps running while Play trains
        ticks = await _until(lambda: d.trainer.step_count >= 5)
        d.controls["pause"].click()
        first = d.trainer.step_count
        assert not d.playing
        await asyncio.sleep(0.1)
        assert d.trainer.step_count == first  # paused means paused
        d.controls["lr"].value = 3e-3  # change a setting while paused, then resume
        d.play()
        await _until(lambda: d.trainer.step_count >= first + 5)
        d.pause()
        return d, first, ticks, initial

    d, first, ticks, initial = asyncio.run(scenario())
    assert ticks >= 1
    total = d.trainer.step_count
    data = toy_data("eight_gaussians", 300, seed=3)
    fit = MaximumLikelihood(initial, data, batch_size=64, lr=1e-2, seed=3)
    fit.run(first)
    fit.lr = 3e-3
    fit.run(total - first)
    _assert_same(_params(d.flow), _params(initial))
    assert d.frame > 2


def test_play_stops_at_the_total_and_without_a_loop_says_so() -> None:
    async def scenario() -> TrainingDashboard:
        d = _ml_dashboard(steps=12, redraw_every=0.01)
        d.play()
        await _until(lambda: not d.playing)
        return d

    d = asyncio.run(scenario())
    assert not d.playing and d.trainer.step_count == 12
    assert d.progress.value == 12 and d.progress.max == 12
    d.controls["play"].click()  # at the total: a hint, nothing else
    assert d.trainer.step_count == 12 and "steps" in d.hint.value
    e = _ml_dashboard()
    e.controls["play"].click()  # no running event loop: a message, no exception
    assert "event loop" in e.message.value and not e.playing


# --- drawing, pausing, resetting ------------------------------------------------------------
def test_drawing_points_by_click_and_by_code() -> None:
    d = _ml_dashboard(target="draw", blob_size=25)
    assert d.trainer is None
    d.step()  # nothing to train on: a hint, no exception
    assert "add points" in d.hint.value and d.history == []
    d.add_points([1.0, 1.0])
    assert d.trainer.data.shape == (25, 2)
    torch.testing.assert_close(d.trainer.data.mean(0), torch.tensor([1.0, 1.0]), atol=0.2,
                               rtol=0)
    d.train(5)
    # a click on the density plot, as the browser sends it
    d.panel.mark._handle_custom_msgs(None, {"event": "element_click",
                                            "data": {"click_x": -2.0, "click_y": 0.5}})
    assert d.trainer.data.shape == (50, 2) and d.trainer.step_count == 5  # training continues
    d.add_points([[0.0, -2.0], [2.0, -2.0]])
    assert d.trainer.data.shape == (100, 2)
    shown = np.stack([d._points.x, d._points.y], axis=1)
    assert shown.shape == (100, 2) and d._points.visible
    d.controls["clear_points"].click()
    assert d.trainer is None and d.history == []
    with pytest.raises(ValueError, match="finite"):
        d.add_points([float("nan"), 0.0])
    e = _ml_dashboard()
    with pytest.raises(ValueError, match="draw"):
        e.add_points([0.0, 0.0])
    e.panel.mark._handle_custom_msgs(None, {"event": "element_click",
                                            "data": {"click_x": 0.0, "click_y": 0.0}})
    assert "draw points" in e.hint.value and e.trainer.data.shape == (300, 2)


def test_drawn_points_are_seeded() -> None:
    a, b = (_ml_dashboard(target="draw") for _ in range(2))
    for d in (a, b):
        d.add_points([[0.5, 0.5], [-1.0, 2.0]])
        d.train(4)
    torch.testing.assert_close(a.trainer.data, b.trainer.data, rtol=0, atol=0)
    _assert_same(_params(a.flow), _params(b.flow))


def test_reset_and_settings_that_start_over() -> None:
    d = _ml_dashboard()
    initial = _params(d.flow)
    d.train(10)
    d.controls["reset"].click()
    assert d.trainer.step_count == 0 and d.history == []
    _assert_same(_params(d.flow), initial)
    d.train(3)
    d.set(layers=5)
    assert len(d.flow) == 5 and d.trainer.step_count == 0
    assert d.controls["after_layer"].max == 5 and d.controls["after_layer"].value == 5
    d.set(target="U2", flow="radial")
    assert isinstance(d.trainer, ReverseKL) and d.trainer.step_count == 0
    d.set(seed=9, target="rings")
    torch.testing.assert_close(d.trainer.data, toy_data("rings", 300, seed=9))
    # lr and batch size apply to the running trainer, no reset
    d.train(2)
    d.set(lr=1e-3, batch_size=32)
    assert d.trainer.step_count == 2 and d.trainer.lr == pytest.approx(1e-3)
    assert d.trainer.batch_size == 32


def test_after_layer_shows_the_truncated_flow() -> None:
    d = _rkl_dashboard()
    d.train(5)
    d.set(after_layer=2)
    expected = density_grid(d.flow.truncated(2), d.bounds, 16).density
    np.testing.assert_array_equal(d.last_frame.density, expected)
    assert d.last_frame.after_layer == 2 and "layer 2 of 4" in d.figures["density"].title
    d.set(after_layer=4)
    np.testing.assert_array_equal(d.last_frame.density,
                                  density_grid(d.flow, d.bounds, 16).density)


def test_typed_values_follow_the_sliders_rules_and_their_current_ranges() -> None:
    d = _rkl_dashboard()
    boxes = {n: typed_value(d.controls[n]) for n in ("layers", "lr", "after_layer")}
    assert [b.text.value for b in boxes.values()] == ["4", "2.0e-02", "4"]
    frame = d.frame
    for name, text, allowed in (("lr", "abc", r"a finite number in \[0\.0001, 1\]"),
                                ("lr", "5", r"a finite number in \[0\.0001, 1\]"),
                                ("layers", "2.5", r"a positive integer ≤ 32"),
                                ("after_layer", "5", r"an integer in \[0, 4\]")):
        boxes[name].text.set_state({"value": text})  # typed in the browser, then Enter
        assert re.search(f"{name} must be {allowed}; got", d.message.value), d.message.value
        assert d.frame == frame and boxes[name].text.value == format(
            d.controls[name].value, d.controls[name].readout_format)
    boxes["lr"].text.set_state({"value": "1e-3"})  # applies to the trainer, no reset
    assert d.trainer.lr == pytest.approx(1e-3) and boxes["lr"].text.value == "1.0e-03"
    boxes["after_layer"].text.set_state({"value": "2"})
    assert d.last_frame.after_layer == 2 and d.message.value == ""
    boxes["layers"].text.set_state({"value": "3"})  # a new flow: "after layer" now ends at 3
    assert len(d.flow) == 3 and boxes["after_layer"].text.value == "3"
    boxes["after_layer"].text.set_state({"value": "4"})
    assert "after_layer must be an integer in [0, 3]; got 4" in d.message.value


def test_a_given_flow_is_trained_in_place_and_a_builder_is_copied() -> None:
    g = torch.Generator().manual_seed(0)
    flow = Flow([Planar(torch.randn(2, generator=g), torch.randn(2, generator=g), 0.0)
                 for _ in range(3)])
    initial = _params(flow)
    d = TrainingDashboard("U1", flow=flow, **SMALL)
    assert d.flow is flow and d.controls["layers"].disabled
    assert typed_value(d.controls["layers"]).text.disabled  # its box too
    with pytest.raises(ValueError, match="the given flow has 3 layers"):
        d.set(layers=2)  # a given flow's length is fixed: refused, the slider snaps back
    assert d.controls["layers"].value == 3 and len(d.flow) == 3 and d.message.value == ""
    d.train(5)
    assert not torch.equal(_params(flow)[0], initial[0])
    d.reset()
    _assert_same(_params(flow), initial)
    builder = FlowBuilder(preset="mixed_8", resolution=16, redraw_delay=0)
    before = _params(builder.flow)
    e = TrainingDashboard("two_moons", flow=builder, **SMALL)
    e.train(5)
    _assert_same(_params(builder.flow), before)
    assert e.flow is not builder.flow and len(e.flow) == len(builder.flow)


def test_callbacks_on_another_thread_never_land_inside_a_step() -> None:
    """ipykernel 7 may run a widget callback on a subshell thread while training runs on the
    main thread: a redraw or a control change must wait for the step in progress."""
    d = _ml_dashboard(redraw_every=1e9)
    stop = threading.Event()
    errors: list[BaseException] = []

    def other_thread() -> None:
        lr = [1e-2, 5e-3]
        while not stop.is_set():
            try:
                d.redraw()
                d.controls["lr"].value = lr[d.frame % 2]
            except BaseException as err:  # pragma: no cover - the failure being tested
                errors.append(err)

    worker = threading.Thread(target=other_thread)
    worker.start()
    try:
        d.train(150)
    finally:
        stop.set()
        worker.join()
    assert not errors
    assert d.message.value == "", d.message.value
    assert d.trainer.step_count == 150 and all(math.isfinite(v) for v in d.history)


# --- the NaN guard --------------------------------------------------------------------------
def test_divergence_pauses_shows_the_reason_and_keeps_finite_parameters() -> None:
    d = _rkl_dashboard()
    d.train(5)
    d.trainer.lr = 1e30  # far beyond the slider: forces a non-finite step
    d.train(20)
    assert d.trainer.step_count < 25
    text = d.message.value
    assert "rolled back" in text and "Training paused" in text
    assert all(torch.isfinite(p).all() for p in d.flow.parameters())
    assert np.isfinite(d.last_frame.density).all()
    d.redraw()
    assert d.message.value == text  # the reason stays on screen until a good step
    d.set(lr=1e-3)
    d.step()
    assert d.message.value == "" and d.trainer.step_count >= 6


def test_bad_constructor_arguments_are_rejected() -> None:
    for bad in (dict(target="moons"), dict(flow="glow"), dict(layers=0), dict(lr=-1.0),
                dict(redraw_every=float("nan")), dict(steps=0), dict(seed=1.5),
                dict(coarse_resolution=4), dict(resolution=2000)):
        with pytest.raises(ValueError):
            TrainingDashboard(**{**SMALL, **bad})
    d = _ml_dashboard()
    for call in (lambda: d.step(0), lambda: d.train(-1), lambda: d.set(nope=1),
                 lambda: d.add_points("x")):
        with pytest.raises(ValueError):
            call()


# --- robustness -----------------------------------------------------------------------------
def _random_value(widget: W.Widget, rng: random.Random) -> object:
    if isinstance(widget, W.FloatLogSlider):
        return widget.base ** rng.uniform(widget.min, widget.max)
    if isinstance(widget, W.IntSlider | W.BoundedIntText):
        hi = min(widget.max, widget.min + 40)  # small values: a fuzz step must stay quick
        return rng.randint(widget.min, hi)
    if isinstance(widget, W.Checkbox):
        return rng.random() < 0.5
    if isinstance(widget, W.Dropdown):
        choice = rng.choice(list(widget.options))
        return choice[1] if isinstance(choice, tuple) else choice
    raise TypeError(type(widget))


def _assert_marks_finite(d: TrainingDashboard) -> None:
    for name, fig in d.figures.items():
        for mark in fig.marks:
            assert_mark_arrays_finite(mark, name)
            if isinstance(mark, bqplot.Image):
                assert image_png(mark.image).startswith(b"\x89PNG")
    frame = d.last_frame
    assert np.isfinite(frame.density).all()


def test_fuzzed_controls_never_raise_and_marks_stay_finite() -> None:
    rng = random.Random(7)
    d = TrainingDashboard(layers=2, n_data=200, resolution=12, redraw_delay=0, steps=50)
    for _ in range(120):
        name = rng.choice(sorted(d.controls))
        widget = d.controls[name]
        if isinstance(widget, W.Button):
            widget.click()
        else:
            if name == "layers":
                widget.value = rng.randint(1, 4)
            else:
                widget.value = _random_value(widget, rng)
        if rng.random() < 0.3:
            d.step(rng.randint(1, 3))
        if d._target_name == "draw" and rng.random() < 0.3:
            d.add_points([rng.uniform(-4, 4), rng.uniform(-4, 4)])
        _assert_marks_finite(d)
        assert all(math.isfinite(v) for v in d.history)
    assert d.frame > 50


# --- comm messages ----------------------------------------------------------------------------
@pytest.mark.parametrize("make", [_ml_dashboard, _rkl_dashboard], ids=["ml", "reverse_kl"])
def test_one_update_per_changed_model_per_redraw(make: object, comm_log: list) -> None:
    d = make(redraw_every=0.0)
    d.train(3)
    for action in (lambda: d.step(2), lambda: d.controls["step"].click(),
                   lambda: d.set(after_layer=1), lambda: d.train(1)):
        frame = d.frame
        comm_log.clear()
        action()
        assert d.frame == frame + 1, "one action, one redraw"
        updates = Counter(cid for method, cid, _ in comm_log if method == "update")
        assert updates, "nothing was sent"
        assert max(updates.values()) == 1, updates.most_common(3)
        opens = [cid for method, cid, _ in comm_log if method == "open"]
        closes = [cid for method, cid, _ in comm_log if method == "close"]
        assert opens == [] and closes == [], "a redraw opens and closes no widget model"


def test_close_closes_every_model(comm_log: list) -> None:
    d = _rkl_dashboard()
    d.train(3)
    d.set(target="draw")
    d.add_points([0.0, 0.0])
    d.set(target="U1")
    opened = {cid for method, cid, _ in comm_log if method == "open"}
    d.close()
    closed = {cid for method, cid, _ in comm_log if method == "close"}
    assert opened - closed == set(), f"{len(opened - closed)} of {len(opened)} left open"


def test_a_plateau_shows_a_hint_and_reset_clears_it() -> None:
    # data ≈ N(0, I): the flow starts at the identity, already the best fit, so the loss of
    # full batches cannot fall
    d = _ml_dashboard(target="draw", blob_size=400, blob_std=1.0, batch_size=2048, lr=1e-4,
                      plateau_window=20)
    d.add_points([0.0, 0.0])
    d.train(25)
    assert "Plateau" in d.hint.value and d.last_frame.hint is not None
    d.reset()
    assert d.hint.value == ""
    e = _ml_dashboard(lr=2e-2, plateau_window=20)  # far from the data: the loss falls fast
    e.train(25)
    assert e.hint.value == "" and e.last_frame.hint is None
