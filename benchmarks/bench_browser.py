#!/usr/bin/env python
"""Slider → pixels latency in a real browser: JupyterLab in headless Chromium.

Builds temporary notebooks (not in lessons/), one widget each, as a lesson holds one, and opens
each in its own tab of one headless Chromium; at 100², 200² and 400² (one size after the other,
see below):

- ``PlanarExplorer`` (slider ``b``);
- ``FlowBuilder(preset="mixed_8")``, 8 mixed layers, with layer 5 of 8 (a planar layer in the
  middle of the stack) selected for editing (slider ``layer.b``): layers 5–8 are recomputed;
- the same planar density the way a teacher would write it without nfwidgets: a
  ``FloatSlider`` for ``b`` bound through ``ipywidgets.interactive`` (what ``interact``
  displays) to a function that computes ``nfwidgets.grid.density_grid`` and ``imshow``-s it
  with matplotlib's inline backend;
- ``PlanarExplorer`` with its deformed grid lines switched off (a diagnostic row: what the
  grid overlay costs the browser);
- and a bare comm echo as the floor: a ``FloatSlider`` observed in the kernel that sets a
  ``Label``'s value.

Each size is measured in a session of its own: its four widget notebooks and the echo are
opened, measured, closed and their kernels shut down before the next size's. A learner has a
lesson or two open, not sixteen notebooks and kernels: with all sizes open at once the tabs
share one renderer process (and one JavaScript heap), which slowed the explorers by tens of
milliseconds while the echo stayed the same.

Before each change the subject's tab is brought to the front (a background tab gets no
animation frames); notebooks use JupyterLab's default windowing mode (``contentVisibility``).
With all fifteen widgets on one page instead, every message costs the browser a relayout of the
whole page, the bare comm echo included.
The explorers are built with ``coarse_resolution`` equal to ``resolution`` so every frame is
drawn at the measured size. One measurement, in the page: ``t0 = performance.now()`` right
before a keydown (``WALK_KEY``: always ArrowLeft, see there) is dispatched on the slider's handle; a
``MutationObserver`` on the target (the bqplot ``<image>`` ``href`` of the density panel, the
Output widget's ``<img>`` ``src``, the ``Label``'s text) sees the new picture; ``t1`` is when
the next frame has been painted (a ``requestAnimationFrame`` callback posts a message, handled
after that frame's style, layout and paint steps; a second ``requestAnimationFrame`` would add
a whole frame interval to every row). Each subject is scrolled
into view at the start of the 0.4 s between changes (an isolated step, as a learner clicking or
typing; the explorers draw such a change at once), and before each one the page must settle
(kernel idle, three frames on time). Subjects are interleaved in every round
(rotating order); round 0 is a warm-up. The kernel runs torch single-threaded.

Prints a table (p50 / p95 per subject and size, the kernel's compute time from the frame
counter, ratio against interact + matplotlib at the same size and against the echo, and the
milliseconds above the echo: what the subject adds to a bare round trip, which is the part a
loaded machine inflates least) and writes ``benchmarks/results/browser.json``
(``browser-quick.json`` with ``--quick``).

    python benchmarks/bench_browser.py [--rounds 50] [--quick]
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tools"))

import browser_harness as bh  # noqa: E402

SIZES = (100, 200, 400)
#: Subject → (CSS class of its root, the slider handle, the observed element, what changes).
SUBJECTS = {
    "PlanarExplorer": ("bench-planar", ".nfw-control-b .noUi-handle",
                       ".nfw-figure-density svg.svg-figure", "image"),
    "FlowBuilder mixed_8 (edit layer 5)": ("bench-builder", ".nfw-control-layer-b .noUi-handle",
                                           ".nfw-figure-density svg.svg-figure", "image"),
    "interact + matplotlib": ("bench-mpl", ".noUi-handle", ".widget-output", "img"),
    # diagnostic: what drawing the deformed grid (a bqplot Lines mark) costs in the browser
    "PlanarExplorer, grid lines off": ("bench-nogrid", ".nfw-control-b .noUi-handle",
                                       ".nfw-figure-density svg.svg-figure", "image"),
}
ECHO = "comm echo (slider → Label)"
MPL = "interact + matplotlib"
GAP_MS = 400  # between changes: longer than the explorers' 0.25 s "still dragging" window
#: Every change moves the slider one step the same way, so every picture is new. The explorers
#: keep two image widgets and alternate (``plots.FieldPanel``): with keys alternating left and
#: right, each picture was still held by the other widget, so no PNG was sent and Chromium
#: decoded nothing (a data URL it had shown before); matplotlib's output was cached the same
#: way.
WALK_KEY = "ArrowLeft"
#: Steps the sliders can take that way: all start at 0.0 (the FlowBuilder's layer 5 at 0.5)
#: with minimum -3.0 and step 0.05.
MAX_CHANGES = 60

SETUP = '''\
import ipywidgets as W
import matplotlib.pyplot as plt
import torch

from nfwidgets import Flow, FlowBuilder, Planar, PlanarExplorer
from nfwidgets.grid import density_grid

torch.set_num_threads(1)
BOUNDS = ((-4.0, 4.0), (-4.0, 4.0))'''

# The widget cell of each notebook (after SETUP), by subject, formatted with the size n.
PER_SIZE = ["""\
planar_{n} = PlanarExplorer(resolution={n}, coarse_resolution={n})
planar_{n}.add_class("bench-planar-{n}")
planar_{n}""", """\
builder_{n} = FlowBuilder(preset="mixed_8", resolution={n}, coarse_resolution={n})
builder_{n}.controls["layers"].value = 4  # layer 5 of 8 (planar): its sliders are shown
builder_{n}.add_class("bench-builder-{n}")
builder_{n}""", """\
layer_{n} = Planar([1.5, 0.0], [1.0, 0.5], 0.0)  # PlanarExplorer's default layer
flow_{n} = Flow([layer_{n}]).to(torch.float32)


