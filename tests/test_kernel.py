"""``nfwidgets.tune_kernel``: opt-in, does what it says, idempotent; widgets never call it."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys

import pytest
import torch

from nfwidgets.kernel import MALLOC_SETTINGS, tune_kernel

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# Records every mallopt call made through ctypes and every torch.set_num_threads call.
SPY = """
import ctypes, torch
calls = []
class _CDLL(ctypes.CDLL):
    def __getattr__(self, name):
        f = super().__getattr__(name)
        if name != "mallopt":
            return f
        def mallopt(*args):
            calls.append(("mallopt",) + args)
            return f(*args)
        mallopt.argtypes = mallopt.restype = None
        return mallopt
ctypes.CDLL = _CDLL
_set = torch.set_num_threads
torch.set_num_threads = lambda n: (calls.append(("threads", n)), _set(n))[1]
"""


def _run(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", SPY + code], capture_output=True, text=True,
                         env=env, timeout=300, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_building_and_redrawing_widgets_touch_neither_threads_nor_malloc() -> None:
    code = """
import nfwidgets
before = torch.get_num_threads()
for w in (nfwidgets.PlanarExplorer(resolution=16, redraw_delay=0),
          nfwidgets.RadialExplorer(resolution=16, redraw_delay=0),
          nfwidgets.CouplingExplorer(resolution=16, redraw_delay=0),
          nfwidgets.FlowBuilder(resolution=16, redraw_delay=0),
          nfwidgets.ChangeOfVariables1D(redraw_delay=0)):
    w.redraw()
    next(c for c in w.controls.values() if hasattr(c, "step")).value += 0.1
print(calls, torch.get_num_threads() == before)
"""
    assert _run(code) == "[] True"


@pytest.mark.skipif(not GLIBC, reason="the allocator settings are glibc's")
def test_tune_kernel_sets_malloc_once_and_says_so() -> None:
    code = f"""
from nfwidgets import tune_kernel
first = tune_kernel(threads=None)
second = tune_kernel(threads=None)
print(first == {{"malloc": {MALLOC_SETTINGS!r}}}, second,
      len([c for c in calls if c[0] == "mallopt"]))
"""
    assert _run(code) == "True {} 2"


def test_tune_kernel_without_malloc_leaves_the_allocator_alone() -> None:
    assert _run("from nfwidgets import tune_kernel\n"
                "print(tune_kernel(threads=None, malloc=False), calls)") == "{} []"


@pytest.fixture()
def threads_restored():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_threads_are_set_reported_and_idempotent(threads_restored: None) -> None:
    torch.set_num_threads(2)
    assert tune_kernel(threads=1, malloc=False) == {"threads": (2, 1)}
    assert torch.get_num_threads() == 1
    assert tune_kernel(threads=1, malloc=False) == {}
    assert tune_kernel(threads=None, malloc=False) == {} and torch.get_num_threads() == 1


@pytest.mark.parametrize("bad", [0, -1, 1.0, True, "1"])
def test_bad_thread_counts_are_refused_by_name(bad: object, threads_restored: None) -> None:
    before = torch.get_num_threads()
    pattern = rf"threads must be a positive integer ≤ 1024 or None; got {re.escape(repr(bad))}"
    with pytest.raises(ValueError, match=pattern):
        tune_kernel(threads=bad, malloc=False)  # type: ignore[arg-type]
    assert torch.get_num_threads() == before


def test_bad_malloc_flag_is_refused() -> None:
    with pytest.raises(ValueError, match="malloc must be True or False; got 1"):
        tune_kernel(threads=None, malloc=1)  # type: ignore[arg-type]
