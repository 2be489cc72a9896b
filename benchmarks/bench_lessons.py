#!/usr/bin/env python
"""Slider → pixels latency in each lesson page as shipped: JupyterLab in headless Chromium.

Where ``bench_browser.py`` measures one widget in a notebook of its own, this opens the
lessons themselves (a throwaway copy of ``lessons/``: JupyterLab autosaves, and the checkout
must not get outputs), runs all their cells, and moves one slider a key step at a time:

- lessons 02–05: the first explorer slider, found generically (widget class names may change):
  the first element whose class starts with ``nfw-`` and that holds a bqplot picture and a
  visible ``.noUi-handle`` (probe sliders excepted); its first such handle;
- lessons 06, 07, 08, 11: the training dashboard's scrubber, the slider labelled "after layer"
  (class ``nfw-control-after…``) that shows the density after the first k layers.

Every step walks the slider one way, so every picture is new (the explorers keep the picture of
two moves ago in a second image widget: going back would show it without sending anything).
At an end the walk turns; on a dashboard it stays within 1..K (the picture after 0 layers is the
base density, which training never changes) and one training step (its "Step" button, not
timed) makes the next walk's pictures new. A step whose picture was already shown in the run
(a fingerprint of its data URL) is counted as a repeat and left out of the statistics.

One step, in the page: ``t0`` right before the keydown is dispatched on the handle; ``t1`` when
the frame showing the widget's new density picture (the ``href`` of the bqplot ``<image>`` in
``.nfw-figure-density``, else the widget's first ``<image>``) has been painted
(``requestAnimationFrame`` + ``postMessage``, as ``bench_browser.py``). Untimed afterwards: the
widget's frame counter (``.nfw-frame``) must move on, its text gives the kernel's compute time,
and the picture on screen is checked against the CRC-32 the kernel published with the frame
(``browser_harness.picture_is_current``).

In the same run, alternating with each lesson step (who goes first alternates every round), the
bare comm echo of ``bench_browser.py`` (a slider whose observer sets a ``Label``) in a notebook
of its own, open in another tab for the whole run: the floor a lesson's steps are compared
with. Before each change the tab comes to the front, the widget scrolls into view and the page
rests ``GAP_MS``; round 0 warms up. Notebooks use JupyterLab's default windowing mode.

Prints a table (lesson, widget, p50, p95, echo floor, p50 − floor) and writes
``benchmarks/results/lessons.json``.

    python benchmarks/bench_lessons.py [--lessons 02 06] [--steps 20]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_browser import (  # this folder
    ECHO_CELL,
    GAP_MS,
    KEY_TO_PAINT_JS,
    MEASURE_JS,
    SCROLL_JS,
    bh,
)
from interleave import load_line, percentile

HERE = Path(__file__).resolve().parent
LESSONS_DIR = HERE.parent / "lessons"
#: Lesson number → what is moved in it.
LESSONS = {"02": "explorer", "03": "explorer", "04": "explorer", "05": "explorer",
           "06": "dashboard", "07": "dashboard", "08": "dashboard", "11": "dashboard"}
ECHO_ROOT = ".bench-echo"

_PICK_JS = """async (mode) => {
    const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    for (const e of document.querySelectorAll('[data-nfw-pick], [data-nfw-root]')) {
        e.removeAttribute('data-nfw-pick');
        e.removeAttribute('data-nfw-root');
    }
    const nfw = (e) => [...e.classList].filter(c => c.startsWith('nfw-'));
    const all = [...document.querySelectorAll('[class*="nfw-"]')].filter(e => nfw(e).length);
    const outer = all.filter(e => !all.some(o => o !== e && o.contains(e)));
    const control = (h) => {
        const c = h.closest('[class*="nfw-control-"]');
        return c ? [...c.classList].find(k => k.startsWith('nfw-control-')) : '';
    };
    const label = (h) => {
        const s = h.closest('.widget-slider');
        const l = s && s.querySelector('.widget-label');
        return l ? l.textContent.trim() : '';
    };
    const seen = [];
    for (const root of outer) {
        seen.push(nfw(root).join(' '));
        if (!root.querySelector('svg.svg-figure image')) continue;  // no picture to watch
        root.scrollIntoView({block: 'center'});
        await frames();  // laid out (JupyterLab skips the layout of cells out of view)
        let handles = [...root.querySelectorAll('.noUi-handle')]
            .filter(h => h.getClientRects().length && !/probe/.test(control(h)));
        if (mode === 'dashboard') {
            handles = handles.filter(h => /after/i.test(control(h)) || /after/i.test(label(h)));
        }
        if (!handles.length) continue;
        const h = handles[0];
        h.setAttribute('data-nfw-pick', '1');
        root.setAttribute('data-nfw-root', '1');
        return {root: nfw(root).join(' '), control: control(h), label: label(h)};
    }
    return {error: seen};
}"""

_MEASURE_JS = ("""async ([root, handle, key, timeoutMs]) => {
    const read = () => {
        const fig = root.querySelector('.nfw-figure-density') || root;
        const i = fig.querySelector('svg.svg-figure image');
        return i ? i.getAttribute('href') || '' : '';
    };
    const hash = (s) => {  // FNV-1a over the data URL: which picture this is
        let h = 0x811c9dc5;
        for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), 16777619);
        return `${s.length}:${(h >>> 0).toString(16)}`;
    };""" + KEY_TO_PAINT_JS + """
    const r = await keyToPaint(root, handle, root, read, key, timeoutMs);
    return r && {ms: r.ms, mutation_ms: r.mutation_ms, picture: hash(r.now)};
}""")

_FRAME_JS = """(root) => {
    const f = root.querySelector('.nfw-frame[data-frame]');
    if (!f) return null;
    const m = f.textContent.match(/([0-9]+)² · ([0-9.]+) ms/);
    return {frame: Number(f.dataset.frame), size: m ? Number(m[1]) : null,
            compute_ms: m ? Number(m[2]) : null};
}"""

_ARIA_JS = """(h) => ['aria-valuenow', 'aria-valuemin', 'aria-valuemax']
    .map(a => Number(h.getAttribute(a)))"""


def next_key(now: float, lo: float, hi: float, direction: int) -> tuple[str, int, bool]:
    """The arrow key of the next step of a walk between ``lo`` and ``hi`` going ``direction``
    (+1 right, -1 left), the direction after it, and whether the walk turned at an end."""
    if hi <= lo:
        raise ValueError(f"the slider has no room to move: min {lo}, max {hi}")
    if direction not in (-1, 1):
        raise ValueError(f"direction must be -1 or 1; got {direction!r}")
    turned = (direction > 0 and now >= hi) or (direction < 0 and now <= lo)
    if turned:
        direction = -direction
    return ("ArrowRight" if direction > 0 else "ArrowLeft"), direction, turned


def first_direction(now: float, lo: float, hi: float) -> int:
    """Walk towards the farther end (more new pictures before the walk must turn)."""
    return 1 if hi - now >= now - lo else -1


def summarise(steps: list[dict], echo: list[float]) -> dict:
    """Statistics of one lesson's timed steps (repeats left out) against its echo floor."""
    fresh = [s for s in steps if not s["repeat"]]
    ms = [s["ms"] for s in fresh]
    row: dict = {"n": len(ms), "repeats": len(steps) - len(fresh)}
    if ms:
        row |= {"p50_ms": statistics.median(ms), "p95_ms": percentile(ms, 0.95),
                "samples_ms": [round(v, 2) for v in ms]}
        compute = [s["compute_ms"] for s in fresh if s.get("compute_ms") is not None]
        row["kernel_compute_p50_ms"] = statistics.median(compute) if compute else None
        row["sizes"] = sorted({s["size"] for s in fresh if s.get("size")})
        row["pictures_checked"] = sum(1 for s in fresh if s.get("checked"))
        row["pictures_mismatched"] = sum(1 for s in fresh if s.get("checked") is False)
    if echo:
        row |= {"echo_p50_ms": statistics.median(echo), "echo_p95_ms": percentile(echo, 0.95),
                "echo_n": len(echo)}
        if ms:
            row["over_echo_ms"] = row["p50_ms"] - row["echo_p50_ms"]
    return row


