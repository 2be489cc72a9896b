"""``tune_kernel``: an opt-in call that tunes the whole Python process for interactive redraws.

nfwidgets never calls it: building or redrawing a widget leaves torch's thread count and the C
allocator as the notebook set them. A learner (or a teacher's first cell) may call it once:

>>> import nfwidgets
>>> nfwidgets.tune_kernel()            # doctest: +SKIP
{'threads': (2, 1), 'malloc': {'M_MMAP_THRESHOLD': 33554432, 'M_TRIM_THRESHOLD': 67108864}}

Both settings are **process-wide**: they also apply to any training or other torch code run in
the same kernel, until the kernel restarts.

- ``threads``: ``torch.set_num_threads(threads)``. A redraw is a few hundred small elementwise
  ops, one slider move at a time; with one intra-op thread no sleeping worker thread has to be
  woken for each op.
- ``malloc`` (Linux with glibc only; elsewhere nothing is done): ``mallopt`` keeps freed heap
  mapped between redraws instead of returning it to the operating system and faulting it in
  again. ``M_MMAP_THRESHOLD`` = 32 MiB (the largest value glibc's own dynamic threshold
  reaches on 64-bit) and ``M_TRIM_THRESHOLD`` = 64 MiB. glibc cannot undo this short of a
  restart.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import sys

import torch

from ._checks import check_count, check_flag

__all__ = ["MALLOC_SETTINGS", "MAX_THREADS", "tune_kernel"]

#: The most intra-op threads ``tune_kernel`` sets (far above any machine a lesson runs on).
MAX_THREADS = 1024

#: glibc ``mallopt`` parameter numbers (``<malloc.h>``).
_MALLOPT_PARAMS = {"M_TRIM_THRESHOLD": -1, "M_MMAP_THRESHOLD": -3}
#: The values ``tune_kernel(malloc=True)`` sets.
MALLOC_SETTINGS = {"M_MMAP_THRESHOLD": 32 << 20, "M_TRIM_THRESHOLD": 64 << 20}

_malloc_done: list[bool] = []  # set once per process (glibc has no way to read them back)


def _set_malloc() -> dict[str, int]:
    """Apply ``MALLOC_SETTINGS`` with glibc's ``mallopt``; what was set ({} if not glibc)."""
    if _malloc_done:
        return {}
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return {}
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return {}
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    done = {name: value for name, value in MALLOC_SETTINGS.items()
            if mallopt(_MALLOPT_PARAMS[name], value) == 1}  # mallopt returns 1 on success
    _malloc_done.append(True)
    return done


def tune_kernel(threads: int | None = 1, malloc: bool = True) -> dict[str, object]:
    """Change process-wide settings for quick redraws; returns what this call changed.

    Arguments:
        threads: torch intra-op threads (``torch.set_num_threads``), an integer in
            [1, ``MAX_THREADS``]; ``None`` leaves them.
        malloc: set glibc's ``MALLOC_SETTINGS`` (Linux/glibc only).

    Returns:
        ``{"threads": (before, after)}`` if the thread count changed, and ``{"malloc": {name:
        value}}`` for the allocator settings made by this call. Idempotent: a second identical
        call changes nothing and returns ``{}``.
    """
    threads = check_count("threads", threads, owner="tune_kernel", hi=MAX_THREADS, optional=True)
    malloc = check_flag("malloc", malloc, owner="tune_kernel")
    changed: dict[str, object] = {}
    if threads is not None:
        before = torch.get_num_threads()
        if before != threads:
            torch.set_num_threads(threads)
            changed["threads"] = (before, threads)
    if malloc:
        done = _set_malloc()
        if done:
            changed["malloc"] = done
    return changed
