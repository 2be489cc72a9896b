#!/usr/bin/env python
"""A benchmark worker: one process, one nfwidgets tree, one tuning variant; timed on request.

Started by ``compare_baseline.py`` and ``bench_tuning.py`` (never by hand), with ``PYTHONPATH``
pointing at the tree to measure. It reads one JSON command a line on stdin and answers one
JSON line on stdout, so a driver can keep several workers alive and interleave short chunks of
work between them (A B B A …) with no process start-up inside the timing::

    {"task": "redraw", "subject": "builder_l1", "moves": 10, "gap": 0.0}
        → {"ms": [...], "cpu_ms": [...], "redraws": 10, "threads": 1}
    {"task": "train", "case": "ml", "steps": 50}
        → {"seconds": 0.41, "cpu_s": 0.40, "loss": 1.234}
    {"task": "quit"}

Subjects (built on first use, kernel side, every widget message serialised as the kernel
would, ``bench_widgets.SerialisingComm``):

- ``builder_l1`` / ``builder_l8``: ``FlowBuilder(preset="mixed_8", resolution=200,
  redraw_delay=0)`` with layer 1 (resp. 8) selected through ``controls["layers"]``, moving the
  first float slider of ``controls`` (by name): the best and the worst case of the stage caches;
- ``planar``: ``PlanarExplorer(resolution=200, redraw_delay=0)``, its first float slider.

A move sets ``slider.value``; it counts as a redraw only if the widget's public ``frame``
counter went up (a move that draws nothing would time nothing). ``gap`` seconds of sleep before
each move make the moves isolated, as a learner's key presses are.

Training cases, public API only (``nfwidgets.train``): ``ml``, maximum likelihood with 8 affine
couplings (alternating masks, ``MLPConditioner(1, 1)``) on two moons (2,000 points, batch 256,
Adam 5e-3); ``rkl``, reverse KL with 16 planar layers (``w, u ~ 0.3·N(0, I)``, ``b = 0``) on
U1 (256 samples a step, annealing over 500 steps, Adam 5e-3). Seeded: two workers running the
same code report the same losses.

Options: ``--malloc tuned`` sets glibc's ``M_MMAP_THRESHOLD`` (32 MiB) and ``M_TRIM_THRESHOLD``
(64 MiB) with ``ctypes`` before anything is imported that allocates; ``--threads 1`` runs torch
on one intra-op thread (through ``nfwidgets.tune_kernel`` when the tree has it, and
``torch.set_num_threads``), ``--threads default`` leaves torch's default. Widgets that have a
``compute_threads`` attribute get the variant's setting (``None``: leave torch alone), so the
widget does not override the variant. Set ``NFWIDGETS_KEEP_MALLOC=1`` in the environment to
keep a tree's widgets from tuning the allocator themselves.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import sys
import time

#: glibc ``mallopt`` parameters (``<malloc.h>``) and the values the tuning sets.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_BYTES, TRIM_BYTES = 32 << 20, 64 << 20
SIZE = 200
SEED = 0


def tune_malloc() -> bool:
    """Set the two thresholds now (True if glibc accepted both)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_BYTES)) and bool(
        libc.mallopt(M_TRIM_THRESHOLD, TRIM_BYTES))


