#!/usr/bin/env python
"""What else runs on the machine while the kernel computes a frame (a diagnostic, not a benchmark).

``bench_browser.py`` reads the kernel's compute time off the frame counter; in JupyterLab it is
about twice what the same compute takes with no browser running. This script shows what else
runs meanwhile. It opens one notebook (the benchmark's ``FlowBuilder`` cell, or
``--subject planar``) in JupyterLab and headless Chromium, wraps the widget's ``view.compute``
so that the kernel logs every compute's start and end (``time.monotonic``) and its thread CPU
time, moves the slider ``--moves`` times as the benchmark does (one key press, 0.4 s apart,
always the same way), and records a Chromium trace meanwhile. Then it prints, over the compute
windows (means over the moves):

- the compute's wall time and the kernel thread's CPU time in it (wall − CPU: time the kernel
  waited, for a core or for the GIL);
- for every browser thread, the milliseconds it was running a task inside those windows, as
  wall time and as the thread's CPU time (Chromium's thread clock, ``tdur``); nested task
  events are counted once.

Chromium's trace clock and Python's ``time.monotonic`` both read ``CLOCK_MONOTONIC`` on Linux,
so the two line up; the script checks it (every compute must start 0–50 ms after a key
press) and warns if not. Tracing costs the browser some work of its own (the slider → pixels
p50 it prints is a few ms above the benchmark's).

    python benchmarks/browser_cpu_overlap.py [--moves 30] [--size 200] [--subject builder]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tools"))
sys.path.insert(0, str(HERE))

import bench_browser as bb  # noqa: E402
import browser_harness as bh  # noqa: E402

__all__ = ["Task", "busy_in_windows", "key_leads", "keydowns", "main", "outermost",
           "thread_tasks"]

#: Subject → (index of its cell in ``bench_browser.PER_SIZE``, variable prefix, benchmark name).
SUBJECTS = {"builder": (1, "builder", "FlowBuilder mixed_8 (edit layer 5)"),
            "planar": (0, "planar", "PlanarExplorer")}

#: Appended to the widget's notebook: log each compute's (start, end, thread CPU ms).
LOG_CELL = '''\
import json as _json
import time as _time

_log = open({log!r}, "a")
_compute = {var}.view.compute


def _logged_compute(*args, **kwargs):
    start, cpu = _time.monotonic(), _time.thread_time()
    frame = _compute(*args, **kwargs)
    _log.write(_json.dumps([start, _time.monotonic(), (_time.thread_time() - cpu) * 1e3]) + "\\n")
    _log.flush()
    return frame


{var}.view.compute = _logged_compute'''

#: Slider moves before the trace starts.
WARM_UP = 5

#: A task of a thread's message loop: every piece of work a Chromium thread does is inside one.
TASK_EVENTS = ("ThreadControllerImpl::RunTask", "RunTask", "ThreadPool_RunTask")


@dataclass(frozen=True)
class Task:
    """One outermost task of a browser thread: start and end (ms, trace clock) and the thread's
    CPU time in it (ms; ``None`` when the trace has no thread clock, ``tdur``)."""

    start: float
    end: float
    cpu: float | None


def outermost(tasks: list[Task]) -> list[Task]:
    """The tasks not inside another one (a ``RunTask`` holds a ``ThreadControllerImpl::RunTask``
    of the same work): each piece of work counted once."""
    out: list[Task] = []
    for task in sorted(tasks, key=lambda t: (t.start, -t.end)):
        if out and task.start < out[-1].end:
            continue  # nested in (or, never seen, overlapping) the previous outermost task
        out.append(task)
    return out


def busy_in_windows(tasks: list[Task], windows: list[tuple[float, float]]
                    ) -> list[tuple[float, float | None]]:
    """For each window, (wall ms, CPU ms) of ``tasks`` (disjoint) inside it. A task cut by the
    window contributes its CPU time in proportion to the part inside; CPU is ``None`` when a
    task inside has no thread clock."""
    out = []
    for w0, w1 in windows:
        wall, cpu = 0.0, 0.0
        for task in tasks:
            inside = min(w1, task.end) - max(w0, task.start)
            if inside <= 0:
                continue
            wall += inside
            if cpu is not None and task.cpu is not None:
                span = task.end - task.start
                cpu += task.cpu * (inside / span if span > 0 else 1.0)
            else:
                cpu = None
        out.append((wall, cpu))
    return out


def thread_tasks(events: list[dict]) -> tuple[dict[tuple[int, int], str],
                                              dict[tuple[int, int], list[Task]]]:
    """From Chromium trace events (``ts``, ``dur``, ``tdur`` in µs): a label per thread
    ("process / thread") and its outermost tasks in ms."""
    names: dict[tuple[int, int], str] = {}
    process: dict[int, str] = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[e["pid"], e["tid"]] = e["args"]["name"]
        elif e.get("ph") == "M" and e.get("name") == "process_name":
            process[e["pid"]] = e["args"]["name"]
    tasks: dict[tuple[int, int], list[Task]] = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and e.get("name") in TASK_EVENTS and "dur" in e:
            cpu = e["tdur"] / 1e3 if "tdur" in e else None
            tasks[e["pid"], e["tid"]].append(Task(e["ts"] / 1e3, (e["ts"] + e["dur"]) / 1e3, cpu))
    labels = {key: f"{process.get(key[0], key[0])} / {names.get(key, key[1])}" for key in tasks}
    return labels, {key: outermost(found) for key, found in tasks.items()}


def keydowns(events: list[dict]) -> list[float]:
    """Times (ms, trace clock) of the key presses the benchmark dispatches, sorted."""
    return sorted(e["ts"] / 1e3 for e in events if e.get("ph") == "X"
                  and e.get("name") == "EventDispatch"
                  and e.get("args", {}).get("data", {}).get("type") == "keydown")


def key_leads(keys: list[float], windows: list[tuple[float, float]]) -> list[float | None]:
    """For each compute window, ms from the last key press before it to its start (``None``
    when no key press came before it: the clocks do not line up)."""
    return [w0 - max(earlier) if (earlier := [k for k in keys if k <= w0]) else None
            for w0, _w1 in windows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=30, help="traced slider moves (default 30)")
    parser.add_argument("--size", type=int, default=200, help="grid size (default 200)")
    parser.add_argument("--subject", choices=sorted(SUBJECTS), default="builder")
    args = parser.parse_args()
    if not 5 <= args.moves <= bb.MAX_CHANGES - WARM_UP:
        parser.error(f"--moves must be in [5, {bb.MAX_CHANGES - WARM_UP}] (the slider walks one "
                     f"way, {bb.MAX_CHANGES} steps, {WARM_UP} of them a warm-up); got {args.moves}")
    index, var, name = SUBJECTS[args.subject]
    handle, target, kind = bb.SUBJECTS[name][1:]
    root = f".bench-{var}-{args.size}"
    with tempfile.TemporaryDirectory(prefix="nfw-overlap-") as tmp:
        log = Path(tmp) / "compute.jsonl"
        cells = [bb.SETUP, bb.PER_SIZE[index].format(n=args.size),
                 LOG_CELL.format(log=str(log), var=f"{var}_{args.size}")]
        bh.write_notebook(Path(tmp) / "overlap.ipynb", cells)
        with (bh.lab_server(tmp, windowing="contentVisibility") as server,
              bh.chromium(viewport=(1400, 1000)) as context):
            page = bh.open_notebook(context, server, "overlap.ipynb")
            bh.run_all(page, timeout_ms=300_000)
            errors = bh.error_outputs(page)
            if errors:
                raise SystemExit("the notebook failed:\n" + "\n".join(errors))
            bh.wait_widgets_rendered(page, timeout_ms=120_000)

            def move() -> dict | None:
                page.evaluate(bb.SCROLL_JS, root)
                page.wait_for_timeout(bb.GAP_MS)
                return page.evaluate(bb.MEASURE_JS, [root, handle, target, kind, bb.WALK_KEY,
                                                     20_000])

            for _ in range(WARM_UP):  # not traced
                move()
            skip = len(log.read_text().splitlines()) if log.exists() else 0
            cdp = context.new_cdp_session(page)
            events: list[dict] = []
            done = threading.Event()
            cdp.on("Tracing.dataCollected", lambda p: events.extend(p["value"]))
            cdp.on("Tracing.tracingComplete", lambda _p: done.set())
            cdp.send("Tracing.start", {
                "traceConfig": {"includedCategories": ["toplevel", "devtools.timeline"]},
                "transferMode": "ReportEvents"})
            latencies = [r["ms"] for _ in range(args.moves) if (r := move()) is not None]
            cdp.send("Tracing.end")
            while not done.wait(0.05):  # the trace arrives while Playwright runs
                page.evaluate("() => 0")
            cdp.detach()
        computes = [json.loads(line) for line in log.read_text().splitlines()[skip:]]
    windows = [(a * 1e3, b * 1e3) for a, b, _cpu in computes]
    if not windows:
        raise SystemExit("the kernel logged no compute: nothing to report")
    labels, tasks = thread_tasks(events)
    if not tasks:
        raise SystemExit("the trace holds no task events (RunTask): this Chromium's trace "
                         "format is not the one this script reads")
    leads = key_leads(keydowns(events), windows)
    wall = statistics.mean(b - a for a, b in windows)
    cpu = statistics.mean(c for *_ab, c in computes)
    print(f"{name}, {args.size}², {len(windows)} traced computes "
          f"(slider → pixels p50 while tracing: {statistics.median(latencies):.1f} ms)")
    found = [x for x in leads if x is not None]
    if len(found) < len(leads) or not all(0.0 < x < 50.0 for x in found):
        print(f"WARNING: {len(leads) - len(found)} computes have no key press before them and "
              f"{sum(not 0.0 < x < 50.0 for x in found)} start ≥ 50 ms after one: the trace "
              "and kernel clocks may not line up; do not trust the table below")
    else:
        print(f"key press → kernel starts computing: mean {statistics.mean(found):.1f} ms "
              f"(every compute 0–50 ms after a key press)")
    print(f"compute: wall {wall:.1f} ms, kernel thread CPU {cpu:.1f} ms (means): "
          f"{wall - cpu:.1f} ms without the CPU (waiting for a core, or for the GIL)")
    print("\nbrowser threads inside the compute windows, ms per compute (means): "
          "wall time in tasks / CPU time")
    rows = []
    for key, found_tasks in tasks.items():
        per = busy_in_windows(found_tasks, windows)
        if max(w for w, _c in per) > 0:
            cpus = [c for _w, c in per]
            mean_cpu = None if None in cpus else statistics.mean(cpus)
            rows.append((statistics.mean(w for w, _c in per), mean_cpu, labels[key]))
    rows.sort(key=lambda row: row[0], reverse=True)
    for busy_wall, busy_cpu, label in rows[:12]:
        shown = "   n/a" if busy_cpu is None else f"{busy_cpu:6.2f}"
        print(f"  {label:55s} {busy_wall:6.2f} / {shown}")
    total_wall = sum(row[0] for row in rows)
    total_cpu = (None if any(row[1] is None for row in rows)
                 else sum(row[1] for row in rows))
    shown = "   n/a" if total_cpu is None else f"{total_cpu:6.2f}"
    print(f"  {'all browser threads':55s} {total_wall:6.2f} / {shown}")
    if total_cpu is not None:
        print(f"\nCPU used in a compute window (means): kernel thread {cpu:.1f} + Chromium "
              f"{total_cpu:.1f} = {cpu + total_cpu:.1f} ms in {wall:.1f} ms of wall time, on "
              f"{len(os.sched_getaffinity(0))} cores (the Jupyter server is not traced)")

if __name__ == "__main__":
    main()
