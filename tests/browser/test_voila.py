"""Every explorer (and the training dashboard) renders in Voilà, in headless Chromium: the
figures are drawn and not blank, a slider step redraws the density, no console errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import nfwidgets.widgets as widgets

from .checks import assert_explorers_respond, assert_figures_drawn, assert_no_errors, bh

#: Voilà executes the whole notebook (every widget) before it sends the page.
VOILA_TIMEOUT_MS = 240_000
#: Widgets that show a learner's function next to an engine layer: no slider to move; shown
#: here with the layer's own forward as the "learner's" function (every difference is 0).
COMPARISONS = {"LayerComparison": "nfw-layer-comparison"}
#: Every other public widget class (the ``Explorer`` base is not shown on its own).
WIDGETS = [name for name in widgets.__all__ if name not in ("Explorer", *COMPARISONS)]


@pytest.fixture(scope="module")
def voila(tmp_path_factory: pytest.TempPathFactory) -> Iterator[bh.Server]:
    folder = tmp_path_factory.mktemp("voila")
    cells = ["import torch\nimport nfwidgets\ntorch.manual_seed(0)"]
    for name in WIDGETS:
        # the dashboard trains a few steps, so its loss plot has a curve to draw
        train = "w.step(20)\n" if name == "TrainingDashboard" else ""
        cells.append(f"w = nfwidgets.widgets.{name}()\n{train}w")
    for name in COMPARISONS:
        cells.append("ref = nfwidgets.Planar([2.0, 0.5], [-2.5, 1.0], 0.5).double()\n"
                     f"nfwidgets.widgets.{name}(ref.forward, ref)")
    bh.write_notebook(folder / "explorers.ipynb", cells)
    with bh.voila_server(folder) as server:
        yield server


def test_every_explorer_renders_and_responds_in_voila(voila: bh.Server, browser: object,
                                                      ) -> None:
    page = bh.new_page(browser)
    try:
        # Voilà runs the notebook before the page loads: wait on the widgets, not on "load"
        page.goto(voila.url("voila/render/explorers.ipynb"), wait_until="commit")
        voila.remember_children()
        page.locator(bh.EXPLORERS).nth(len(WIDGETS) - 1).wait_for(timeout=VOILA_TIMEOUT_MS)
        for css in COMPARISONS.values():
            page.locator(f".{css}").wait_for(timeout=VOILA_TIMEOUT_MS)
        bh.wait_widgets_rendered(page, min_figures=len(WIDGETS), timeout_ms=VOILA_TIMEOUT_MS)
        assert_no_errors(page, "voila")
        shown = page.locator(bh.EXPLORERS).count()
        assert shown == len(WIDGETS), f"Voilà shows {shown} of the {len(WIDGETS)} widgets"
        assert assert_figures_drawn(page, "voila") >= len(WIDGETS) + 6 * len(COMPARISONS)
        moves = assert_explorers_respond(page, "voila")
        assert len(moves) == len(WIDGETS), moves
        assert_no_errors(page, "voila")
    finally:
        page.close()