def _lesson_files(wanted: list[str]) -> dict[str, str]:
    files = {}
    for number in wanted:
        found = sorted(LESSONS_DIR.glob(f"{number}_*.ipynb"))
        if not found:
            raise SystemExit(f"no lesson {number}_*.ipynb in {LESSONS_DIR}")
        files[number] = found[0].name
    return files


def _echo_step(page: object, state: dict) -> float | None:
    handle = page.locator(f"{ECHO_ROOT} .noUi-handle").first
    now, lo, hi = handle.evaluate(_ARIA_JS)
    key, state["dir"], _ = next_key(now, lo, hi, state["dir"])
    result = page.evaluate(MEASURE_JS, [ECHO_ROOT, ".noUi-handle", ".bench-echo-label", "text",
                                        key, 20_000])
    return None if result is None else result["ms"]


def _lesson_step(page: object, state: dict) -> dict | None:
    root = page.locator("[data-nfw-root]").element_handle()
    handle = page.locator("[data-nfw-pick]").element_handle()
    now, lo, hi = handle.evaluate(_ARIA_JS)
    if state["kind"] == "dashboard":
        lo = lo + 1  # the picture after 0 layers is the base density: never new
    key, state["dir"], turned = next_key(now, lo, hi, state["dir"])
    if turned and state["kind"] == "dashboard":
        _train_one_step(page, root)
    before = root.evaluate(_FRAME_JS)
    result = page.evaluate(_MEASURE_JS, [root, handle, key, 20_000])
    if result is None:
        return None
    if before is not None:  # the frame counter follows the picture: the redraw is complete
        page.wait_for_function(f"([r, f]) => ({_FRAME_JS})(r).frame > f",
                               arg=[root, before["frame"]], timeout=20_000)
        after = root.evaluate(_FRAME_JS)
        result |= {"size": after["size"], "compute_ms": after["compute_ms"]}
        check = bh.picture_is_current(root, timeout_ms=3_000)
        result["checked"] = check["ok"] if check.get("want") else None
    result["repeat"] = result["picture"] in state["seen"]
    state["seen"].add(result["picture"])
    return result


