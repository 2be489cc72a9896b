"""Print what the contract test covered (closing notes quote these counts)."""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter: object) -> None:
    from .test_contract import TALLY

    if TALLY["bad values tried"]:
        terminalreporter.write_line(
            "bad-input contract: " + ", ".join(f"{v} {k}" for k, v in TALLY.items()))
