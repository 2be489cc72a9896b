"""Notebook 7 (``jupyter notebook``, what many JupyterHubs give students) driven by Chromium.

The server is ``browser_harness.Server`` with ``kind="notebook"`` (127.0.0.1, free port, token,
throwaway config / data / runtime / settings folders); this module holds what differs from
JupyterLab on the page: one notebook per page at ``/notebooks/<name>``, no status bar (the kernel
state is read from the app, exposed with ``expose_app_in_browser``), and the checks the tests make
after "Run All Cells"::

    with notebook_server(folder) as server, bh.chromium() as context:
        page = open_notebook(context, server, "02_planar_flows.ipynb")
        run_all(page)
        errors = browser_cells.untagged_errors(page, folder / "02_planar_flows.ipynb")

Waits are on the page (``wait_for_function``), never on a clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import browser_harness as bh

__all__ = ["KNOWN_PAGE_ERRORS", "NAN_READOUTS", "nan_readouts", "notebook_server",
           "open_notebook", "run_all"]

#: Page errors of Notebook 7's own front end, raised while the page loads, before any cell runs:
#: the keyboard-shortcuts plugin reads the settings schema of a plugin that is not registered yet
#: (Notebook 7.6.5; also with every third-party extension disabled).
KNOWN_PAGE_ERRORS = ("pageerror: cannot read properties of undefined (reading 'schema')",)
#: Where a widget shows numbers: slider readouts, the boxes showing a slider's value
#: (``.nfw-typed``: an ``<input>``, read as its value), the explorers' readout / status lines,
#: HTML and label widgets, the figures' tick labels.
NAN_READOUTS = (".widget-readout, .nfw-typed input, .nfw-readout, .nfw-status, .nfw-message, "
                ".nfw-frame, .widget-html-content, .widget-label, .bqplot.figure .tick text")

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
    """Run → Run All Cells (``browser_harness.run_all``), with Notebook 7's kernel-idle test."""
    bh.run_all(page, tagged, timeout_ms, idle_js=_KERNEL_IDLE_JS)


def nan_readouts(page: object) -> list[str]:
    """The widget readouts (``NAN_READOUTS``) that show NaN."""
    return page.evaluate(
        """(sel) => [...document.querySelectorAll(sel)]
            .map(e => (e.tagName === 'INPUT' ? e.value
                       : e.innerText || e.textContent || '').trim())
            .filter(t => /(^|[^A-Za-z])nan([^A-Za-z]|$)/i.test(t))""", NAN_READOUTS)
