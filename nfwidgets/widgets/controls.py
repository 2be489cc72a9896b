"""``ControlsMixin``: controls bound to an engine object, batched settings and the error area.

Shared by every widget of nfwidgets (the 2-D explorers and the 1-D change of variables): a
control's change is applied to the engine, then a redraw is requested; an engine error is shown
in the widget's ``message`` area and the learner's state is kept.
"""

from __future__ import annotations

import asyncio
import html
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import ipywidgets as W

from .._threads import torch_threads
from .slider_snap import is_display_snap

__all__ = ["ControlsMixin", "set_note"]


def set_note(widget: W.HTML, html_text: str | None) -> None:
    """Show ``html_text`` (already safe HTML) in ``widget`` as an amber note — a warning or hint
    that is part of the lesson, not an error — or hide ``widget`` when it is ``None``/empty."""
    value = (f"<div style='color:#7a4a00;background:#fff7e6;padding:4px 8px;"
             f"border-left:3px solid #e69500'>{html_text}</div>") if html_text else ""
    if value != widget.value:
        widget.value = value
        widget.layout.display = None if html_text else "none"


class ControlsMixin:
    """Needs ``controls`` (dict), ``message`` and ``status`` (``HTML`` widgets), ``frame`` (int),
    ``request_redraw``, ``redraw`` and ``_draw`` from the widget class it is mixed into."""

    controls: dict[str, W.ValueWidget]
    message: W.HTML
    redraw_delay: float
    _suppress: bool = False
    #: True while the widget itself updates its controls (``_quietly``): not user actions.
    _quiet: bool = False
    #: A change this long (seconds) after the previous one starts a new gesture: it is drawn at
    #: once (leading edge); closer changes are gathered into one deferred redraw.
    QUIET = 0.25
    _last_change: float = -math.inf
    #: torch intra-op threads a redraw computes with (the notebook's setting is restored after);
    #: ``None`` uses the notebook's setting. See ``nfwidgets._threads`` for why one is faster.
    compute_threads: int | None = None

    def request_redraw(self) -> None:  # pragma: no cover - provided by the widget class
        raise NotImplementedError

    def redraw(self) -> None:  # pragma: no cover - provided by the widget class
        raise NotImplementedError

    def _redraw_now(self) -> None:
        """Redraw at once after a control change (an ``Explorer`` keeps unchanged layers)."""
        self.redraw()

    def _parameters_changed(self) -> None:
        """Hook: a control changed the flow (an ``Explorer`` invalidates its view)."""

    def _deferred_loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop to schedule a deferred redraw on, or ``None`` after redrawing at once
        (``redraw_delay`` 0, or no loop running: tests, scripts) or when redraws are suppressed
        (inside ``set``)."""
        if self._suppress:
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or self.redraw_delay <= 0:
            self._redraw_now()
            return None
        return loop

    @contextmanager
    def _quietly(self) -> Iterator[None]:
        """Programmatic widget updates inside this block are not user actions."""
        quiet, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = quiet

    def _starts_gesture(self) -> bool:
        """Record a change now; True when the previous one is at least ``QUIET`` seconds old (an
        isolated click or key press, or the first event of a drag)."""
        now = time.perf_counter()
        quiet = now - self._last_change >= self.QUIET
        self._last_change = now
        return quiet

    def _bind(self, name: str, widget: W.ValueWidget,
              apply: Callable[[object], None]) -> W.ValueWidget:
        """Register ``widget`` as control ``name``; on change ``apply(value)`` then redraw."""
        widget.add_class(f"nfw-control-{name}")

        def on_change(change: dict) -> None:
            if is_display_snap(change, change["old"]):
                return  # the browser snapped a shown value onto the step grid: not an edit
            try:
                apply(change["new"])
            except Exception as err:  # shown to the learner; state kept
                self._show_error(err)
                return
            self._parameters_changed()
            self.request_redraw()

        widget.observe(on_change, "value")
        self.controls[name] = widget
        return widget

    def set(self, **values: object) -> None:
        """Set several controls by name, then redraw once, synchronously (for lessons/tests).

        ``widget.set(u1=-1.5, b=0.3)`` is exactly like moving those sliders, but the plots and
        ``last_frame`` are up to date when it returns.
        """
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise ValueError(f"unknown control(s) {unknown}; this widget has "
                             f"{sorted(self.controls)}")
        buttons = sorted(k for k in values if isinstance(self.controls[k], W.Button))
        if buttons:
            raise ValueError(f"{buttons} are buttons, not values: call .click() on them")
        self._suppress = True
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            self._suppress = False
        self.redraw()

    def _publish(self, compute: Callable[[], object], describe: Callable[[object], str]
                 ) -> None:
        """One redraw: ``compute()`` a frame, ``_draw`` it, count it and show the counter
        (``.nfw-frame``, with the picture's digest in ``data-picture``, for tests and browser
        harnesses); an error keeps the last picture and says so."""
        try:
            with torch_threads(self.compute_threads):
                frame = compute()
                self._draw(frame)
        except Exception as err:  # shown to the learner; state kept
            self._show_error(err, stale=True)
            return
        self.last_frame = frame
        self.frame += 1
        self._clear_error()
        picture = self._picture_digest()
        picture = f' data-picture="{picture}"' if picture else ""
        self.status.value = (f'<span class="nfw-frame" data-frame="{self.frame}"{picture} '
                             f'style="color:#888;font-size:11px">frame {self.frame} · '
                             f'{describe(frame)} · {frame.compute_ms:.1f} ms</span>')

    def _picture_digest(self) -> str:
        """CRC-32 (8 hex digits) of the density picture just sent, published next to the frame
        counter so a browser test can check the picture on screen is the last one; "" if the
        widget has no such picture."""
        return ""

    def _show_error(self, err: BaseException, stale: bool = False) -> None:
        text = (html.escape(str(err)) or type(err).__name__).rstrip()
        if not text.endswith((".", "!", "?")):
            text += "."
        note = (" The plots show the last state that could be drawn." if stale else
                " The change was not applied.")
        self.message.value = (f"<div style='color:#8b0000;background:#fff0f0;padding:4px 8px;"
                              f"border-left:3px solid #c00'>⚠ {text}{note}</div>")
        self.message.layout.display = None

    def _clear_error(self) -> None:
        if self.message.value:
            self.message.value = ""
            self.message.layout.display = "none"
