"""The README's code samples run as printed, and its first screen is the teacher's path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: What a reader sees without scrolling far: the pitch, the commands, Binder, the lesson table.
FIRST_SCREEN_LINES = 40
BINDER_PATH = "lab/tree/lessons/00_start_here.ipynb"


def lesson_table(text: str) -> tuple[int, list[str]]:
    """(line number of the header, rows) of the first Markdown table whose header names a
    lesson."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        cells = [c.strip().lower() for c in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and "lesson" in cells:
            rows = []
            for row in lines[i + 2:]:
                if not row.lstrip().startswith("|"):
                    break
                rows.append(row)
            return i, rows
    raise AssertionError("the README has no table with a 'lesson' column")


def test_readme_python_blocks_run(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 2
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert 0.95 < namespace["grid"].mass <= 1.0
    assert namespace["vi"].free_energy() >= -namespace["energy"]("U1").log_z - 0.05
    assert namespace["fit"].step_count == 200
    assert namespace["dash"].trainer.step_count == 100 and namespace["dash"].last_frame is not None
    namespace["dash"].close()


def test_readme_names_the_two_commands_that_ci_runs() -> None:
    text = README.read_text()
    assert "bash scripts/lab.sh" in text and "bash scripts/test.sh" in text
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/test.sh" in ci


def test_first_screen_is_for_teachers() -> None:
    text = README.read_text()
    first = "\n".join(text.splitlines()[:FIRST_SCREEN_LINES])
    assert "bash scripts/lab.sh" in first and "bash scripts/test.sh" in first
    assert "mybinder.org" in first and BINDER_PATH in first
    assert first.count("![") == 1, "the first screen shows exactly one screenshot"
    shot = re.search(r"!\[[^\]]*\]\(([^)]+)\)", first)
    assert shot is not None and (ROOT / shot.group(1)).is_file()
    header, rows = lesson_table(text)
    assert header < FIRST_SCREEN_LINES, f"the lesson table starts on line {header + 1}"
    assert rows


def test_every_lesson_has_a_row_in_the_lesson_table() -> None:
    _, rows = lesson_table(README.read_text())
    linked = {m for row in rows for m in re.findall(r"\((lessons/[^)]+\.ipynb)\)", row)}
    shipped = {p.relative_to(ROOT).as_posix() for p in sorted((ROOT / "lessons").glob("*.ipynb"))}
    assert shipped, "no lessons found"
    assert not shipped - linked, f"lessons without a row in the README: {sorted(shipped - linked)}"
    assert not linked - shipped, f"rows for lessons that do not exist: {sorted(linked - shipped)}"


def test_readme_links_point_to_files_that_exist() -> None:
    targets = re.findall(r"\]\(([^)#\s]+)\)", README.read_text())
    missing = [t for t in targets if "://" not in t and not (ROOT / t).exists()]
    assert not missing, f"README links to missing files: {missing}"
