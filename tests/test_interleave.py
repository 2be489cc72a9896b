"""The pure parts of ``benchmarks/interleave.py``: quantiles, rotation, pairing, summaries."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load(name: str):
    """Import ``benchmarks/<name>.py`` with ``benchmarks/`` on the path (its sibling imports)."""
    path = ROOT / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    saved = list(sys.path)
    sys.path.insert(0, str(path.parent))
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
    return module


@pytest.fixture(scope="module")
def il():
    yield load("interleave")
    sys.modules.pop("interleave", None)


def test_percentile_interpolates_between_order_statistics(il):
    assert il.percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert il.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert il.percentile([10.0, 20.0], 0.95) == pytest.approx(19.5)
    assert il.percentile([5.0], 0.95) == 5.0
    assert il.percentile([1.0, 9.0], 0.0) == 1.0 and il.percentile([1.0, 9.0], 1.0) == 9.0


def test_percentile_rejects_bad_input(il):
    with pytest.raises(ValueError, match="no values"):
        il.percentile([], 0.5)
    with pytest.raises(ValueError, match=r"q must be in \[0, 1\]; got 1.5"):
        il.percentile([1.0], 1.5)


def test_rotation_changes_who_goes_first_every_turn(il):
    names = ["a", "b", "c"]
    assert [il.rotation(names, t)[0] for t in range(4)] == ["a", "b", "c", "a"]
    assert il.rotation(names, 1) == ["b", "c", "a"]
    assert il.rotation([], 3) == []


def test_paired_ratios_pair_rounds_and_check_lengths(il):
    assert il.paired_ratios([2.0, 3.0], [1.0, 6.0]) == [2.0, 0.5]
    with pytest.raises(ValueError, match="rounds differ: 1 against 2"):
        il.paired_ratios([1.0], [1.0, 2.0])


def test_spread_is_quartiles_and_median(il):
    assert il.spread([1.0, 2.0, 3.0, 4.0, 5.0]) == (2.0, 3.0, 4.0)


def test_redraw_summary_pools_moves_and_counts_missed_redraws(il):
    chunks = [{"ms": [1.0, 3.0], "cpu_ms": [1.0, 2.0], "redraws": 2},
              {"ms": [5.0, 7.0], "cpu_ms": [3.0, 4.0], "redraws": 1}]
    s = il.redraw_summary(chunks)
    assert s["p50_ms"] == 4.0 and s["cpu_p50_ms"] == 2.5 and s["moves"] == 4
    assert s["round_p50_ms"] == [2.0, 6.0]
    assert s["missed_redraws"] == 1


def test_train_summary_is_steps_over_total_time(il):
    chunks = [{"seconds": 1.0, "cpu_s": 0.5, "loss": 2.0},
              {"seconds": 3.0, "cpu_s": 1.5, "loss": 1.0}]
    s = il.train_summary(chunks, steps=10)
    assert s["steps_per_s"] == 5.0 and s["cpu_steps_per_s"] == 10.0
    assert s["round_steps_per_s"] == [10.0, pytest.approx(10 / 3)]
    assert s["losses"] == [2.0, 1.0]


def test_split_rounds_is_as_even_as_possible(il):
    assert il.split_rounds(10, 4) == [3, 3, 2, 2]
    assert il.split_rounds(8, 2) == [4, 4]
    assert il.split_rounds(2, 5) == [1, 1]  # never an empty block
    with pytest.raises(ValueError, match="rounds and parts must be ≥ 1; got 0 and 2"):
        il.split_rounds(0, 2)
