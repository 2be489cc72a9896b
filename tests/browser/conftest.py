"""Fixtures for the real-browser tests: a JupyterLab server on a copy of the lessons and a
headless Chromium, one of each per test module, always shut down (also on failure).

The browser tests run in the test command (``bash scripts/test.sh``). If Chromium or Playwright
is missing they FAIL with the reason; set ``NFW_SKIP_BROWSER=1`` to skip them on a machine where
you cannot install Chromium (never in CI).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .checks import LESSONS, bh


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("NFW_SKIP_BROWSER", "") not in ("", "0"):
        skip = pytest.mark.skip(reason="NFW_SKIP_BROWSER is set: real-browser tests skipped")
        here = Path(__file__).parent
        for item in items:
            if here in Path(str(item.fspath)).parents:
                item.add_marker(skip)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Chromium context (fresh profile)."""
    try:
        bh.chromium_path()
        import playwright  # noqa: F401
    except (bh.HarnessError, ImportError) as err:
        pytest.fail(f"real-browser tests cannot start: {err}. `bash scripts/test.sh` installs "
                    "Chromium (apt) and Playwright (pip); set NFW_SKIP_BROWSER=1 to skip them "
                    "locally.", pytrace=False)
    with bh.chromium() as context:
        yield context


@pytest.fixture(scope="module")
def lesson_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of lessons/ (JupyterLab autosaves outputs; the lessons stay output-free)."""
    target = tmp_path_factory.mktemp("lessons") / "lessons"
    shutil.copytree(LESSONS, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return target


@pytest.fixture(scope="module")
def lab(lesson_copy: Path) -> Iterator[bh.Server]:
    """JupyterLab serving the lesson copy (127.0.0.1, free port, token, throwaway dirs)."""
    with bh.lab_server(lesson_copy) as server:
        yield server
