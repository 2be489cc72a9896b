"""nfwidgets._allocator: glibc malloc thresholds set once when a widget is built."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

CODE = """
import nfwidgets._allocator as a
first = a.tune_allocator()
print(first, a.tune_allocator() == first)
"""


def _run(code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "NFWIDGETS_KEEP_MALLOC"} | env
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=environ, timeout=120, check=True)
    return out.stdout.strip()


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's")
def test_thresholds_are_set_once_on_glibc() -> None:
    assert _run(CODE) == "True True"


def test_opt_out_leaves_the_allocator_alone() -> None:
    assert _run(CODE, NFWIDGETS_KEEP_MALLOC="1") == "False True"


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's")
def test_building_a_widget_sets_them() -> None:
    code = ("import nfwidgets._allocator as a\n"
            "before = dict(a._state)\n"
            "from nfwidgets import PlanarExplorer\n"
            "PlanarExplorer(resolution=16, n_samples=0)\n"
            "print(before, a._state)")
    assert _run(code) == "{} {'done': True}"
