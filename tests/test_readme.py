"""The README's code samples run as printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


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
    ci = (README.parent / ".ci" / "run").read_text()
    assert "scripts/test.sh" in ci
