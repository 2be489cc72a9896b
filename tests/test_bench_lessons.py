"""The pure parts of ``benchmarks/bench_lessons.py``: the slider walk and the statistics."""

from __future__ import annotations

import sys

import pytest
from test_interleave import load  # tests/ is on the path (pytest prepends it)


@pytest.fixture(scope="module")
def bl():
    yield load("bench_lessons")
    for name in ("bench_lessons", "bench_browser", "interleave", "browser_harness"):
        sys.modules.pop(name, None)


def test_walk_goes_one_way_and_turns_only_at_an_end(bl):
    assert bl.next_key(0.0, -3.0, 3.0, -1) == ("ArrowLeft", -1, False)
    assert bl.next_key(0.0, -3.0, 3.0, 1) == ("ArrowRight", 1, False)
    assert bl.next_key(3.0, -3.0, 3.0, 1) == ("ArrowLeft", -1, True)
    assert bl.next_key(1.0, 1.0, 6.0, -1) == ("ArrowRight", 1, True)  # a dashboard's floor


def test_walk_rejects_a_slider_that_cannot_move_and_a_bad_direction(bl):
    with pytest.raises(ValueError, match=r"no room to move: min 2\.0, max 2\.0"):
        bl.next_key(2.0, 2.0, 2.0, 1)
    with pytest.raises(ValueError, match="direction must be -1 or 1; got 0"):
        bl.next_key(0.0, -1.0, 1.0, 0)


def test_first_direction_is_towards_the_farther_end(bl):
    assert bl.first_direction(0.0, -3.0, 3.0) == 1
    assert bl.first_direction(2.0, -3.0, 3.0) == -1
    assert bl.first_direction(-3.0, -3.0, 3.0) == 1


def test_summarise_leaves_repeats_out_and_subtracts_the_echo_floor(bl):
    steps = [{"ms": 50.0, "repeat": False, "compute_ms": 9.0, "size": 200, "checked": True},
             {"ms": 70.0, "repeat": False, "compute_ms": 11.0, "size": 200, "checked": False},
             {"ms": 10.0, "repeat": True, "compute_ms": 1.0, "size": 200, "checked": True}]
    row = bl.summarise(steps, echo=[20.0, 30.0, 40.0])
    assert row["n"] == 2 and row["repeats"] == 1
    assert row["p50_ms"] == 60.0 and row["kernel_compute_p50_ms"] == 10.0
    assert row["echo_p50_ms"] == 30.0 and row["over_echo_ms"] == 30.0
    assert row["sizes"] == [200]
    assert row["pictures_checked"] == 1 and row["pictures_mismatched"] == 1


def test_summarise_without_samples_has_no_latency(bl):
    row = bl.summarise([], echo=[])
    assert row == {"n": 0, "repeats": 0}