def show_{n}(b=0.0):
    with torch.no_grad():
        layer_{n}.b.fill_(b)
    grid = density_grid(flow_{n}, BOUNDS, {n})
    fig, ax = plt.subplots(figsize=(3.2, 3.2))
    ax.imshow(grid.density, origin="lower", extent=(-4, 4, -4, 4), cmap="viridis",
              vmin=0.0, vmax=0.25)
    ax.set_title("density p(x)")
    plt.show()


mpl_{n} = W.interactive(show_{n}, b=W.FloatSlider(value=0.0, min=-3.0, max=3.0, step=0.05))
mpl_{n}.add_class("bench-mpl-{n}")
mpl_{n}""", """\
nogrid_{n} = PlanarExplorer(resolution={n}, coarse_resolution={n})
nogrid_{n}.show_grid.value = False
nogrid_{n}.add_class("bench-nogrid-{n}")
nogrid_{n}"""]

ECHO_CELL = '''\
echo_slider = W.FloatSlider(value=0.0, min=-3.0, max=3.0, step=0.05, description="b")
echo_label = W.Label("0.00")
echo_label.add_class("bench-echo-label")
echo_slider.observe(lambda change: setattr(echo_label, "value", f"{change['new']:.2f}"),
                    "value")
echo = W.VBox([echo_slider, echo_label])
echo.add_class("bench-echo")
echo'''

#: In-page helper shared by the benchmarks' measurements: ``keyToPaint(root, handle, observed,
#: read, key, timeoutMs)`` lets the page settle, presses ``key`` on ``handle`` and resolves with
#: ``{ms, mutation_ms, now}`` once ``read()`` changed inside ``observed`` and the frame showing
#: the change has been painted (``null`` after ``timeoutMs``).
KEY_TO_PAINT_JS = """
    const frame = () => new Promise(r => requestAnimationFrame(r));
    const idle = () => {
        const ind = document.querySelector('.jp-Notebook-ExecutionIndicator');
        return !ind || ind.getAttribute('data-status') === 'idle';
    };
    const keyToPaint = async (root, handle, observed, read, key, timeoutMs) => {
        root.scrollIntoView({block: 'center'});
        // settle: the kernel is idle and three frames in a row came on time (the page has
        // painted what the scroll exposed), so one subject's aftermath is not charged to the next
        for (let calm = 0, last = performance.now(), start = last;
             calm < 3 && last - start < 2000;) {
            await frame();
            const now = performance.now();
            calm = now - last < 20 && idle() ? calm + 1 : 0;
            last = now;
        }
        const before = read();
        return await new Promise((resolve) => {
            let t0 = 0;
            const timer = setTimeout(() => { observer.disconnect(); resolve(null); }, timeoutMs);
            const observer = new MutationObserver(() => {
                const now = read();
                if (!now || now === before) return;
                observer.disconnect();
                clearTimeout(timer);
                const seen = performance.now() - t0;
                // the next frame's rendering steps (style, layout, paint) run right after its
                // rAF callbacks; a message posted from the callback is handled after them, so
                // this is when the frame showing the change has been painted ("rAF +
                // postMessage"; a second rAF would add a whole frame interval to every row)
                const channel = new MessageChannel();
                channel.port1.onmessage = () =>
                    resolve({ms: performance.now() - t0, mutation_ms: seen, now});
                requestAnimationFrame(() => channel.port2.postMessage(0));
            });
            observer.observe(observed, {subtree: true, childList: true, attributes: true,
                                        characterData: true});
            handle.focus();
            t0 = performance.now();
            handle.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true,
                                                              cancelable: true}));
        });
    };
