"""Notebook 7 (``jupyter notebook``, what many JupyterHubs give students) driven by Chromium.

The server is ``browser_harness.Server`` with ``kind="notebook"`` (127.0.0.1, free port, token,
throwaway config / data / runtime / settings folders); this module holds what differs from
JupyterLab on the page: one notebook per page at ``/notebooks/<name>``, no status bar (the kernel
state is read from the app, exposed with ``expose_app_in_browser``), and the checks the tests make
after "Run All Cells"::

    with notebook_server(folder) as server, bh.chromium() as context:
        page = open_notebook(context, server, "02_planar_flows.ipynb")
        run_all(page)
        errors = untagged_errors(page, folder / "02_planar_flows.ipynb")

Waits are on the page (``wait_for_function``), never on a clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import browser_harness as bh

__all__ = ["ALLOWED_RAISES", "KNOWN_PAGE_ERRORS", "NAN_READOUTS", "RAISES_TAG",
           "nan_readouts", "notebook_server", "open_notebook", "raising_cells", "run_all",
           "untagged_errors"]

#: The cell tag that says "this cell raises by design" (an unsolved exercise's check): Jupyter
#: keeps running the cells after it, nbval and nbgrader accept its error.
RAISES_TAG = "raises-exception"
#: What a tagged cell may raise: a failed check (``CheckFailed`` renders as "✗ …") or the
#: exceptions an unsolved exercise stands for. Anything else (a NameError, a TypeError in the
#: lesson's own code) is a bug, tag or no tag.
ALLOWED_RAISES = ("✗", "AssertionError", "NotImplementedError")
#: Page errors of Notebook 7's own front end, raised while the page loads, before any cell runs:
#: the keyboard-shortcuts plugin reads the settings schema of a plugin that is not registered yet
#: (Notebook 7.6.5; also with every third-party extension disabled).
KNOWN_PAGE_ERRORS = ("pageerror: cannot read properties of undefined (reading 'schema')",)
#: Where a widget shows numbers: slider readouts, the explorers' readout / status lines, HTML and
#: label widgets, the figures' tick labels.
NAN_READOUTS = (".widget-readout, .nfw-readout, .nfw-status, .nfw-message, .nfw-frame, "
                ".widget-html-content, .widget-label, .bqplot.figure .tick text")

_KERNEL_IDLE_JS = """() => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = panel && panel.sessionContext && panel.sessionContext.session
        && panel.sessionContext.session.kernel;
    const ind = document.querySelector('.jp-Notebook-ExecutionIndicator');
    return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle'
        && !!ind && ind.getAttribute('data-status') === 'idle';
}"""


@contextmanager
def notebook_server(root: Path | str) -> Iterator[bh.Server]:
    """A Notebook 7 server on ``root``; notebooks are at ``/notebooks/<name>.ipynb``."""
    with bh.Server(Path(root).resolve(), "notebook") as server:
        yield server


def open_notebook(context: object, server: bh.Server, name: str) -> object:
    """Open ``name`` in Notebook 7; return the page once its kernel is connected and idle."""
    page = bh.new_page(context)
    page.goto(server.url(f"notebooks/{name}"))
    page.wait_for_function(_KERNEL_IDLE_JS, polling=100)
    server.remember_children()
    return page


def run_all(page: object, tagged: list[int] | tuple[int, ...] = (),
            timeout_ms: int = bh.PAGE_TIMEOUT_MS) -> None:
    """Run → Run All Cells (Notebook 7's menu), then wait until every code cell has run and the
    kernel is idle. Run All does not stop at a cell tagged ``raises-exception`` (``tagged``: their
    indices); it stops at any other error, and then the wait ends there."""
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.wait_for_function(
        f"""(tagged) => {{
            if (!({_KERNEL_IDLE_JS})()) return false;
            const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
            const ran = (cell) => {{
                const code = cell.querySelector('.jp-InputArea-editor .cm-content');
                const prompt = cell.querySelector('.jp-InputArea-prompt');
                return (code && code.textContent.trim() === '')
                    || /\\[\\d+\\]/.test(prompt ? prompt.textContent : '');
            }};
            const failed = cells.findIndex((cell, i) => !tagged.includes(i)
                && cell.querySelector('{bh.ERROR_OUTPUT}'));
            const code = cells.filter(c => c.classList.contains('jp-CodeCell'));
            return failed >= 0 || code.every(ran);
        }}""", arg=list(tagged), timeout=timeout_ms, polling=200)


def raising_cells(notebook: Path) -> list[int]:
    """Indices (among all cells) of the cells tagged ``raises-exception``."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    return [i for i, cell in enumerate(nb.cells) if RAISES_TAG in cell.metadata.get("tags", [])]


def _cell_errors(page: object) -> list[tuple[int, str]]:
    """(cell index, text) of every error / stderr output, by cell."""
    return page.evaluate(
        """(sel) => [...document.querySelectorAll('.jp-Notebook .jp-Cell')].flatMap((c, i) =>
            [...c.querySelectorAll(sel)].map(e => [i, e.innerText]))""", bh.ERROR_OUTPUT)


def untagged_errors(page: object, notebook: Path) -> tuple[list[str], list[int]]:
    """The error outputs that count: every error / stderr output of a cell not tagged
    ``raises-exception``, a tagged cell's error that is not a failed check (``ALLOWED_RAISES``),
    every widget that failed to display. Also returns the tagged cells that did raise."""
    tagged = set(raising_cells(notebook))
    bad, raised = [], []
    for index, text in _cell_errors(page):
        if index in tagged and any(a in text for a in ALLOWED_RAISES):
            raised.append(index)
        else:
            where = "tagged " if index in tagged else ""
            bad.append(f"{where}cell {index}: {text}")
    widgets = [e for e in bh.error_outputs(page) if e.startswith("widget: ")]
    return bad + widgets, sorted(set(raised))


def nan_readouts(page: object) -> list[str]:
    """The widget readouts (``NAN_READOUTS``) that show NaN."""
    return page.evaluate(
        """(sel) => [...document.querySelectorAll(sel)]
            .map(e => (e.innerText || e.textContent || '').trim())
            .filter(t => /(^|[^A-Za-z])nan([^A-Za-z]|$)/i.test(t))""", NAN_READOUTS)
