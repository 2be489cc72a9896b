"""Every lesson in a real JupyterLab in headless Chromium: Run All, no errors, every figure
drawn and not blank, every explorer redraws when a slider moves, no console errors."""

from __future__ import annotations

import pytest

from .checks import (
    LESSONS,
    assert_explorers_respond,
    assert_figures_drawn,
    assert_no_errors,
    bh,
    cells,
)

LESSON_NAMES = sorted(p.name for p in LESSONS.glob("*.ipynb"))


@pytest.mark.parametrize("name", LESSON_NAMES, ids=[n.removesuffix(".ipynb")
                                                      for n in LESSON_NAMES])
def test_lesson_runs_renders_and_responds(name: str, lab: bh.Server, browser: object) -> None:
    page = bh.open_notebook(browser, lab, name)
    try:
        bh.run_all(page, cells.raising_cells(LESSONS / name))
        assert_no_errors(page, name, LESSONS / name)
        bh.wait_widgets_rendered(page)
        assert_figures_drawn(page, name)
        assert_explorers_respond(page, name)
        assert_no_errors(page, name, LESSONS / name)
    finally:
        page.close()
        lab.shutdown_kernels()