"""

MEASURE_JS = ("""async ([rootSel, handleSel, targetSel, kind, key, timeoutMs]) => {
    const root = document.querySelector(rootSel);
    const handle = root.querySelector(handleSel);
    const target = root.querySelector(targetSel);
    const read = () => {
        if (kind === 'image') {
            const i = target.querySelector('image');
            return i ? i.getAttribute('href') : '';
        }
        if (kind === 'img') {
            const imgs = target.querySelectorAll('img');
            return imgs.length ? imgs[imgs.length - 1].getAttribute('src') : '';
        }
        return target.textContent;
    };""" + KEY_TO_PAINT_JS + """
    const r = await keyToPaint(root, handle, target, read, key, timeoutMs);
    return r && {ms: r.ms, mutation_ms: r.mutation_ms};
}""")

SCROLL_JS = """(rootSel) => document.querySelector(rootSel).scrollIntoView({block: 'center'})"""

COMPUTE_MS_JS = """([rootSel, frame]) => {
    const f = document.querySelector(rootSel + ' .nfw-frame[data-frame]');
    if (!f || Number(f.dataset.frame) <= frame) return false;
    const m = f.textContent.match(/([0-9]+)² · ([0-9.]+) ms/);
    return m ? [Number(m[1]), Number(m[2])] : false;
}"""

FRAME_JS = """(rootSel) => {
    const f = document.querySelector(rootSel + ' .nfw-frame[data-frame]');
    return f ? Number(f.dataset.frame) : -1;
}"""


def _percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _notebooks(folder: Path, sizes: tuple[int, ...]) -> dict[str, str]:
    """One notebook per widget and size (and an echo per size), as a lesson holds one widget:
    root selector → notebook file name. No notebook is opened twice: JupyterLab autosaves an
    open notebook, and one reopened with a closed kernel's widget outputs logs "widget model
    not found"."""
    names = {}
    for n in sizes:
        for (_name, (cls, *_rest)), cell in zip(SUBJECTS.items(), PER_SIZE, strict=True):
            names[f".{cls}-{n}"] = bh.write_notebook(
                folder / f"{cls}-{n}.ipynb", [SETUP, cell.format(n=n)]).name
        echo = ECHO_CELL.replace('add_class("bench-echo")', f'add_class("bench-echo-{n}")')
        names[f".bench-echo-{n}"] = bh.write_notebook(folder / f"bench-echo-{n}.ipynb",
                                                      ["import ipywidgets as W", echo]).name
    return names


def _slots(sizes: tuple[int, ...]) -> list[tuple[str, int | None, str]]:
    """(subject, size, root selector) for every measured widget; the echo once per size slot,
    so it is sampled as often as the others and through the same rounds."""
    slots = []
    for n in sizes:
        for name, (cls, *_rest) in SUBJECTS.items():
            slots.append((name, n, f".{cls}-{n}"))
        slots.append((ECHO, n, f".bench-echo-{n}"))
    return slots


