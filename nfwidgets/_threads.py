"""Run a widget's redraw on a set number of torch intra-op threads, then restore the setting.

Why. A redraw is a few hundred elementwise torch ops on 40k–160k floats, one isolated slider
move at a time, with the kernel asleep in between. With torch's default thread pool, every
parallel op must first wake the pool's sleeping worker thread (and on a machine whose cores are
busy with the browser, the worker is often not scheduled at once). Measured here, kernel alone
(2 cores; the 8-layer ``FlowBuilder`` at 200², editing layer 5; compute of one frame, p50 of 35
moves, two runs each): with moves 0.4 s apart, torch's default 2 threads took 19.6 and 12.5 ms,
one thread 9.8 and 9.0 ms; back to back (a drag), 7.5 and 7.2 against 6.4 and 6.7 ms. With the
notebook left at 2 threads and this module in place, 9.4 and 8.7 ms. In JupyterLab under
headless Chromium, slider → pixels (p50 of 40 interleaved moves, left and right by turns):
53.1 against 49.6 ms in one run and 57.0 against 53.1 ms in another, a difference inside that
benchmark's noise.

So the explorers draw on one thread (``compute_threads = 1``) whatever the notebook has set,
and put the learner's setting back afterwards: training code in the same kernel keeps its own.
Setting the count costs well under a microsecond.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["torch_threads"]


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Within the block, torch uses ``n`` intra-op threads (``None``: leave the setting alone);
    the previous count is restored on exit, also after an error."""
    if n is None:
        yield
        return
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of torch threads must be an integer ≥ 1 or None; got {n!r}")
    before = torch.get_num_threads()
    if before == n:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
