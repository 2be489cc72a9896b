"""Every lesson in Notebook 7 (``jupyter notebook``, what many JupyterHubs give students), in
headless Chromium: Run → Run All Cells, the widgets render, no error output except from the
cells tagged ``raises-exception`` (an unsolved exercise's check fails by design), no NaN in any
readout, no console error. One server and one browser for all lessons; each lesson's Run All
time is printed at the end (``docs/teaching.md`` quotes them)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .checks import LESSONS, assert_figures_drawn, bh, cells, nb7

LESSON_NAMES = sorted(p.name for p in LESSONS.glob("*.ipynb"))

#: A notebook that breaks every rule the lesson test checks, once each (cell index → what).
SELF_CHECK = [
    "print('fine')",
    # 1, tagged: an unsolved exercise's check fails by design
    "from nfwidgets.check import CheckFailed\nraise CheckFailed('expected 1.0, got 2.0')",
    "undefined_name_in_the_lesson",  # 2, tagged, but a bug, not a failed check
    "import sys\nprint('a warning', file=sys.stderr)",  # 3
    # 4: a readout and a slider's typed box (an <input>) showing NaN
    "import ipywidgets\nbox = ipywidgets.Text('nan')\nbox.add_class('nfw-typed')\n"
    "ipywidgets.HBox([ipywidgets.Label('ln q = nan'), box])",
    "raise ValueError('boom')",  # 5: Run All stops here
    "print('not reached')",
]


@pytest.fixture(scope="module")
def notebook7(lesson_copy: Path) -> Iterator[bh.Server]:
    """Notebook 7 serving the lesson copy (127.0.0.1, free port, token, throwaway dirs)."""
    with nb7.notebook_server(lesson_copy) as server:
        yield server


@pytest.fixture(scope="module")
def run_times(request: pytest.FixtureRequest) -> Iterator[dict[str, tuple[float, int]]]:
    """By lesson: seconds from "Run All Cells" to the last cell done, and how many tagged
    cells raised (unsolved exercise checks); printed at the end."""
    times: dict[str, tuple[float, int]] = {}
    yield times
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if not times or reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line("Notebook 7, Run All Cells → every cell done (s); tagged cells "
                            "that raised:")
        for name, (seconds, raised) in times.items():
            reporter.write_line(f"  {name:32s} {seconds:6.1f}  {raised}")
        total = sum(seconds for seconds, _ in times.values())
        reporter.write_line(f"  {'total':32s} {total:6.1f}")


@pytest.mark.parametrize("name", LESSON_NAMES, ids=[n.removesuffix(".ipynb")
                                                      for n in LESSON_NAMES])
def test_lesson_runs_in_notebook7(name: str, notebook7: bh.Server, lesson_copy: Path,
                                  browser: object, run_times: dict[str, tuple[float, int]]) -> None:
    tagged = cells.raising_cells(lesson_copy / name)
    page = nb7.open_notebook(browser, notebook7, name)
    try:
        start = time.perf_counter()
        nb7.run_all(page, tagged)
        seconds = time.perf_counter() - start
        errors, raised = cells.untagged_errors(page, lesson_copy / name)
        run_times[name.removesuffix(".ipynb")] = (seconds, len(raised))
        assert not errors, f"{name} in Notebook 7: error outputs:\n" + "\n---\n".join(errors)
        bh.wait_widgets_rendered(page)
        shown = (assert_figures_drawn(page, f"{name} (Notebook 7)")
                 + page.locator(bh.EXPLORERS).count())
        assert shown > 0, f"{name} in Notebook 7 shows no figure and no widget"
        nans = nb7.nan_readouts(page)
        assert not nans, f"{name} in Notebook 7: readouts show NaN: {nans}"
        console = bh.console_errors(page, bh.HARMLESS_CONSOLE + nb7.KNOWN_PAGE_ERRORS)
        assert not console, f"{name} in Notebook 7: console errors:\n" + "\n".join(console)
    finally:
        page.close()
        notebook7.shutdown_kernels()


def test_notebook7_checks_catch_what_they_should(notebook7: bh.Server, lesson_copy: Path,
                                                 browser: object) -> None:
    path = bh.write_notebook(lesson_copy / "zz_self_check.ipynb", SELF_CHECK)
    import nbformat

    book = nbformat.read(path, as_version=4)
    for index in (1, 2):
        book.cells[index].metadata["tags"] = [cells.RAISES_TAG]
    nbformat.write(book, path)
    assert cells.raising_cells(path) == [1, 2]
    page = nb7.open_notebook(browser, notebook7, path.name)
    try:
        nb7.run_all(page, [1, 2])  # returns although the last cell never runs
        errors, raised = cells.untagged_errors(page, path)
        assert raised == [1]
        assert [e.split(":", 1)[0] for e in errors] == ["tagged cell 2", "cell 3", "cell 5"]
        assert "NameError" in errors[0] and "a warning" in errors[1] and "boom" in errors[2]
        bh.wait_widgets_rendered(page)
        assert nb7.nan_readouts(page) == ["ln q = nan", "nan"]
    finally:
        page.close()
        notebook7.shutdown_kernels()
        path.unlink()