def measure(page: object, slot: tuple[str, int | None, str], key: str,
            timeout_ms: int) -> dict | None:
    name, _size, root = slot
    handle, target, kind = ((".noUi-handle", ".bench-echo-label", "text") if name == ECHO
                            else SUBJECTS[name][1:])
    explorer = kind == "image"
    frame = page.evaluate(FRAME_JS, root) if explorer else None
    result = page.evaluate(MEASURE_JS, [root, handle, target, kind, key, timeout_ms])
    if result is not None and explorer:  # the frame counter follows the picture
        res_ms = page.wait_for_function(COMPUTE_MS_JS, arg=[root, frame]).json_value()
        result["resolution"], result["compute_ms"] = res_ms
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None,
                        help="timed changes per subject and size (default 50; 12 with --quick)")
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--windowing", default="contentVisibility",
                        choices=["contentVisibility", "none", "full", "defer"],
                        help="JupyterLab's notebook windowing mode (default: Lab's default, "
                             "contentVisibility; 'none' lays out and paints every cell always)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES),
                        help=f"grid sizes to measure (default {' '.join(map(str, SIZES))})")
    args, _other = parser.parse_known_args()  # bench.sh passes its arguments to every script
    rounds = args.rounds or (12 if args.quick else 50)
    if not 1 <= rounds < MAX_CHANGES:  # + round 0, the warm-up
        parser.error(f"--rounds must be in [1, {MAX_CHANGES - 1}] (each slider walks one way "
                     f"from its start and has {MAX_CHANGES} steps); got {rounds}")
    out = args.out or HERE / "results" / ("browser-quick.json" if args.quick else "browser.json")

    sizes = tuple(args.sizes)
    slots = _slots(sizes)
    samples: dict[tuple[str, int], list[dict]] = {(s[0], s[1]): [] for s in slots}
    failures: dict[tuple[str, int], int] = {k: 0 for k in samples}
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nfw-bench-") as tmp:
        notebooks = _notebooks(Path(tmp), sizes)
        with (bh.lab_server(tmp, windowing=args.windowing) as server,
              bh.chromium(viewport=(1400, 1000)) as context):
            console = []
            for n in sizes:  # one session per size: its subjects and the echo
                size_slots = [slot for slot in slots if slot[1] == n]
                pages = {}
                for root in dict.fromkeys(slot[2] for slot in size_slots):
                    name = notebooks[root]
                    page = bh.open_notebook(context, server, name)
                    bh.run_all(page, timeout_ms=300_000)
                    errors = bh.error_outputs(page)
                    if errors:
                        raise SystemExit(f"the benchmark notebook {name} failed:\n"
                                         + "\n".join(errors))
                    bh.wait_widgets_rendered(page, timeout_ms=120_000)
                    pages[root] = page
                for r in range(rounds + 1):  # round 0: warm-up
                    key = WALK_KEY
                    k = r % len(size_slots)
                    for slot in size_slots[k:] + size_slots[:k]:
                        # the subject's tab to the front (a background tab gets no animation
                        # frames) and its widget into view, then the gap lets the browser
                        # finish painting it: a learner's slider is on screen before they
                        # touch it
                        page = pages[slot[2]]
                        page.bring_to_front()
                        page.evaluate(SCROLL_JS, slot[2])
                        page.wait_for_timeout(GAP_MS)  # an isolated change, not a drag
                        result = measure(page, slot, key, timeout_ms=20_000)
                        if r == 0:
                            continue
                        if result is None:
                            failures[slot[0], slot[1]] += 1
                        else:
                            samples[slot[0], slot[1]].append(result)
                    print(f"{n}²: round {r}/{rounds} done "
                          f"({time.perf_counter() - t_start:.0f} s)", file=sys.stderr, flush=True)
                console += [m for p in pages.values() for m in bh.console_errors(p)]
                for p in pages.values():
                    p.close()
                server.shutdown_kernels()  # the next size starts on a quiet machine

    rows = []
    p50 = {k: statistics.median([s["ms"] for s in v]) for k, v in samples.items() if v}
    for (name, n), vals in samples.items():
        ms = [s["ms"] for s in vals]
        row = {"subject": name, "size": n, "n": len(ms), "timeouts": failures[name, n]}
        if ms:
            row |= {"p50_ms": p50[name, n], "p95_ms": _percentile(ms, 0.95),
                    "min_ms": min(ms), "mutation_p50_ms": statistics.median(
                        [s["mutation_ms"] for s in vals]),
                    "samples_ms": [round(v, 2) for v in ms]}
            if "compute_ms" in vals[0]:
                row["kernel_compute_p50_ms"] = statistics.median([s["compute_ms"] for s in vals])
                row["resolutions"] = sorted({s["resolution"] for s in vals})
            mpl, echo = p50.get((MPL, n)), p50.get((ECHO, n))
            row["speedup_vs_interact_mpl"] = mpl / p50[name, n] if mpl else None
            row["ratio_vs_echo"] = p50[name, n] / echo if echo else None
            # what the subject adds to a bare comm round trip (machine load inflates the echo)
            row["over_echo_ms"] = p50[name, n] - echo if echo else None
        rows.append(row)

    order = [*SUBJECTS, ECHO]
    rows.sort(key=lambda r: (r["size"], order.index(r["subject"])))
    print(f"\nslider → pixels latency in JupyterLab + headless Chromium, {rounds} changes "
          f"per row (interleaved), torch 1 thread; Lab windowing mode: {args.windowing}")
    head = (f"{'subject':36s} {'size':>5s} {'p50 ms':>8s} {'p95 ms':>8s} {'kernel ms':>9s} "
            f"{'× faster than mpl':>17s} {'× echo':>7s} {'over echo ms':>12s}")
    print(head)
    print("-" * len(head))
    for r in rows:
        if "p50_ms" not in r:
            print(f"{r['subject']:36s} {r['size']:>4d}² {'no data':>8s}")
            continue
        kernel, speed, echo, over = (r.get("kernel_compute_p50_ms"),
                                     r["speedup_vs_interact_mpl"], r["ratio_vs_echo"],
                                     r["over_echo_ms"])
        cells = ["" if kernel is None else f"{kernel:.1f}",
                 "" if speed is None else f"{speed:.1f}×",
                 "" if echo is None else f"{echo:.2f}",
                 "" if over is None else f"{over:+.1f}"]
        note = f"  ({r['timeouts']} timeouts)" if r["timeouts"] else ""
        print(f"{r['subject']:36s} {r['size']:>4d}² {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} "
              f"{cells[0]:>9s} {cells[1]:>17s} {cells[2]:>7s} {cells[3]:>12s}{note}")

    builder = p50.get(("FlowBuilder mixed_8 (edit layer 5)", 200))
    mpl200 = p50.get((MPL, 200))
    targets = []
    if builder is not None:
        targets.append(("FlowBuilder 8 layers p50 ≤ 50 ms at 200²", builder <= 50.0,
                        f"{builder:.1f} ms"))
        if mpl200 is not None:
            targets.append(("FlowBuilder 8 layers ≥ 5× faster than interact + matplotlib "
                            "at 200²", mpl200 / builder >= 5.0, f"{mpl200 / builder:.1f}×"))
    echo200 = p50.get((ECHO, 200))
    if builder is not None and mpl200 is not None and echo200 is not None:
        print(f"\nabove the comm echo at 200²: FlowBuilder {builder - echo200:+.1f} ms, "
              f"interact + matplotlib {mpl200 - echo200:+.1f} ms")
    print()
    for text, ok, value in targets:
        print(f"target: {text}: {value} → {'PASS' if ok else 'FAIL'}")
    if console:
        print("browser console errors:", *console, sep="\n  ")

    import bqplot
    import ipywidgets
    import jupyterlab
    import playwright
    import torch

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "rounds": rounds, "gap_ms": GAP_MS, "sizes": list(sizes),
        "windowing": args.windowing,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "torch": torch.__version__, "ipywidgets": ipywidgets.__version__,
                    "bqplot": bqplot.__version__, "jupyterlab": jupyterlab.__version__,
                    "playwright": getattr(playwright, "__version__", "?"),
                    "chromium": bh.chromium_path()},
        "targets": [{"target": t, "pass": ok, "value": v} for t, ok, v in targets],
        "console_errors": console,
        "wall_s": round(time.perf_counter() - t_start, 1),
        "rows": rows}, indent=1))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
