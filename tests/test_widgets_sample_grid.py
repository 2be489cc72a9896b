"""SampleGrid: controls drive the view model, the k-th press is reproducible, errors are shown
in the widget and state is kept; slider fuzz never breaks the picture."""

from __future__ import annotations

import copy
import random
import re

import numpy as np
import pytest
import torch

from nfwidgets import data
from nfwidgets.models.glow import Glow
from nfwidgets.sample_view import SampleView
from nfwidgets.widgets.controls import typed_value
from nfwidgets.widgets.sample_grid import SampleGrid


@pytest.fixture(scope="module")
def model() -> Glow:
    torch.manual_seed(1)
    model = Glow(levels=2, depth=2, hidden=8)
    with torch.no_grad():
        model.log_prob(data.dequantize(data.digits("train")[:64]))
    return model.eval()


@pytest.fixture
def grid(model: Glow, comm_log: list) -> SampleGrid:
    return SampleGrid(model, seed=0, redraw_delay=0)


def _frame_number(widget: SampleGrid) -> int:
    return int(re.search(r'data-frame="(\d+)"', widget.status.value).group(1))


def test_builds_with_its_class_controls_and_first_picture(grid: SampleGrid) -> None:
    assert "nfw-sample-grid" in grid._dom_classes
    assert sorted(grid.controls) == ["first", "new_samples", "second", "temperature"]
    assert grid.controls["temperature"].value == 0.7
    assert (grid.controls["temperature"].min, grid.controls["temperature"].max) == (0.0, 1.2)
    assert grid.frame == 1 == _frame_number(grid)
    assert grid.image.value == grid.last_frame.png and grid.figures["samples"] is grid.image


def test_presses_are_reproducible(grid: SampleGrid, model: Glow) -> None:
    first = grid.last_frame.samples
    grid.controls["new_samples"].click()
    grid.controls["new_samples"].click()
    assert grid.press == 2 and grid.frame == 3
    twice = grid.last_frame.samples
    assert not np.array_equal(first, twice)
    other = SampleGrid(model, seed=0, redraw_delay=0)
    other.controls["new_samples"].click()
    other.controls["new_samples"].click()
    np.testing.assert_array_equal(other.last_frame.samples, twice)


def test_set_moves_the_row_and_temperature(grid: SampleGrid) -> None:
    grid.set(first=10, second=20, temperature=0.3)
    frame = grid.last_frame
    assert frame.pair == (10, 20) and frame.temperature == pytest.approx(0.3)
    np.testing.assert_array_equal(frame.interpolation[-1], grid.view.test[20].numpy())
    with pytest.raises(ValueError, match="unknown control"):
        grid.set(colour=1)


def test_typed_values_are_checked_and_move_the_sliders(grid: SampleGrid) -> None:
    boxes = {n: typed_value(grid.controls[n]) for n in ("temperature", "first", "second")}
    assert [b.text.value for b in boxes.values()] == ["0.70", "0", "1"]
    frame, picture = grid.frame, grid.image.value
    for name, text, allowed in (("temperature", "abc", "a finite number in [0, 1.2]"),
                                ("temperature", "1.5", "a finite number in [0, 1.2]"),
                                ("first", "7.5", "an integer in [0, 359]"),
                                ("second", "-1", "an integer in [0, 359]")):
        boxes[name].text.set_state({"value": text})  # typed in the browser, then Enter
        assert f"{name} must be {allowed}; got" in grid.message.value
        assert grid.frame == frame and grid.image.value == picture
    assert [b.text.value for b in boxes.values()] == ["0.70", "0", "1"]
    boxes["temperature"].text.set_state({"value": "0.35"})
    boxes["second"].text.set_state({"value": "12"})
    assert grid.last_frame.temperature == pytest.approx(0.35) and grid.last_frame.pair == (0, 12)
    assert grid.message.value == "" and grid.frame == frame + 2


def test_engine_error_is_shown_and_state_kept(grid: SampleGrid, monkeypatch) -> None:
    grid.set(temperature=0.9)
    before, picture = grid.frame, grid.image.value

    def broken(*_a: object, **_k: object) -> None:
        raise ValueError("decoder exploded")

    monkeypatch.setattr(grid.view, "compute", broken)
    grid.set(temperature=0.4)
    assert "decoder exploded" in grid.message.value and grid.message.layout.display is None
    assert grid.frame == before and grid.image.value == picture
    assert grid.controls["temperature"].value == pytest.approx(0.4)
    monkeypatch.undo()
    grid.redraw()
    assert grid.message.value == "" and grid.last_frame.temperature == pytest.approx(0.4)


def test_slider_fuzz_never_shows_nan_or_dies(grid: SampleGrid) -> None:
    rng = random.Random(0)
    c = grid.controls
    for _ in range(40):
        name = rng.choice(["temperature", "first", "second", "new_samples"])
        if name == "new_samples":
            c[name].click()
        elif name == "temperature":
            c[name].value = rng.uniform(-1.0, 3.0)  # the slider clamps to 0–1.2
        else:
            c[name].value = rng.randint(-50, 500)  # clamped to 0–359
        frame = grid.last_frame
        assert grid.message.value == ""
        assert frame.samples.min() >= 0 and frame.samples.max() <= 16
        assert "nan" not in grid.readout.value.lower() + grid.status.value.lower()
        assert frame.temperature == pytest.approx(c["temperature"].value)
        assert frame.pair == (c["first"].value, c["second"].value)


def test_redraw_after_the_weights_change_keeps_the_row_ends_the_test_digits(model) -> None:
    grid = SampleGrid(copy.deepcopy(model), redraw_delay=0)
    with torch.no_grad():
        for p in grid.model.parameters():
            p.add_(0.01)
    grid.redraw()
    row = grid.last_frame.interpolation
    fresh = SampleView(grid.model, seed=0).compute(0.7, 0, grid.last_frame.pair).interpolation
    assert np.array_equal(row, fresh)
