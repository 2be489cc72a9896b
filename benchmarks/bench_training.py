#!/usr/bin/env python
"""Live-training benchmark: steps/s of the TrainingDashboard vs the bare training loop.

Two cases: maximum likelihood on two moons with a coupling flow (K = 8, MLP conditioners
1→64→64→2, batch 256) and reverse KL on U1 with a planar flow (K = 16, 256 samples per step).
Three contenders train the same flow (same seed, same initial parameters, same data and
batches) for the same number of steps:

- ``bare loop``: ``MaximumLikelihood`` / ``ReverseKL`` ``.run(n)``, nothing drawn;
- ``dashboard train(n)``: ``TrainingDashboard.train(n)``, redrawing every ``redraw_every``
  seconds (the default, 0.4 s): density grid, loss curve, bound, mode masses, readouts;
- ``dashboard Play``: ``TrainingDashboard.play()`` as an asyncio task on a running event loop,
  in chunks, yielding between them, until the step total — what the Play button does.

Every widget message is serialised as the kernel would (JSON + binary buffers), so the
redraw cost includes it. Interleaved rounds (the order rotates), round 0 warms up,
``torch.set_num_threads(1)``; per round the overhead ``1 - dashboard / bare`` is paired with the
bare loop of the same round, in wall time (what the learner sees) and in this process's CPU
time (single-threaded, so on an idle machine the two agree; on a shared one the CPU time is
the measure other load disturbs least, and the target line uses it). "best runs" compares the
fastest run of each contender. Prints a table, writes benchmarks/results/training.json.

    python benchmarks/bench_training.py [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import ipywidgets.widgets.widget as widget_module
import torch
from bench_widgets import SerialisingComm  # the same kernel-comm stand-in (this folder)

from nfwidgets import TrainingDashboard
from nfwidgets.targets import energy, toy_data
from nfwidgets.train import MaximumLikelihood, ReverseKL
from nfwidgets.training_setup import make_flow

HERE = Path(__file__).resolve().parent


CASES = {
    "ML two_moons, coupling K=8": dict(target="two_moons", flow="coupling", layers=8),
    "reverse KL U1, planar K=16": dict(target="U1", flow="planar", layers=16),
}
SEED, LR, BATCH = 0, 5e-3, 256


def _bare(case: dict, n: int) -> tuple[float, dict]:
    flow = make_flow(case["flow"], case["layers"], SEED)
    if case["target"] == "U1":
        trainer = ReverseKL(flow, energy("U1"), n_samples=BATCH, anneal_steps=500, lr=LR,
                            seed=SEED)
    else:
        trainer = MaximumLikelihood(flow, toy_data(case["target"], 2000, seed=SEED),
                                    batch_size=BATCH, lr=LR, seed=SEED)
    t0, c0 = time.perf_counter(), time.process_time()
    trainer.run(n)
    return time.perf_counter() - t0, {"params": [p.detach().clone() for p in flow.parameters()],
                                      "cpu": time.process_time() - c0}


def _dashboard(case: dict, steps: int) -> TrainingDashboard:
    return TrainingDashboard(case["target"], case["flow"], layers=case["layers"], lr=LR,
                             batch_size=BATCH, seed=SEED, steps=steps)


def _info(d: TrainingDashboard, frames0: int, cpu: float) -> dict:
    return {"params": [p.detach().clone() for p in d.flow.parameters()],
            "redraws": d.frame - frames0, "redraw_ms": d.last_frame.compute_ms, "cpu": cpu}


def _train(case: dict, n: int) -> tuple[float, dict]:
    d = _dashboard(case, n)
    frames0 = d.frame
    t0, c0 = time.perf_counter(), time.process_time()
    d.train(n)
    dt = time.perf_counter() - t0
    info = _info(d, frames0, time.process_time() - c0)
    d.close()
    return dt, info


def _play(case: dict, n: int) -> tuple[float, dict]:
    async def run() -> tuple[float, dict]:
        d = _dashboard(case, n)
        frames0 = d.frame
        t0, c0 = time.perf_counter(), time.process_time()
        d.play()
        while d.playing:
            await asyncio.sleep(0.005)
        dt = time.perf_counter() - t0
        info = _info(d, frames0, time.process_time() - c0)
        d.close()
        return dt, info

    return asyncio.run(run())


CONTENDERS: dict[str, Callable[[dict, int], tuple[float, dict]]] = {
    "bare loop": _bare,
    "dashboard train(n)": _train,
    "dashboard Play": _play,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps-ml", type=int, default=600)
    parser.add_argument("--steps-rkl", type=int, default=1500)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    repeats = 2 if args.quick else args.repeats
    steps = {"ML two_moons, coupling K=8": 200 if args.quick else args.steps_ml,
             "reverse KL U1, planar K=16": 500 if args.quick else args.steps_rkl}
    torch.set_num_threads(1)
    widget_module.comm.create_comm = lambda *a, **k: SerialisingComm(**k)

    results: dict[str, dict[str, list]] = {}
    for case_name, case in CASES.items():
        n = steps[case_name]
        times: dict[str, list[float]] = {c: [] for c in CONTENDERS}
        infos: dict[str, list[dict]] = {c: [] for c in CONTENDERS}
        names = list(CONTENDERS)
        for r in range(repeats + 1):  # round 0 warms up
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                dt, info = CONTENDERS[name](case, n)
                if r:
                    times[name].append(dt)
                    infos[name].append(info)
        # same seed, same steps: every contender must end on the same parameters
        ref = infos["bare loop"][0]["params"]
        same = all(torch.equal(a, b) for name in names for info in infos[name]
                   for a, b in zip(ref, info["params"], strict=True))
        results[case_name] = {"steps": n, "times": times, "infos": infos, "same": same}

    rows = []
    defaults = TrainingDashboard.__init__.__kwdefaults__
    print(f"live training, kernel side (torch {torch.__version__}, 1 thread, "
          f"{platform.machine()}), {repeats} interleaved rounds, redraw every "
          f"{defaults['redraw_every']} s (at most {defaults['redraw_share']:.0%} of the time), "
          f"messages serialised")
    header = (f"{'case':28s} {'contender':20s} {'steps':>6s} {'steps/s':>8s} {'overhead':>9s} "
              f"{'range':>15s} {'best runs':>9s} {'CPU overhead':>13s} {'redraws':>8s} "
              f"{'redraw ms':>9s}")
    print(header)
    ok_all = True
    for case_name, res in results.items():
        bare = res["times"]["bare loop"]
        n = res["steps"]
        for name, ts in res["times"].items():
            rate = n / statistics.median(ts)
            infos = res["infos"][name]
            cpu = [i["cpu"] for i in infos]
            bare_cpu = [i["cpu"] for i in res["infos"]["bare loop"]]
            if name == "bare loop":
                over = rng = cpu_over = best_over = "—"
                overhead = cpu_overhead = best = None
            else:
                paired = [1.0 - b / t for b, t in zip(bare, ts, strict=True)]
                overhead = statistics.median(paired)
                over = f"{100 * overhead:8.1f}%"
                rng = f"{100 * min(paired):5.1f}…{100 * max(paired):5.1f}%"
                cpu_overhead = statistics.median(1.0 - b / c for b, c in zip(bare_cpu, cpu,
                                                                              strict=True))
                cpu_over = f"{100 * cpu_overhead:12.1f}%"
                best = 1.0 - min(bare) / min(ts)
                best_over = f"{100 * best:8.1f}%"
            redraws = statistics.median(i.get("redraws", 0) for i in infos)
            redraw_ms = [i["redraw_ms"] for i in infos if "redraw_ms" in i]
            rms = f"{statistics.median(redraw_ms):9.1f}" if redraw_ms else f"{'—':>9s}"
            print(f"{case_name:28s} {name:20s} {n:6d} {rate:8.1f} {over:>9s} {rng:>15s} "
                  f"{best_over:>9s} {cpu_over:>13s} {redraws:8.0f} {rms}")
            rows.append({"case": case_name, "contender": name, "steps": n,
                         "steps_per_s": rate, "overhead": overhead,
                         "cpu_overhead": cpu_overhead, "cpu_seconds": cpu,
                         "best_run_overhead": best,
                         "seconds": ts, "redraws": redraws,
                         "redraw_compute_ms": statistics.median(redraw_ms) if redraw_ms
                         else None})
            if cpu_overhead is not None and cpu_overhead > 0.20:
                ok_all = False
        print(f"{'':28s} same parameters after {n} steps in every run: "
              f"{'yes' if res['same'] else 'NO'}")
    print(f"target: overhead ≤ 20% at the default redraw interval (CPU time of this process, "
          f"the measure other load on the machine disturbs least): "
          f"{'PASS' if ok_all else 'FAIL'}")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / ("training-quick.json" if args.quick else "training.json")).write_text(
        json.dumps({"rows": rows, "same_parameters": {k: v["same"] for k, v in
                                                      results.items()},
                    "bytes_sent": SerialisingComm.bytes_sent,
                    "messages": SerialisingComm.messages}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
