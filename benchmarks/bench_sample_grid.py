#!/usr/bin/env python
"""Kernel-side redraw time of ``SampleGrid`` (the pretrained Glow) at its default size.

One redraw = what a temperature-slider move costs in the kernel: decode 25 samples and the
5-image interpolation row through the flow, tile them, encode the indexed PNG, and send the
widget messages (serialised as the kernel would, ``bench_widgets.SerialisingComm``). Three
gestures are timed in turn, round after round: a temperature move (same noise, rescaled), a
"new samples" press (new noise), a change of the row's second digit (one digit encoded anew).
Prints p50 and p90 per gesture against the target.

    python benchmarks/bench_sample_grid.py [--rounds 60] [--checkpoint PATH]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import ipywidgets.widgets.widget as widget_module
import torch
from bench_widgets import SerialisingComm  # the kernel-comm stand-in (this folder)
from interleave import load_line, percentile

from nfwidgets.models.pretrained import load_pretrained
from nfwidgets.widgets.sample_grid import SampleGrid

#: Target for one kernel-side redraw at the default size, ms.
TARGET_MS = 15.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="a glow-digits checkpoint (default: the shipped one)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    widget_module.comm.create_comm = lambda *a, **k: SerialisingComm(**k)

    grid = SampleGrid(load_pretrained("glow-digits", path=args.checkpoint), seed=0,
                      redraw_delay=0)
    rng = random.Random(0)
    c = grid.controls
    gestures = {
        "temperature": lambda: setattr(c["temperature"], "value",
                                       round(rng.uniform(0.0, 1.2), 2)),
        "new samples": c["new_samples"].click,
        "row digit": lambda: setattr(c["second"], "value", rng.randint(0, 359)),
    }
    times: dict[str, list[float]] = {name: [] for name in gestures}
    for turn in range(args.rounds + 1):
        for name, gesture in gestures.items():
            frame = grid.frame
            start = time.perf_counter()
            gesture()
            elapsed = (time.perf_counter() - start) * 1000
            if grid.frame == frame:  # the value did not change: no redraw happened
                continue
            if turn:  # round 0 warms up
                times[name].append(elapsed)
    print(f"SampleGrid kernel redraw (5×5 samples + 5-image row), torch "
          f"{torch.__version__}, 1 thread, {args.rounds} rounds")
    print(f"{'gesture':<12} {'p50 ms':>8} {'p90 ms':>8} {'redraws':>8}   target ≤ {TARGET_MS:g} ms")
    for name, values in times.items():
        p50 = percentile(values, 0.5)
        print(f"{name:<12} {p50:>8.2f} {percentile(values, 0.9):>8.2f} {len(values):>8}   "
              f"{'met' if p50 <= TARGET_MS else 'NOT met'}")
    print(load_line())


if __name__ == "__main__":
    main()
