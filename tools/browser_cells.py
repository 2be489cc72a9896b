"""The cells of a notebook page (JupyterLab and Notebook 7 share the DOM): which cells may
raise by design, and which error outputs count.

A cell tagged ``raises-exception`` is an unsolved exercise's check: Jupyter's Run All keeps going
after it, nbval and nbgrader accept its error. Its error counts only if it is not a failed check.
"""

from __future__ import annotations

from pathlib import Path

import browser_harness as bh

__all__ = ["ALLOWED_RAISES", "RAISES_TAG", "cell_errors", "raising_cells", "untagged_errors"]

#: The cell tag that says "this cell raises by design" (an unsolved exercise's check).
RAISES_TAG = "raises-exception"
#: What a tagged cell may raise: a failed check (``CheckFailed`` renders as "✗ …") or the
#: exceptions an unsolved exercise stands for. Anything else (a NameError, a TypeError in the
#: lesson's own code) is a bug, tag or no tag.
ALLOWED_RAISES = ("✗", "AssertionError", "NotImplementedError")


def raising_cells(notebook: Path) -> list[int]:
    """Indices (among all cells) of the cells tagged ``raises-exception``."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    return [i for i, cell in enumerate(nb.cells) if RAISES_TAG in cell.metadata.get("tags", [])]


def cell_errors(page: object) -> list[tuple[int, str]]:
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
    for index, text in cell_errors(page):
        if index in tagged and any(a in text for a in ALLOWED_RAISES):
            raised.append(index)
        else:
            where = "tagged " if index in tagged else ""
            bad.append(f"{where}cell {index}: {text}")
    widgets = [e for e in bh.error_outputs(page) if e.startswith("widget: ")]
    return bad + widgets, sorted(set(raised))