def _train_one_step(page: object, root: object) -> None:
    """Press the dashboard's Step button and wait for the redraw that follows."""
    before = root.evaluate(_FRAME_JS)
    buttons = [b for b in root.query_selector_all("button") if b.inner_text().strip() == "Step"]
    if not buttons:
        raise SystemExit("the dashboard has no 'Step' button: cannot make new pictures")
    buttons[0].click()
    if before is not None:
        page.wait_for_function(f"([r, f]) => ({_FRAME_JS})(r).frame > f",
                               arg=[root, before["frame"]], timeout=30_000)


def _end_session(server: object, name: str) -> None:
    for session in server.api("GET", "api/sessions") or []:
        if session.get("path", "").endswith(name):
            server.api("DELETE", f"api/sessions/{session['id']}")


def run(lessons: dict[str, str], steps: int, windowing: str) -> tuple[list[dict], list[str]]:
    rows, console = [], []
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nfw-lessons-") as tmp:
        folder = Path(tmp) / "lessons"
        shutil.copytree(LESSONS_DIR, folder)
        bh.write_notebook(folder / "bench-echo.ipynb", ["import ipywidgets as W", ECHO_CELL])
        with (bh.lab_server(folder, windowing=windowing) as server,
              bh.chromium(viewport=(1400, 1000)) as context):
            echo_page = bh.open_notebook(context, server, "bench-echo.ipynb")
            bh.run_all(echo_page)
            bh.wait_widgets_rendered(echo_page)
            echo_state = {"dir": -1}
            for number, name in lessons.items():
                kind = LESSONS.get(number, "explorer")
                page = bh.open_notebook(context, server, name)
                t0 = time.perf_counter()
                bh.run_all(page, timeout_ms=600_000)
                run_all_s = time.perf_counter() - t0
                errors = bh.error_outputs(page)
                if errors:
                    raise SystemExit(f"lesson {name} failed:\n" + "\n".join(errors))
                bh.wait_widgets_rendered(page, timeout_ms=120_000)
                pick = page.evaluate(_PICK_JS, kind)
                if "error" in pick:
                    what = ("a dashboard scrubber (a slider labelled 'after layer')"
                            if kind == "dashboard" else "an explorer slider")
                    raise SystemExit(f"lesson {name}: found no {what} in an element whose "
                                     f"class starts with 'nfw-' and holds a picture; nfw- "
                                     f"elements on the page: {pick['error']}")
                handle = page.locator("[data-nfw-pick]")
                now, lo, hi = handle.evaluate(_ARIA_JS)
                state = {"kind": kind, "seen": set(),
                         "dir": -1 if kind == "dashboard" else first_direction(now, lo, hi)}
                samples, echo, timeouts = [], [], 0
                for r in range(steps + 1):  # round 0 warms up
                    order = ["lesson", "echo"] if r % 2 == 0 else ["echo", "lesson"]
                    for who in order:
                        p = page if who == "lesson" else echo_page
                        p.bring_to_front()
                        if who == "echo":
                            p.evaluate(SCROLL_JS, ECHO_ROOT)
                        p.wait_for_timeout(GAP_MS)  # an isolated change, not a drag
                        out = _lesson_step(p, state) if who == "lesson" else _echo_step(
                            p, echo_state)
                        if out is None:
                            timeouts += 1
                        elif r and who == "lesson":
                            samples.append(out)
                        elif r:
                            echo.append(out)
                print(f"{name}: {steps} steps done ({time.perf_counter() - t_start:.0f} s)",
                      file=sys.stderr, flush=True)
                row = {"lesson": number, "notebook": name, "kind": kind, **pick,
                       "run_all_s": round(run_all_s, 1), "timeouts": timeouts,
                       **summarise(samples, echo)}
                rows.append(row)
                console += [f"{name}: {m}" for m in bh.console_errors(page)]
                page.close()
                _end_session(server, name)  # the next lesson starts on a quiet machine
            console += bh.console_errors(echo_page)
    return rows, console


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="+", default=list(LESSONS), metavar="NN",
                        help=f"lesson numbers (default: {' '.join(LESSONS)})")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per lesson")
    parser.add_argument("--windowing", default="contentVisibility",
                        choices=["contentVisibility", "none", "full", "defer"])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "lessons.json")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be ≥ 1; got {args.steps}")
    lessons = _lesson_files([n.zfill(2) for n in args.lessons])
    t0 = time.perf_counter()
    rows, console = run(lessons, args.steps, args.windowing)

    print(f"\nslider → pixels in each lesson page as shipped (JupyterLab, headless Chromium, "
          f"windowing {args.windowing}), {args.steps} steps each; echo floor measured "
          "alongside, step for step")
    head = (f"{'lesson':26s} {'widget (control)':44s} {'p50 ms':>7s} {'p95 ms':>7s} "
            f"{'echo ms':>7s} {'p50−echo':>8s} {'kernel':>7s} {'grid':>5s} {'n':>3s} {'rep':>3s}")
    print(head)
    print("-" * len(head))
    for r in rows:
        widget = f"{r['root'].split()[-1]} ({r['label'] or r['control']})"
        if "p50_ms" not in r:
            print(f"{r['notebook']:26s} {widget:44s} {'no data':>7s}")
            continue
        kernel = r.get("kernel_compute_p50_ms")
        echo, over = r.get("echo_p50_ms", float("nan")), r.get("over_echo_ms", float("nan"))
        print(f"{r['notebook'][:26]:26s} {widget[:44]:44s} {r['p50_ms']:7.1f} {r['p95_ms']:7.1f} "
              f"{echo:7.1f} {over:+8.1f} "
              f"{'' if kernel is None else f'{kernel:.1f}':>7s} "
              f"{','.join(map(str, r.get('sizes') or [])):>5s} {r['n']:3d} {r['repeats']:3d}"
              + (f"  ({r['timeouts']} timeouts)" if r["timeouts"] else "")
              + (f"  ({r['pictures_mismatched']} pictures ≠ the kernel's)"
                 if r.get("pictures_mismatched") else ""))
    explorers = [r["p50_ms"] for r in rows if r["kind"] == "explorer" and "p50_ms" in r]
    if explorers:
        worst = max(explorers)
        print(f"\ntarget: explorers of lessons 02–05 p50 ≤ 55 ms: worst {worst:.1f} ms → "
              f"{'PASS' if worst <= 55.0 else 'FAIL'}")
    if console:
        print("browser console errors:", *console, sep="\n  ")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "steps": args.steps, "gap_ms": GAP_MS, "windowing": args.windowing,
        "load_average_at_end": os.getloadavg(),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "chromium": bh.chromium_path()},
        "console_errors": console, "wall_s": round(time.perf_counter() - t0, 1),
        "rows": rows}, indent=1))
    print(load_line())
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