class Worker:
    """The subjects of one process and the commands that time them."""

    def __init__(self, threads: str) -> None:
        import torch

        import nfwidgets

        self.torch, self.nfw = torch, nfwidgets
        self.threads = threads
        self.how_threads = "torch default"
        if threads == "1":
            tune = getattr(nfwidgets, "tune_kernel", None)
            if tune is not None:
                try:
                    tune(threads=1, malloc=False)
                    self.how_threads = "nfwidgets.tune_kernel(threads=1) + set_num_threads(1)"
                except (TypeError, ValueError) as err:
                    self.how_threads = f"tune_kernel refused ({err}); set_num_threads(1)"
            else:
                self.how_threads = "torch.set_num_threads(1)"
            torch.set_num_threads(1)
        self.subjects: dict[str, tuple[object, object]] = {}
        self.trainers: dict[str, object] = {}
        self.step = 0

    # --- redraws ---------------------------------------------------------------------------
    def _widget(self, subject: str) -> tuple[object, object]:
        if subject not in self.subjects:
            import ipywidgets as W
            import ipywidgets.widgets.widget as widget_module
            from bench_widgets import SerialisingComm  # this folder

            widget_module.comm.create_comm = lambda *a, **k: SerialisingComm(**k)
            if subject == "planar":
                w = self.nfw.PlanarExplorer(resolution=SIZE, redraw_delay=0)
            elif subject in ("builder_l1", "builder_l8"):
                w = self.nfw.FlowBuilder(preset="mixed_8", resolution=SIZE, redraw_delay=0)
                w.controls["layers"].value = 0 if subject == "builder_l1" else 7
            else:
                raise ValueError(f"unknown subject {subject!r}")
            if hasattr(w, "compute_threads"):
                w.compute_threads = 1 if self.threads == "1" else None
            sliders = [c for _n, c in sorted(w.controls.items())
                       if isinstance(c, W.FloatSlider)]
            if not sliders:
                raise RuntimeError(f"{subject}: no FloatSlider among controls")
            self.subjects[subject] = (w, sliders[0])
        return self.subjects[subject]

    def redraw(self, subject: str, moves: int, gap: float) -> dict:
        w, slider = self._widget(subject)
        ms, cpu = [], []
        frames0 = getattr(w, "frame", None)
        for _ in range(moves):
            self.step += 1
            frac = (self.step * 7 % 31) / 30  # consecutive values always differ
            value = slider.min + frac * (slider.max - slider.min)
            if gap:
                time.sleep(gap)
            c0, t0 = time.thread_time(), time.perf_counter()
            slider.value = value
            ms.append((time.perf_counter() - t0) * 1e3)
            cpu.append((time.thread_time() - c0) * 1e3)
        frames = getattr(w, "frame", None)
        redraws = moves if frames0 is None else frames - frames0
        return {"ms": ms, "cpu_ms": cpu, "redraws": redraws,
                "threads": self.torch.get_num_threads()}

    # --- training --------------------------------------------------------------------------
    def _trainer(self, case: str) -> object:
        if case not in self.trainers:
            torch, nfw = self.torch, self.nfw
            from nfwidgets.targets import energy, toy_data
            from nfwidgets.train import MaximumLikelihood, ReverseKL

            torch.manual_seed(SEED)  # the conditioners' initialisation
            if case == "ml":
                layers = [nfw.AffineCoupling([1, 0] if k % 2 == 0 else [0, 1],
                                             nfw.MLPConditioner(1, 1)) for k in range(8)]
                self.trainers[case] = MaximumLikelihood(
                    nfw.Flow(layers), toy_data("two_moons", 2000, seed=SEED), batch_size=256,
                    lr=5e-3, seed=SEED)
            elif case == "rkl":
                g = torch.Generator().manual_seed(SEED)
                layers = [nfw.Planar(0.3 * torch.randn(2, generator=g),
                                     0.3 * torch.randn(2, generator=g), 0.0) for _ in range(16)]
                self.trainers[case] = ReverseKL(nfw.Flow(layers), energy("U1"), n_samples=256,
                                                anneal_steps=500, lr=5e-3, seed=SEED)
            else:
                raise ValueError(f"unknown training case {case!r}")
        return self.trainers[case]

    def train(self, case: str, steps: int) -> dict:
        trainer = self._trainer(case)
        c0, t0 = time.process_time(), time.perf_counter()
        losses = trainer.run(steps)
        seconds = time.perf_counter() - t0
        return {"seconds": seconds, "cpu_s": time.process_time() - c0,
                "loss": float(losses[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--malloc", choices=["default", "tuned"], default="default")
    parser.add_argument("--threads", choices=["default", "1"], default="default")
    args = parser.parse_args()
    malloc_ok = tune_malloc() if args.malloc == "tuned" else None  # before torch allocates
    worker = Worker(args.threads)
    print(json.dumps({"ready": True, "nfwidgets": worker.nfw.__file__,
                      "torch_threads": worker.torch.get_num_threads(),
                      "how_threads": worker.how_threads, "malloc_tuned": malloc_ok,
                      "has_tune_kernel": hasattr(worker.nfw, "tune_kernel")}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd["task"] == "quit":
                break
            if cmd["task"] == "redraw":
                out = worker.redraw(cmd["subject"], int(cmd["moves"]), float(cmd.get("gap", 0)))
            elif cmd["task"] == "train":
                out = worker.train(cmd["case"], int(cmd["steps"]))
            else:
                raise ValueError(f"unknown task {cmd['task']!r}")
        except Exception as err:  # reported to the driver, which stops the run
            out = {"error": f"{type(err).__name__}: {err}"}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
