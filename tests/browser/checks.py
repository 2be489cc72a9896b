"""Assertions shared by the browser tests: what "a widget renders and responds" means."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "lessons"
sys.path.insert(0, str(ROOT / "tools"))

import browser_cells as cells  # noqa: E402
import browser_harness as bh  # noqa: E402
import browser_notebook7 as nb7  # noqa: E402

__all__ = ["LESSONS", "MIN_PLOT_COLOURS", "ROOT", "assert_explorers_respond",
           "assert_figures_drawn", "assert_no_errors", "bh", "cells", "nb7"]

#: An empty bqplot plot area has 1–3 colours (background, grid lines); a density picture has
#: hundreds and a line plot dozens (anti-aliased curves).
MIN_PLOT_COLOURS = 10


def assert_no_errors(page: object, where: str, notebook: Path | None = None) -> None:
    """No error / stderr output, no widget that failed to display, no console error. With the
    ``notebook`` file, a cell tagged ``raises-exception`` may fail as a check
    (``browser_cells``)."""
    errors = (cells.untagged_errors(page, notebook)[0] if notebook is not None
              else bh.error_outputs(page))
    assert not errors, f"{where}: error outputs:\n" + "\n---\n".join(errors)
    console = bh.console_errors(page)
    assert not console, f"{where}: browser console errors:\n" + "\n".join(console)


def assert_figures_drawn(page: object, where: str, selector: str = ".bqplot.figure") -> int:
    """Every bqplot figure is drawn and not blank. A figure with kernel-drawn pictures (bqplot
    Image marks, or a HeatMap): each picture decodes to a non-empty bitmap, its element covers
    the plot area, and most of the plot area shows the picture's colours on screen (a picture
    may be uniform: log|det J| of an affine flow). Any other figure (lines,
    dots): when its marks have drawn shapes, its plot area has at least ``MIN_PLOT_COLOURS``
    colours (a figure with no data yet, a loss plot before training, may be empty). Returns
    the number of figures."""
    figures = page.locator(selector)
    count = figures.count()
    for k in range(count):
        fig = figures.nth(k)
        name = fig.evaluate("f => [...f.classList].find(c => c.startsWith('nfw-figure')) "
                            "|| f.querySelector('.mainheading')?.textContent || 'figure'")
        label = f"{where}: figure {k} ({name})"
        pictures = bh.figure_pictures(fig)
        for pic in pictures:
            assert pic["width"] > 0 and pic["height"] > 0, f"{label}: empty picture {pic}"
            assert pic["cover"] > 0.9, f"{label}: the picture does not fill the plot {pic}"
        if pictures:
            palette = [c for pic in pictures for c in pic["palette"]]
            share = bh.screen_share_of_palette(fig, palette)
            assert share > 0.5, (f"{label}: only {share:.0%} of the plot area shows the "
                                 "picture's colours")
        elif bh.drawn_marks(fig):
            colours = bh.plot_area_colours(fig)
            assert colours >= MIN_PLOT_COLOURS, (
                f"{label} looks blank: {colours} colours in its plot area")
    return count


def assert_explorers_respond(page: object, where: str) -> list[bh.SliderMove]:
    """For each explorer with a slider: one arrow-key step on its first slider increases the
    frame counter and changes the density picture (``move_slider`` waits for both); then a
    burst of steps ends with the last frame's picture on screen, byte for byte (the widgets
    that publish a ``data-picture`` digest; the 1-D change of variables has no picture)."""
    explorers = page.locator(bh.EXPLORERS)
    moves = []
    for k in range(explorers.count()):
        explorer = explorers.nth(k)
        kind = explorer.evaluate("e => [...e.classList].filter(c => c.startsWith('nfw-'))"
                                 ".join(' ')")
        try:
            move = bh.move_slider(page, explorer)
        except Exception as err:  # Playwright's TimeoutError: say what the widget shows
            raise AssertionError(
                f"{where}: explorer {k} ({kind}) did not redraw after a slider step: "
                f"{bh.explorer_state(explorer)!r}; {type(err).__name__}: "
                f"{str(err).splitlines()[0]}") from err
        if move is None:
            continue
        assert move.frame_after > move.frame_before and move.changed, (where, kind, move)
        # a burst of steps, then: the picture on screen is byte for byte the last one sent
        # (the density panel double-buffers its image widgets: never a stale picture)
        if not explorer.locator(".nfw-frame[data-picture]").count():
            moves.append(move)
            continue
        bh.burst(page, explorer)
        current = bh.picture_is_current(explorer)
        assert current["ok"], (f"{where}: explorer {k} ({kind}) shows a picture other than "
                               f"its last frame's after a burst: {current}; "
                               f"{bh.explorer_state(explorer)!r}")
        moves.append(move)
    return moves
