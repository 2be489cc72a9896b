"""When the TrainingDashboard redraws after a control change: its redraw scheduling, in one place.

While Play runs, a change only marks the picture dirty (the training loop redraws at its next
chunk); otherwise a burst of changes is gathered for ``redraw_delay`` seconds on the event loop
and drawn once (at once without a loop or with a zero delay: ``ControlsMixin._deferred_loop``).
"""

from __future__ import annotations

import asyncio

__all__ = ["RedrawScheduling"]


class RedrawScheduling:
    """Mixin: ``request_redraw`` and the pending timer. The widget provides ``redraw()``,
    ``playing``, ``_quiet``, ``_closed``, ``redraw_delay`` and ``_deferred_loop()``."""

    _pending: asyncio.TimerHandle | None = None
    _dirty: bool = False

    def request_redraw(self) -> None:
        """Redraw soon: while playing at the next chunk, else after ``redraw_delay`` (at once
        with no event loop or a zero delay)."""
        if self._quiet:
            return
        if self.playing:
            self._dirty = True
            return
        loop = self._deferred_loop()
        if loop is None or self._pending is not None:
            return
        self._pending = loop.call_later(self.redraw_delay, self._on_pending)

    def _on_pending(self) -> None:
        self._pending = None
        if not self._closed:
            self.redraw()

    def _redrawing(self) -> None:
        """A redraw is starting: nothing is pending any more."""
        self._dirty = False
        self._cancel_pending()

    def _cancel_pending(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
