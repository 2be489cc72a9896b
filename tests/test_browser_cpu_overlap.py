"""The pure parts of ``benchmarks/browser_cpu_overlap.py``: tasks, windows and trace parsing."""

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
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
    yield module
    sys.modules.pop(spec.name, None)


def test_outermost_keeps_each_piece_of_work_once(overlap):
    T = overlap.Task
    tasks = [T(5.0, 6.0, 0.5), T(0.0, 4.0, 3.0), T(1.0, 2.0, 1.0), T(0.0, 3.0, 2.0),
             T(8.0, 9.0, 1.0)]
    assert overlap.outermost(tasks) == [T(0.0, 4.0, 3.0), T(5.0, 6.0, 0.5), T(8.0, 9.0, 1.0)]
    assert overlap.outermost([]) == []
    # back to back is two tasks, not one inside the other
    assert overlap.outermost([T(2.0, 3.0, 1.0), T(1.0, 2.0, 1.0)]) == [T(1.0, 2.0, 1.0),
                                                                        T(2.0, 3.0, 1.0)]


def test_busy_in_windows_clips_wall_and_cpu_to_each_window(overlap):
    T = overlap.Task
    tasks = [T(0.0, 4.0, 2.0), T(5.0, 6.0, 1.0), T(8.0, 10.0, 0.5)]
    per = overlap.busy_in_windows(tasks, [(3.0, 9.0), (11.0, 12.0), (-1.0, 20.0)])
    assert per[0] == pytest.approx((1.0 + 1.0 + 1.0, 0.5 + 1.0 + 0.25))  # CPU in proportion
    assert per[1] == (0.0, 0.0)
    assert per[2] == pytest.approx((7.0, 3.5))
    # without a thread clock the CPU is unknown, not zero
    assert overlap.busy_in_windows([T(0.0, 1.0, None)], [(0.0, 2.0)]) == [(1.0, None)]


def test_key_leads(overlap):
    keys = [10.0, 500.0]
    assert overlap.key_leads(keys, [(17.0, 30.0), (507.5, 520.0), (5.0, 8.0)]) == [
        pytest.approx(7.0), pytest.approx(7.5), None]


def test_thread_tasks_and_keydowns_from_a_trace(overlap):
    events = [
        {"ph": "M", "name": "process_name", "pid": 1, "args": {"name": "Renderer"}},
        {"ph": "M", "name": "thread_name", "pid": 1, "tid": 7, "args": {"name": "CrRendererMain"}},
        {"ph": "M", "name": "thread_name", "pid": 2, "tid": 3, "args": {"name": "Worker"}},
        # a task and the same work's nested task event: counted once
        {"ph": "X", "name": "RunTask", "pid": 1, "tid": 7, "ts": 1000, "dur": 3000,
         "tdur": 2500},
        {"ph": "X", "name": "ThreadControllerImpl::RunTask", "pid": 1, "tid": 7, "ts": 1100,
         "dur": 2000, "tdur": 1900},
        # not a task: ignored even outside any task
        {"ph": "X", "name": "Layout", "pid": 1, "tid": 7, "ts": 6000, "dur": 500},
        # a thread-pool task of a process without a name, no thread clock
        {"ph": "X", "name": "ThreadPool_RunTask", "pid": 2, "tid": 3, "ts": 2000, "dur": 1000},
        {"ph": "X", "name": "EventDispatch", "pid": 1, "tid": 7, "ts": 950, "dur": 50,
         "args": {"data": {"type": "keydown"}}},
        {"ph": "X", "name": "EventDispatch", "pid": 1, "tid": 7, "ts": 900, "dur": 50,
         "args": {"data": {"type": "click"}}},
    ]
    labels, tasks = overlap.thread_tasks(events)
    T = overlap.Task
    assert labels == {(1, 7): "Renderer / CrRendererMain", (2, 3): "2 / Worker"}
    assert tasks == {(1, 7): [T(1.0, 4.0, 2.5)], (2, 3): [T(2.0, 3.0, None)]}  # ms
    assert overlap.keydowns(events) == [0.95]
