#!/usr/bin/env python
"""What else runs on the machine while the kernel computes a frame (a diagnostic, not a benchmark).

``bench_browser.py`` reads the kernel's compute time off the frame counter: 16.5–19 ms for the
8-layer ``FlowBuilder`` at 200² in JupyterLab, against ~6–9 ms for the same compute with no
browser running. This script says where the difference goes. It opens one notebook (the
benchmark's ``FlowBuilder`` cell, or ``--subject planar``) in JupyterLab and headless Chromium,
wraps the widget's ``view.compute`` so that the kernel logs every compute's start and end
(``time.monotonic``) and its thread CPU time, moves the slider ``--moves`` times as the benchmark
does (one key press, 0.4 s apart), and records a Chromium trace meanwhile. Then it prints, over
the compute windows (p50 of the moves):

- the compute's wall time and the kernel thread's CPU time in it (wall − CPU: time the kernel
  was ready to run but had no core);
- for every browser thread, the milliseconds it was running a task inside those windows
  (nested trace events merged, so nothing is counted twice).

Chromium's trace clock and Python's ``time.monotonic`` both read ``CLOCK_MONOTONIC`` on Linux,
so the two line up; the script checks it (the key press must come before every compute, by a
few ms) and says so if not. Tracing costs the browser some work of its own (the slider → pixels
p50 printed at the end is a few ms above the benchmark's).

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
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tools"))
sys.path.insert(0, str(HERE))

import bench_browser as bb  # noqa: E402
import browser_harness as bh  # noqa: E402

__all__ = ["busy_in_windows", "main", "merge_intervals"]

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

#: A task of a thread's message loop: every piece of work a Chromium thread does is inside one.
TASK_EVENTS = ("ThreadControllerImpl::RunTask", "RunTask", "ThreadPool_RunTask")


def merge_intervals(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Union of closed intervals, sorted and disjoint (nested trace events counted once)."""
    out: list[list[float]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(a, b) for a, b in out]


def busy_in_windows(busy: list[tuple[float, float]], windows: list[tuple[float, float]]
                    ) -> list[float]:
    """For each window, the total length of ``busy`` (disjoint intervals) inside it."""
    return [sum(max(0.0, min(w1, b1) - max(w0, b0)) for b0, b1 in busy)
            for w0, w1 in windows]


def _threads(events: list[dict]) -> tuple[dict, dict[tuple[int, int], list]]:
    names = {}
    process = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[e["pid"], e["tid"]] = e["args"]["name"]
        elif e.get("ph") == "M" and e.get("name") == "process_name":
            process[e["pid"]] = e["args"]["name"]
    tasks: dict[tuple[int, int], list] = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and e.get("name") in TASK_EVENTS and "dur" in e:
            tasks[e["pid"], e["tid"]].append((e["ts"] / 1e3, (e["ts"] + e["dur"]) / 1e3))
    labels = {key: f"{process.get(key[0], key[0])} / {names.get(key, key[1])}" for key in tasks}
    return labels, {key: merge_intervals(iv) for key, iv in tasks.items()}


def _keydowns(events: list[dict]) -> list[float]:
    return sorted(e["ts"] / 1e3 for e in events if e.get("ph") == "X"
                  and e.get("name") == "EventDispatch"
                  and e.get("args", {}).get("data", {}).get("type") == "keydown")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=30, help="traced slider moves (default 30)")
    parser.add_argument("--size", type=int, default=200, help="grid size (default 200)")
    parser.add_argument("--subject", choices=sorted(SUBJECTS), default="builder")
    args = parser.parse_args()
    if args.moves < 5:
        parser.error(f"--moves must be at least 5; got {args.moves}")
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

            def move(i: int) -> dict | None:
                page.evaluate(bb.SCROLL_JS, root)
                page.wait_for_timeout(bb.GAP_MS)
                return page.evaluate(bb.MEASURE_JS, [root, handle, target, kind,
                                                     "ArrowRight" if i % 2 == 0 else "ArrowLeft",
                                                     20_000])

            for i in range(5):  # warm-up, not traced
                move(i)
            skip = len(log.read_text().splitlines()) if log.exists() else 0
            cdp = context.new_cdp_session(page)
            events: list[dict] = []
            done = threading.Event()
            cdp.on("Tracing.dataCollected", lambda p: events.extend(p["value"]))
            cdp.on("Tracing.tracingComplete", lambda _p: done.set())
            cdp.send("Tracing.start", {
                "traceConfig": {"includedCategories": ["toplevel", "devtools.timeline"]},
                "transferMode": "ReportEvents"})
            latencies = [r["ms"] for i in range(args.moves) if (r := move(i)) is not None]
            cdp.send("Tracing.end")
            while not done.wait(0.05):  # the trace arrives while Playwright runs
                page.evaluate("() => 0")
            cdp.detach()
        computes = [json.loads(line) for line in log.read_text().splitlines()[skip:]]
    windows = [(a * 1e3, b * 1e3) for a, b, _cpu in computes]
    if not windows:
        raise SystemExit("the kernel logged no compute: nothing to report")
    labels, busy = _threads(events)
    keys = _keydowns(events)
    leads = [w0 - max((k for k in keys if k <= w0), default=float("nan")) for w0, _ in windows]
    lead = statistics.median(leads)
    wall = statistics.median(b - a for a, b in windows)
    cpu = statistics.median(c for *_ab, c in computes)
    print(f"{name}, {args.size}², {len(windows)} traced computes "
          f"(slider → pixels p50 while tracing: {statistics.median(latencies):.1f} ms)")
    if not 0.0 < lead < 50.0:
        print(f"WARNING: key press → compute start p50 = {lead:.1f} ms: the trace and kernel "
              "clocks do not line up; the table below is not to be trusted")
    else:
        print(f"key press → kernel starts computing: p50 {lead:.1f} ms")
    print(f"compute: wall p50 {wall:.1f} ms, kernel thread CPU p50 {cpu:.1f} ms "
          f"(waiting for a core: ~{wall - cpu:.1f} ms)")
    print("\nbrowser threads running a task inside the compute windows "
          "(ms per compute, p50 / mean)")
    rows = []
    for key, intervals in busy.items():
        per = busy_in_windows(intervals, windows)
        if max(per) > 0:
            rows.append((statistics.mean(per), statistics.median(per), labels[key]))
    for mean, median, label in sorted(rows, reverse=True)[:12]:
        print(f"  {label:55s} {median:6.2f} / {mean:6.2f}")
    total = sum(mean for mean, _m, _l in rows)
    print(f"  {'all browser threads (mean)':55s} {'':6s}   {total:6.2f}")
    print(f"\nCPU demand in a compute window: kernel {cpu:.1f} + browser {total:.1f} ms "
          f"= {cpu + total:.1f} ms over {wall:.1f} ms of wall time on "
          f"{len(os.sched_getaffinity(0))} cores")


if __name__ == "__main__":
    main()
