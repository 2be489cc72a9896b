"""Lessons are stored clean, seeded, and every checked cell has a current reference output."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("lesson_outputs",
                                               ROOT / "tools" / "lesson_outputs.py")
lesson_outputs = importlib.util.module_from_spec(_spec)
sys.modules["lesson_outputs"] = lesson_outputs
_spec.loader.exec_module(lesson_outputs)

LESSONS = lesson_outputs.lesson_paths()


def test_there_are_lessons_and_they_are_numbered() -> None:
    assert LESSONS, "lessons/ holds no notebook"
    for path in LESSONS:
        if path.parent.name == "lessons":
            assert path.name[:2].isdigit() and path.name[2] == "_", path.name


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_is_stored_without_outputs_or_widget_state(path: Path) -> None:
    nb = json.loads(path.read_text())
    assert "widgets" not in nb.get("metadata", {}), "saved widget state"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"stored outputs in cell {cell.get('id')}"
            assert cell.get("execution_count") is None


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_is_seeded_and_checks_something(path: Path) -> None:
    text = path.read_text()
    assert "manual_seed" in text or "seed=" in text, "lesson sets no seed"
    nb = lesson_outputs.nbformat.read(path, as_version=4)
    assert lesson_outputs.checked_cells(nb), "lesson has no # NBVAL_CHECK_OUTPUT cell"


def test_every_checked_cell_has_a_current_reference(tmp_path: Path) -> None:
    problems = lesson_outputs.inject(tmp_path / "lessons")
    assert not problems, "\n".join(problems)
    for path in LESSONS:
        rel = path.relative_to(ROOT / "lessons")
        nb = lesson_outputs.nbformat.read(tmp_path / "lessons" / rel, as_version=4)
        for cell in lesson_outputs.checked_cells(nb):
            assert cell.outputs, f"{rel}: checked cell {cell.id} would be compared to nothing"
