#!/usr/bin/env python
"""Widget redraw benchmark (kernel side): control change → marks updated, serialised.

For PlanarExplorer and a FlowBuilder with 8 mixed layers at 100², 200² and 400², times one
slider move from ``slider.value = v`` until every changed mark has been updated and its comm
message serialised (JSON + binary buffers, as the kernel sends them): engine compute, colour
map, PNG encode, widget state, serialisation. In the same run, the same update done the
``ipywidgets.interact`` + matplotlib way (engine compute, ``imshow`` + colour bar, PNG through
``savefig`` as the inline backend does). Interleaved rounds, single-threaded torch, median and
p95 over the repeats. Prints a table, writes benchmarks/results/widgets.json.

    python benchmarks/bench_widgets.py [--repeats 30] [--quick] [--threads 1]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
from pathlib import Path

import ipywidgets.widgets.widget as widget_module
import numpy as np
import torch

from nfwidgets.grid import density_grid
from nfwidgets.widgets import PlanarExplorer

HERE = Path(__file__).resolve().parent


class SerialisingComm:
    """Stands in for the kernel's comm: serialises every message like the kernel session."""

    bytes_sent = 0
    messages = 0

    def __init__(self, **kwargs: object) -> None:
        self.comm_id = f"bench-{id(self)}"
        self.kernel = "Truthy"
        self._send(kwargs.get("data"), kwargs.get("buffers"))

    def _send(self, data: object, buffers: object) -> None:
        text = json.dumps(data, default=str)
        size = len(text) + sum(len(memoryview(b)) for b in (buffers or []))
        SerialisingComm.bytes_sent += size
        SerialisingComm.messages += 1

    def open(self, *args: object, **kwargs: object) -> None:
        pass

    def on_msg(self, *args: object, **kwargs: object) -> None:
        pass

    def send(self, data: object = None, buffers: object = None, **kwargs: object) -> None:
        self._send(data, buffers)

    def close(self, *args: object, **kwargs: object) -> None:
        self._send({"method": "close"}, None)


def _builder(n: int, layer: int = 0) -> object | None:
    """A FlowBuilder with 8 mixed layers, layer ``layer`` (0-based) selected for editing."""
    try:
        from nfwidgets.widgets import FlowBuilder
    except ImportError:
        return None
    builder = FlowBuilder(preset="mixed_8", resolution=n, redraw_delay=0)
    builder.controls["layers"].value = layer
    return builder


def _first_float_slider(explorer: object) -> object:
    import ipywidgets as W

    for _name, w in sorted(explorer.controls.items()):
        if isinstance(w, W.FloatSlider):
            return w
    raise RuntimeError("no slider")


class MatplotlibInteract:
    """The interact + matplotlib way: recompute, redraw a figure, encode PNG (inline backend)."""

    def __init__(self, n: int) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from nfwidgets import Flow, Planar

        self.plt = plt
        self.layer = Planar([1.5, 0.0], [1.0, 0.5], 0.0)
        self.flow = Flow([self.layer])
        self.n = n

    def update(self, u1: float) -> int:
        with torch.no_grad():
            self.layer.u[0] = u1
        dens = density_grid(self.flow, ((-4, 4), (-4, 4)), self.n).density
        fig, ax = self.plt.subplots(figsize=(3.5, 3.2))
        im = ax.imshow(dens, origin="lower", extent=(-4, 4, -4, 4), vmin=0, vmax=0.25,
                       cmap="viridis")
        fig.colorbar(im, ax=ax)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        self.plt.close(fig)
        return len(buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: steady numbers; a kernel uses all cores)")
    args = parser.parse_args(argv)
    repeats = 5 if args.quick else args.repeats
    torch.set_num_threads(args.threads)
    widget_module.comm.create_comm = lambda *a, **k: SerialisingComm(**k)

    sizes = (100, 200, 400)
    subjects: dict[tuple[str, int], object] = {}
    for n in sizes:
        subjects[("PlanarExplorer", n)] = PlanarExplorer(resolution=n, redraw_delay=0)
        first, last = _builder(n, 0), _builder(n, 7)
        if first is not None:
            # Editing layer 1 recomputes 1 layer of the inverse pass (the stage caches keep the
            # other 7); editing layer 8 recomputes all 8: the best and the worst case.
            subjects[("FlowBuilder 8 mixed, edit layer 1", n)] = first
            subjects[("FlowBuilder 8 mixed, edit layer 8", n)] = last
        subjects[("interact + matplotlib (planar)", n)] = MatplotlibInteract(n)

    times: dict[tuple[str, int], list[float]] = {k: [] for k in subjects}
    cpu: dict[tuple[str, int], list[float]] = {k: [] for k in subjects}
    compute: dict[tuple[str, int], list[float]] = {k: [] for k in subjects}
    values = np.linspace(-2.0, 2.0, repeats + 1)
    for r in range(repeats + 1):  # round 0 warms up
        for key, subject in subjects.items():
            v = float(values[(r * 7) % len(values)])
            c0, t0 = time.thread_time(), time.perf_counter()
            if isinstance(subject, MatplotlibInteract):
                subject.update(v)
            else:
                slider = _first_float_slider(subject)
                slider.value = v if slider.min <= v <= slider.max else slider.min
            dt = (time.perf_counter() - t0) * 1e3
            dc = (time.thread_time() - c0) * 1e3
            if r:
                times[key].append(dt)
                cpu[key].append(dc)
                frame = getattr(subject, "last_frame", None)
                if frame is not None:
                    compute[key].append(frame.compute_ms)

    rows = []
    print(f"widget redraw, kernel side (torch {torch.__version__}, {args.threads} thread(s)), "
          f"{repeats} slider moves each, interleaved")
    print("(p50/p95: wall time; cpu p50: this thread's CPU time, which other processes on a "
          "busy machine do not inflate)")
    print(f"{'subject':36s} {'grid':>5s} {'p50 ms':>8s} {'p95 ms':>8s} {'cpu p50':>8s} "
          f"{'compute p50':>11s} {'vs interact':>11s}")
    for n in sizes:
        base = statistics.median(times[("interact + matplotlib (planar)", n)])
        for key in subjects:
            if key[1] != n:
                continue
            ts = sorted(times[key])
            p50, p95 = statistics.median(ts), ts[min(len(ts) - 1, int(0.95 * len(ts)))]
            c50 = statistics.median(compute[key]) if compute[key] else float("nan")
            cpu50 = statistics.median(cpu[key])
            ratio = base / p50
            print(f"{key[0]:36s} {n:>4d}² {p50:8.1f} {p95:8.1f} {cpu50:8.1f} {c50:11.1f} "
                  f"{ratio:10.1f}×")
            rows.append({"subject": key[0], "grid": n, "p50_ms": p50, "p95_ms": p95,
                         "cpu_p50_ms": cpu50, "compute_p50_ms": c50,
                         "speedup_vs_interact": ratio})
    for r in rows:
        if r["grid"] == 200 and r["subject"].startswith("FlowBuilder"):
            ok = r["p50_ms"] <= 10.0
            print(f"target ≤ 10 ms kernel side at 200², {r['subject']}: "
                  f"{r['p50_ms']:.1f} ms wall, {r['cpu_p50_ms']:.1f} ms cpu "
                  f"{'PASS' if ok else 'FAIL'}")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    suffix = ("-quick" if args.quick else "") + (f"-{args.threads}t" if args.threads != 1 else "")
    (out / f"widgets{suffix}.json").write_text(
        json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
