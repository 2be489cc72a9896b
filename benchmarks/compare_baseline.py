#!/usr/bin/env python
"""No performance regression: this tree against a baseline commit, interleaved in one run.

Makes a git worktree of ``--baseline REF`` in a temporary folder, starts two workers
(``kernel_worker.py``), one importing nfwidgets from this tree ("new"), one from the baseline,
and gives them the same chunks of work in turn, alternating who goes first (A B, B A, …;
round 0 warms up):

- kernel-side redraw, one slider move → every changed mark updated and its message serialised
  (``bench_widgets.py``'s method): ``FlowBuilder(preset="mixed_8", resolution=200,
  redraw_delay=0)`` editing layer 1 (one layer recomputed) and layer 8 (all eight), and
  ``PlanarExplorer`` at 200²;
- training steps/s through ``nfwidgets.train``: maximum likelihood, 8 affine couplings on two
  moons; reverse KL, 16 planar layers on U1.

Both workers run torch on one thread (as ``bench_widgets.py`` and ``bench_training.py`` do)
and keep each tree's widgets as shipped otherwise (a tree whose widgets tune the allocator
still does). The ratio new / baseline is given pooled (p50 of all moves, total steps/s) and as
the median and interquartile range of the per-round ratios (with the same code on both sides
the IQR is the noise floor), and in CPU time (the worker's thread for a redraw, its process for
training), which other load on a shared machine disturbs least. Chunks are short (4 moves,
20–30 steps) so that both trees see the same load, and the rounds are split over
``--processes`` successive pairs of workers, so that one process's own speed (its memory
layout, its core) averages out too. Targets (printed, not asserted): redraw p50
≤ 1.15× the baseline, steps/s ≥ 0.95×. Writes ``benchmarks/results/baseline.json``.

    python benchmarks/compare_baseline.py --baseline 21433d0 [--rounds 40] [--moves 4]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
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
    train_summary,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REDRAWS = {"builder_l1": "FlowBuilder mixed_8 200², edit layer 1",
           "builder_l8": "FlowBuilder mixed_8 200², edit layer 8",
           "planar": "PlanarExplorer 200²"}
TRAINING = {"ml": "ML two moons, 8 affine couplings", "rkl": "reverse KL U1, 16 planar"}
REDRAW_TARGET, STEPS_TARGET = 1.15, 0.95


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def run(baseline: Path, rounds: int, moves: int, steps: dict[str, int], processes: int
        ) -> dict:
    """``rounds`` interleaved rounds, split over ``processes`` successive pairs of workers (a
    process's own speed, from its memory layout or its core, then averages out too)."""
    chunks: dict[tuple[str, str], list[dict]] = {}
    hello: list[dict] = []
    turn = 0
    t0 = time.perf_counter()
    sizes = split_rounds(rounds, processes)
    for block, block_rounds in enumerate(sizes):
        workers: dict[str, WorkerProcess] = {}
        try:
            for name in rotation(["new", "baseline"], block):  # who starts first alternates
                tree = ROOT if name == "new" else baseline
                workers[name] = WorkerProcess(name, tree, ["--threads", "1"])
            workers = {name: workers[name] for name in ("new", "baseline")}
            for r in range(block_rounds + 1):  # round 0 of each pair warms up
                for task in [*REDRAWS, *TRAINING]:
                    for name in rotation(list(workers), turn):
                        if task in REDRAWS:
                            out = workers[name].ask(task="redraw", subject=task, moves=moves,
                                                    gap=0)
                        else:
                            out = workers[name].ask(task="train", case=task, steps=steps[task])
                        if r:
                            chunks.setdefault((name, task), []).append(out)
                    turn += 1
                print(f"pair {block + 1}/{processes}, round {r}/{block_rounds} "
                      f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
            hello.append({name: w.hello for name, w in workers.items()})
        finally:
            for w in workers.values():
                w.close()
    return {"chunks": chunks, "hello": hello}


def summarise(chunks: dict, steps: dict[str, int]) -> list[dict]:
    rows = []
    for task, label in {**REDRAWS, **TRAINING}.items():
        new, base = chunks["new", task], chunks["baseline", task]
        if task in REDRAWS:
            s_new, s_base = redraw_summary(new), redraw_summary(base)
            pooled = s_new["p50_ms"] / s_base["p50_ms"]
            cpu = s_new["cpu_p50_ms"] / s_base["cpu_p50_ms"]
            per_round = paired_ratios(s_new["round_p50_ms"], s_base["round_p50_ms"])
            target = REDRAW_TARGET
            ok = pooled <= target, cpu <= target
        else:
            s_new, s_base = train_summary(new, steps[task]), train_summary(base, steps[task])
            pooled = s_new["steps_per_s"] / s_base["steps_per_s"]
            cpu = s_new["cpu_steps_per_s"] / s_base["cpu_steps_per_s"]
            per_round = paired_ratios(s_new["round_steps_per_s"], s_base["round_steps_per_s"])
            target = STEPS_TARGET
            ok = pooled >= target, cpu >= target
        q1, med, q3 = spread(per_round)
        row = {"task": task, "label": label, "new": s_new, "baseline": s_base,
               "ratio": pooled, "cpu_ratio": cpu, "round_ratio_median": med,
               "round_ratio_iqr": [q1, q3], "round_ratios": per_round, "target": target,
               "pass": ok[0], "cpu_pass": ok[1]}
        if task in TRAINING:
            row["same_losses"] = s_new["losses"] == s_base["losses"]
        rows.append(row)
    return rows


def print_table(rows: list[dict], rounds: int, moves: int, steps: dict[str, int]) -> None:
    print(f"\nthis tree (new) against the baseline, {rounds} interleaved rounds, torch 1 thread; "
          f"{moves} moves a round per redraw row, {steps['ml']} / {steps['rkl']} steps a round "
          "(ML / reverse KL)")
    head = (f"{'subject':40s} {'baseline':>12s} {'new':>11s} {'new/base':>9s} "
            f"{'round ratios IQR':>17s} {'CPU ratio':>9s} {'target':>6s} {'wall':>4s} {'CPU':>4s}")
    print(head)
    print("-" * len(head))
    for r in rows:
        if r["task"] in REDRAWS:
            a, b, unit = r["baseline"]["p50_ms"], r["new"]["p50_ms"], "ms"
            tgt = f"≤{r['target']:.2f}"
        else:
            a, b, unit = r["baseline"]["steps_per_s"], r["new"]["steps_per_s"], "st/s"
            tgt = f"≥{r['target']:.2f}"
        q1, q3 = r["round_ratio_iqr"]
        verdicts = ["PASS" if ok else "FAIL" for ok in (r["pass"], r["cpu_pass"])]
        print(f"{r['label']:40s} {a:7.1f} {unit:<4s}{b:7.1f} {unit:<4s}{r['ratio']:8.3f}× "
              f"{q1:8.3f}…{q3:.3f}× {r['cpu_ratio']:8.3f}× {tgt:>6s} {verdicts[0]:>4s} "
              f"{verdicts[1]:>4s}")
    print("(wall: p50 of every move / total steps per second; CPU: the same in this "
          "process's CPU time,\n which load from other processes on a shared machine disturbs "
          "least; IQR: of the per-round wall ratios)")
    for r in rows:
        if "same_losses" in r:
            print(f"{r['label']}: same losses in both trees: "
                  f"{'yes' if r['same_losses'] else 'no (the numerics changed)'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare against")
    parser.add_argument("--rounds", type=int, default=40, help="timed rounds (default 40)")
    parser.add_argument("--moves", type=int, default=4, help="slider moves per redraw chunk")
    parser.add_argument("--ml-steps", type=int, default=20, help="ML steps per chunk")
    parser.add_argument("--rkl-steps", type=int, default=30, help="reverse-KL steps per chunk")
    parser.add_argument("--processes", type=int, default=4,
                        help="successive worker pairs the rounds are split over (default 4)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "baseline.json")
    args = parser.parse_args(argv)
    for name in ("rounds", "moves", "ml_steps", "rkl_steps", "processes"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be ≥ 1; got {getattr(args, name)}")
    steps = {"ml": args.ml_steps, "rkl": args.rkl_steps}
    try:
        commit = _git("rev-parse", "--verify", f"{args.baseline}^{{commit}}")
    except subprocess.CalledProcessError:
        parser.error(f"--baseline {args.baseline!r} is not a commit of this repository")
    head = _git("rev-parse", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--", "nfwidgets"))
    tmp = Path(tempfile.mkdtemp(prefix="nfw-baseline-"))
    tree = tmp / "tree"
    t0 = time.perf_counter()
    try:
        _git("worktree", "add", "--detach", str(tree), commit)
        result = run(tree, args.rounds, args.moves, steps, min(args.processes, args.rounds))
    finally:
        if tree.exists():
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           check=False, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=False,
                       capture_output=True)
    rows = summarise(result["chunks"], steps)
    print_table(rows, args.rounds, args.moves, steps)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "baseline": {"ref": args.baseline, "commit": commit},
        "new": {"commit": head, "nfwidgets_dirty": dirty},
        "rounds": args.rounds, "moves": args.moves, "steps": steps,
        "processes": min(args.processes, args.rounds),
        "load_average_at_end": os.getloadavg(),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "workers": result["hello"], "wall_s": round(time.perf_counter() - t0, 1),
        "rows": rows}, indent=1))
    print(load_line())
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
