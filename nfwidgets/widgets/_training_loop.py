"""The TrainingDashboard's training loop: Step, synchronous ``train(n)``, and Play as an asyncio
task that trains in chunks and yields to the event loop between them.

Redraws are time-based and never touch the trainer's random generator, so the parameters after
N steps do not depend on how the steps were split or when the pictures were drawn.
"""

from __future__ import annotations

import asyncio
import threading
import time

import ipywidgets as W

from .._checks import check_count
from ..train import Trainer, TrainingDiverged

__all__ = ["MAX_STEPS", "TrainingLoop"]

#: The most steps one call (or Play) takes: a typo like 10**12 is refused, not run for days.
MAX_STEPS = 10**7


class TrainingLoop:
    """Mixin driving ``self.trainer``. The widget provides ``trainer`` (or ``None``),
    ``controls`` (with the buttons ``"play"`` and ``"pause"``), ``redraw(resolution)``,
    ``_hint(text)``, ``_show_error(err)``, ``_clear_error()``, a re-entrant ``_lock`` that
    every step holds (callbacks may run on another thread) and the settings ``_total`` (where
    Play stops), ``redraw_every``, ``redraw_share``, ``coarse_resolution``, ``chunk_seconds``."""

    trainer: Trainer | None
    controls: dict[str, W.Widget]
    redraw_every: float
    coarse_resolution: int
    redraw_share: float
    chunk_seconds: float
    _total: int
    _tasks: set[asyncio.Task]
    _lock: threading.RLock
    _closed: bool = False
    _dirty: bool = False
    _play_token: object | None = None
    _rate: float | None = None
    _diverged: str | None = None

    @property
    def history(self) -> list[float]:
        """The loss of every step so far."""
        return [] if self.trainer is None else self.trainer.history

    @property
    def playing(self) -> bool:
        """True while Play trains in the background."""
        return self._play_token is not None

    def _can_train(self) -> bool:
        if self.trainer is None:
            self._hint("Nothing to train on yet: click on the density plot to add points "
                       "(or call add_points(xy)).")
            return False
        return True

    def _advance(self, n: int, deadline: float | None = None) -> bool:
        """Take up to ``n`` steps (fewer if ``deadline`` passes); False if training stopped
        on an error (shown, training paused)."""
        trainer = self.trainer
        assert trainer is not None
        for _ in range(n):
            try:
                with self._lock:  # a callback on another thread waits for the step to end
                    trainer.step()
            except TrainingDiverged as err:
                self._on_error(str(err), diverged=True)
                return False
            except Exception as err:  # an engine error: shown, training paused
                self._on_error(f"{type(err).__name__}: {err}", diverged=False)
                return False
            if self._diverged is not None:
                self._diverged = None
                self._clear_error()
            if deadline is not None and time.perf_counter() >= deadline:
                break
        return True

    def _on_error(self, text: str, diverged: bool) -> None:
        self._stop()
        self._diverged = None
        self._show_error(RuntimeError(("Training paused. " if diverged else
                                       "Training stopped. ") + text))
        self._diverged = text  # sticky until a good step or a reset

    def step(self, n: int = 1) -> None:
        """Take ``n`` training steps now (synchronously; pauses Play first), then redraw."""
        n = check_count("step: n", n, lo=1, hi=MAX_STEPS)
        self._stop()
        if self._can_train():
            self._advance(n)
        self.redraw()

    def train(self, n: int) -> list[float]:
        """Take ``n`` steps now (synchronously), redrawing every ``redraw_every`` seconds and at
        the end; returns their losses (fewer if training stopped on an error)."""
        n = check_count("train: n", n, lo=1, hi=MAX_STEPS)
        self._stop()
        if not self._can_train():
            self.redraw()
            return []
        trainer = self.trainer
        start = trainer.step_count
        t0 = time.perf_counter()
        due = t0 + self.redraw_every
        while trainer.step_count - start < n:
            if not self._advance(n - (trainer.step_count - start), due):
                break
            if time.perf_counter() >= due and trainer.step_count - start < n:
                due = self._live_redraw(start, t0)
        self._live_redraw(start, t0, final=True)
        return trainer.history[start:]

    def _live_redraw(self, start_step: int, t0: float, final: bool = False) -> float:
        """Redraw while training (steps/s since ``t0``) on the coarse grid (the full one when
        ``final``); returns when the next redraw is due: ``redraw_every`` later, or later still
        if redrawing took more than ``redraw_share`` of the time."""
        now = time.perf_counter()
        trainer = self.trainer
        if trainer is not None:
            self._rate = (trainer.step_count - start_step) / max(now - t0, 1e-9)
        self.redraw(None if final else self.coarse_resolution)
        end = time.perf_counter()
        return now + max(self.redraw_every, (end - now) / self.redraw_share)

    def play(self) -> None:
        """Train in the background until ``steps``: an asyncio task on the running event loop
        (the kernel's), in chunks of ``chunk_seconds``, redrawing every ``redraw_every``."""
        if self.playing or not self._can_train():
            return
        if self.trainer.step_count >= self._total:
            self._hint(f"Reached {self._total} steps: raise “steps” to train further.")
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError("Play needs a running event loop (a Jupyter kernel has one); "
                               "in a script call train(n)") from None
        token = object()
        self._play_token = token
        task = loop.create_task(self._play(token))
        self._tasks.add(task)  # a strong reference while it runs
        task.add_done_callback(self._tasks.discard)
        self._update_buttons()

    async def _play(self, token: object) -> None:
        trainer = self.trainer
        assert trainer is not None
        t0 = time.perf_counter()
        due = t0 + self.redraw_every
        start = trainer.step_count
        ok = True
        while self._play_token is token and trainer.step_count < self._total:
            ok = self._advance(self._total - trainer.step_count,
                               min(time.perf_counter() + self.chunk_seconds, due))
            if not ok:
                break
            if self._dirty or time.perf_counter() >= due:
                due = self._live_redraw(start, t0)
            await asyncio.sleep(0)  # let the kernel handle clicks and slider moves
        if self._closed or not (self._play_token is token or not ok):
            return  # paused, reset or closed: whoever stopped it has redrawn
        # finished, or stopped on an error (_advance has shown it)
        self._stop()
        self._live_redraw(start, t0, final=True)

    def pause(self) -> None:
        """Stop Play after the current step (the picture shows where it stopped)."""
        if self._stop():
            self.redraw()

    def _stop(self) -> bool:
        """Stop Play (no redraw); True if it was playing."""
        was = self._play_token is not None
        self._play_token = None
        if was:
            self._update_buttons()
        return was

    def _update_buttons(self) -> None:
        playing = self.playing
        c = self.controls
        c["play"].disabled = playing
        c["pause"].disabled = not playing
