"""``RedrawScheduler``: when a widget redraws, and how many pictures it has published.

Every nfwidgets widget asks one of these for its redraws (no ipywidgets here, only asyncio):

- **an isolated change is drawn at once, in full** (leading edge): a click, a key press, the
  first event of a drag — the first request after ``gap`` seconds without one, with no draw
  pending — is drawn before the request returns;
- **a burst coalesces to its last state**: later requests of the same gesture start one quick
  draw ``redraw_delay`` seconds after the first of them; requests arriving meanwhile are
  covered by it, since a draw reads the widget's state when it runs. Nothing queues up;
- **it settles**: ``settle`` seconds after the last request, one full draw follows if the last
  picture was a quick one (``settle=None``: no settle draw);
- **a frame counter**: ``frame`` counts the pictures published (draws that returned True), for
  browser tests that wait for a picture instead of sleeping.

Without a running asyncio event loop (tests, scripts), or with ``redraw_delay`` 0, every
request draws at once, in full. ``draw(full)`` is the widget's callback: ``full`` False asks
for the quick (coarse) picture of a gesture; it returns True when it published a picture
(False: an error was shown instead and the last picture kept).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .._checks import shown

__all__ = ["RedrawScheduler"]


class RedrawScheduler:
    """Decides when ``draw`` runs; see the module docstring.

    Arguments:
        draw: ``draw(full: bool) -> bool`` (True: a picture was published).
        redraw_delay: seconds a burst is gathered into one quick draw (≥ 0; 0: always at once).
        gap: a request this long after the previous one starts a new gesture.
        settle: seconds after the last request before a full draw replaces a quick one.
        clock: monotonic seconds (tests may pass their own).
    """

    def __init__(self, draw: Callable[[bool], bool], *, redraw_delay: float = 0.03,
                 gap: float = 0.25, settle: float | None = 0.3,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        for name, value in (("redraw_delay", redraw_delay), ("gap", gap), ("settle", settle)):
            if value is None and name == "settle":
                continue
            if not (isinstance(value, int | float) and not isinstance(value, bool)
                    and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number ≥ 0 (seconds); got {shown(value)}")
        self._draw = draw
        self.redraw_delay, self.gap, self.settle = float(redraw_delay), float(gap), settle
        self._clock = clock
        self._last_request = -math.inf
        self._pending: asyncio.TimerHandle | None = None
        self._settling: asyncio.TimerHandle | None = None
        self._held = 0
        self._held_dirty = False
        self._muted = 0
        self._closed = False
        #: Pictures published so far.
        self.frame = 0
        #: Whether the last published picture was a full one.
        self.last_full = False

    # --- requests --------------------------------------------------------------------------
    def request(self) -> None:
        """The widget's state changed: redraw now or soon (see the module docstring)."""
        if self._closed or self._muted:
            return
        if self._held:
            self._held_dirty = True
            return
        now = self._clock()
        isolated = now - self._last_request >= self.gap
        self._last_request = now
        loop = self._running_loop()
        if loop is None or self.redraw_delay <= 0 or (isolated and self._pending is None):
            self.now()
            return
        if self._pending is None:
            self._pending = loop.call_later(self.redraw_delay, self._quick)
        if self.settle is not None:
            if self._settling is not None:
                self._settling.cancel()
            self._settling = loop.call_later(self.settle, self._settled)

    def now(self, full: bool = True) -> bool:
        """Draw at once (a pending quick draw is dropped: this one shows the same state);
        True if a picture was published."""
        self._cancel_pending()
        published = bool(self._draw(full))
        if published:
            self.frame += 1
            self.last_full = full
        return published

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Requests inside the block become one request at its end (one action, one frame)."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
        if self._held == 0 and self._held_dirty:
            self._held_dirty = False
            self.request()

    @contextmanager
    def mute(self) -> Iterator[None]:
        """Requests inside the block are dropped (the caller draws once afterwards)."""
        self._muted += 1
        try:
            yield
        finally:
            self._muted -= 1

    def close(self) -> None:
        """Cancel pending draws; later requests do nothing."""
        self._closed = True
        self._cancel_pending()
        if self._settling is not None:
            self._settling.cancel()
            self._settling = None

    # --- timers ----------------------------------------------------------------------------
    @staticmethod
    def _running_loop() -> asyncio.AbstractEventLoop | None:
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            return None

    def _cancel_pending(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def _quick(self) -> None:
        self._pending = None
        if not self._closed:
            self.now(full=self.settle is None)

    def _settled(self) -> None:
        self._settling = None
        if not self._closed and self._pending is None and not self.last_full:
            self.now()
