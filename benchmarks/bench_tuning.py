#!/usr/bin/env python
"""Allocator and thread tuning, A/B in one run: is each worth offering as an opt-in?

Four workers (``kernel_worker.py``), each its own process on this tree, one variant each:
{torch's default intra-op threads, 1 thread} × {glibc malloc's defaults, malloc tuned
(``M_MMAP_THRESHOLD`` 32 MiB, ``M_TRIM_THRESHOLD`` 64 MiB, set with ``ctypes`` before anything
allocates)}. Every worker runs with ``NFWIDGETS_KEEP_MALLOC=1`` and sets the widgets'
``compute_threads`` (where it exists) to the variant's choice, so the widgets tune nothing by
themselves. They time the kernel-side redraw of ``FlowBuilder(preset="mixed_8",
resolution=200, redraw_delay=0)``, editing layer 1 and layer 8, in two ways each round:

- isolated moves, ``--gap`` seconds apart (0.2 by default), as a learner's key presses come
  (the thread pool and the heap go cold in between);
- back to back, as a drag (after ``redraw_delay`` the explorers gather those anyway).

Rounds are interleaved (the starting variant rotates) and split over ``--processes``
successive sets of workers (round 0 of each set warms up), so that one process's own speed
averages out. Each variant's p50 is
compared with the untuned variant's (default threads, default malloc) as the ratio of p50s
pooled over all moves and as the IQR of per-round ratios. Writes
``benchmarks/results/tuning.json``.

    python benchmarks/bench_tuning.py [--rounds 8] [--moves 6] [--gap 0.2]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

from interleave import (  # this folder
    WorkerProcess,
    load_line,
    paired_ratios,
    redraw_summary,
    rotation,
    split_rounds,
    spread,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: variant name → (threads, malloc) arguments of kernel_worker.py
VARIANTS = {
    "default threads, default malloc": ("default", "default"),
    "1 thread, default malloc": ("1", "default"),
    "default threads, malloc tuned": ("default", "tuned"),
    "1 thread, malloc tuned": ("1", "tuned"),
}
BASE = "default threads, default malloc"
SUBJECTS = {"builder_l1": "edit layer 1", "builder_l8": "edit layer 8"}
MODES = ("isolated", "back to back")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--moves", type=int, default=6, help="moves per chunk (each mode)")
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between isolated moves")
    parser.add_argument("--processes", type=int, default=2,
                        help="successive sets of workers the rounds are split over")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "tuning.json")
    args = parser.parse_args(argv)
    if min(args.rounds, args.moves, args.processes) < 1 or args.gap < 0:
        parser.error("--rounds, --moves and --processes must be ≥ 1, --gap ≥ 0")
    t0 = time.perf_counter()
    chunks: dict[tuple[str, str, str], list[dict]] = {}
    hello: list[dict] = []
    processes = min(args.processes, args.rounds)
    sizes = split_rounds(args.rounds, processes)
    turn = 0
    for block, block_rounds in enumerate(sizes):  # a fresh set of workers for each block
        workers: dict[str, WorkerProcess] = {}
        try:
            for name in rotation(list(VARIANTS), block):
                threads, malloc = VARIANTS[name]
                workers[name] = WorkerProcess(name, ROOT, ["--threads", threads,
                                                           "--malloc", malloc],
                                              env={"NFWIDGETS_KEEP_MALLOC": "1"})
            for r in range(block_rounds + 1):  # round 0 of each block warms up
                for subject in SUBJECTS:
                    for mode in MODES:
                        gap = args.gap if mode == "isolated" else 0.0
                        for name in rotation(list(VARIANTS), turn):
                            out = workers[name].ask(task="redraw", subject=subject,
                                                    moves=args.moves, gap=gap)
                            if r:
                                chunks.setdefault((name, subject, mode), []).append(out)
                        turn += 1
                print(f"workers {block + 1}/{processes}, round {r}/{block_rounds} "
                      f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
            hello.append({name: w.hello for name, w in workers.items()})
        finally:
            for w in workers.values():
                w.close()

    rows = []
    print(f"\nFlowBuilder mixed_8 200² redraw, kernel side, {args.rounds} interleaved rounds × "
          f"{args.moves} moves; isolated = {args.gap} s apart")
    head = (f"{'variant':34s} {'subject':13s} {'mode':13s} {'p50 ms':>7s} {'p95 ms':>7s} "
            f"{'cpu p50':>7s} {'×untuned':>9s} {'round ratios IQR':>17s} {'threads':>7s}")
    print(head)
    print("-" * len(head))
    for subject, label in SUBJECTS.items():
        for mode in MODES:
            base = redraw_summary(chunks[BASE, subject, mode])
            for name in VARIANTS:
                s = redraw_summary(chunks[name, subject, mode])
                ratio = s["p50_ms"] / base["p50_ms"]
                q1, _med, q3 = spread(paired_ratios(s["round_p50_ms"], base["round_p50_ms"]))
                threads = sorted({c["threads"] for c in chunks[name, subject, mode]})
                print(f"{name:34s} {label:13s} {mode:13s} {s['p50_ms']:7.2f} {s['p95_ms']:7.2f} "
                      f"{s['cpu_p50_ms']:7.2f} {ratio:8.3f}× {q1:8.3f}…{q3:.3f}× "
                      f"{','.join(map(str, threads)):>7s}")
                rows.append({"variant": name, "subject": subject, "mode": mode, **s,
                             "ratio_vs_untuned": ratio, "round_ratio_iqr": [q1, q3],
                             "torch_threads": threads})
    missed = sum(r["missed_redraws"] for r in rows)
    if missed:
        print(f"warning: {missed} moves drew nothing")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "rounds": args.rounds, "moves": args.moves, "gap_s": args.gap,
        "processes": processes,
        "load_average_at_end": os.getloadavg(),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "workers": hello, "wall_s": round(time.perf_counter() - t0, 1), "rows": rows},
        indent=1))
    print(load_line())
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
