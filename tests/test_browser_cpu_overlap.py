"""The pure parts of ``benchmarks/browser_cpu_overlap.py``: intervals and trace parsing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def overlap():
    path = ROOT / "benchmarks" / "browser_cpu_overlap.py"
    spec = importlib.util.spec_from_file_location("browser_cpu_overlap", path)
    module = importlib.util.module_from_spec(spec)
    saved = list(sys.path)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
    return module


def test_merge_intervals_counts_nested_and_overlapping_once(overlap):
    merged = overlap.merge_intervals([(5.0, 6.0), (0.0, 4.0), (1.0, 2.0), (3.0, 4.5), (8.0, 9.0)])
    assert merged == [(0.0, 4.5), (5.0, 6.0), (8.0, 9.0)]
    assert overlap.merge_intervals([]) == []
    assert overlap.merge_intervals([(1.0, 2.0), (2.0, 3.0)]) == [(1.0, 3.0)]  # touching


def test_busy_in_windows_clips_to_each_window(overlap):
    busy = [(0.0, 4.5), (5.0, 6.0), (8.0, 9.0)]
    per = overlap.busy_in_windows(busy, [(4.0, 8.5), (10.0, 12.0), (-1.0, 20.0)])
    assert per == pytest.approx([0.5 + 1.0 + 0.5, 0.0, 4.5 + 1.0 + 1.0])


def test_threads_and_keydowns_from_a_trace(overlap):
    events = [
        {"ph": "M", "name": "process_name", "pid": 1, "args": {"name": "Renderer"}},
        {"ph": "M", "name": "thread_name", "pid": 1, "tid": 7, "args": {"name": "CrRendererMain"}},
        # a task and the same task's nested event: counted once
        {"ph": "X", "name": "RunTask", "pid": 1, "tid": 7, "ts": 1000, "dur": 3000},
        {"ph": "X", "name": "ThreadControllerImpl::RunTask", "pid": 1, "tid": 7, "ts": 1100,
         "dur": 2000},
        {"ph": "X", "name": "Layout", "pid": 1, "tid": 7, "ts": 1200, "dur": 500},  # not a task
        {"ph": "X", "name": "EventDispatch", "pid": 1, "tid": 7, "ts": 900, "dur": 50,
         "args": {"data": {"type": "keydown"}}},
        {"ph": "X", "name": "EventDispatch", "pid": 1, "tid": 7, "ts": 950, "dur": 50,
         "args": {"data": {"type": "click"}}},
    ]
    labels, busy = overlap._threads(events)
    assert labels == {(1, 7): "Renderer / CrRendererMain"}
    assert busy == {(1, 7): [(1.0, 4.0)]}  # milliseconds
    assert overlap._keydowns(events) == [0.9]
