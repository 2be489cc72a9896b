"""Controls of every nfwidgets widget: built from ``ControlSpec``s, bound to the engine, one rule
for names and CSS classes, batched settings and the error area.

Naming rule: a control is ``widget.controls[name]``; its DOM element carries the CSS class
``control_class(name)`` = ``"nfw-control-"`` + the name with every run of characters other than
a-z and 0-9 replaced by "-" (``"b"`` → ``nfw-control-b``, ``"layer.z0_1"`` →
``nfw-control-layer-z0-1``).

A learner's change goes ``_bind`` → ``apply(value)`` (writes the engine) → ``_engine_changed``
(the one place that tells the view model which layer changed, then asks the widget's
``RedrawScheduler`` for a redraw). An engine error is shown in the widget's ``message`` area,
the control goes back to the value in use and the picture is kept.

Values a control can take follow one rule, ``check_value``, used by ``widget.set(...)`` (a
refused value raises ``ValueError``) and by the text box next to each slider (``TypedValue``: a
refused text is explained in the ``message`` area). ipywidgets' own readout is not used: in the
browser it clamps an out-of-range number and drops a non-number silently, so the kernel never
hears of them.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress

import ipywidgets as W

from .._checks import shown
from ..layer_controls import ControlSpec
from .scheduler import RedrawScheduler
from .slider_snap import is_display_snap
from .typed_values import TYPED_WIDTH, TypedValue, check_value

__all__ = ["ControlsMixin", "control_class", "control_row",
           "controls_box", "make_control", "set_note", "show_value", "typed_slider",
           "typed_value"]

_STYLE = {"description_width": "80px"}
#: A layer control's slider with ipywidgets' readout (``typed_slider`` makes room for its box).
_SLIDER_WIDTH = "280px"


def control_class(name: str) -> str:
    """The CSS class of control ``name`` (see the module docstring)."""
    return "nfw-control-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def make_control(spec: ControlSpec, value: object,
                 bounds: Sequence[Sequence[float]] | None = None, *, name: str | None = None,
                 on_error: Callable[[BaseException], None] | None = None) -> W.ValueWidget:
    """The widget of ``spec`` showing ``value`` (``bounds``: the view, for a point's axis).

    A slider comes with a text box (``typed_value(widget)``; lay them out with ``control_row``)
    where a value can be typed. ``name`` (default ``spec.name``) names the control in messages
    and CSS classes; ``on_error(err)`` shows a refused typed value (``_bind`` sets it to the
    widget's ``_show_error`` when not given)."""
    name = spec.name if name is None else name
    if spec.widget == "toggle":
        widget = W.ToggleButton(value=bool(value), description=spec.label, icon="lock",
                                layout=W.Layout(width="200px"))
    elif spec.widget == "choice":
        if len(spec.options) <= 2:
            widget = W.ToggleButtons(options=list(spec.options), value=value,
                                     style={"button_width": "130px"})
        else:
            widget = W.Dropdown(options=list(spec.options), value=value, description=spec.label,
                                style=_STYLE, layout=W.Layout(width="280px"))
    elif spec.widget in ("slider", "log_slider"):
        cls = W.FloatLogSlider if spec.widget == "log_slider" else W.FloatSlider
        extra = {"base": 10} if spec.widget == "log_slider" else {}
        widget = cls(step=spec.step, description=spec.label, continuous_update=True,
                     style=_STYLE, layout=W.Layout(width=_SLIDER_WIDTH), **extra)
        show_value(widget, spec, value, bounds)
        typed_slider(widget, spec.readout, name=name, on_error=on_error)
    else:
        raise ValueError(f"widget must be 'slider', 'log_slider', 'toggle' or 'choice'; "
                         f"got {shown(spec.widget)}")
    _add_control_class(widget, name)
    return widget


def typed_slider(slider: W.FloatSlider | W.FloatLogSlider | W.IntSlider, fmt: str | None = None,
                 *, name: str = "", on_error: Callable[[BaseException], None] | None = None
                 ) -> W.ValueWidget:
    """``slider`` with ipywidgets' readout off and a text box of ours (``TypedValue``) in its
    place; returns the slider. Every slider of every widget is made this way (``make_control``
    for layer controls, the widgets' own sliders directly), so they all follow ``check_value``.

    ``fmt`` (a format spec; default: the slider's own, ``"d"`` for an ``IntSlider``) formats
    the value in the box. The slider's ``layout.width`` (in px: its width with the readout) is
    shared by slider and box, so layouts keep their width. ``name`` and ``on_error`` default to
    the control's name and the widget's ``_show_error`` when the slider is bound
    (``ControlsMixin._bind``). Lay the pair out with ``control_row``."""
    if not isinstance(slider, W.FloatSlider | W.FloatLogSlider | W.IntSlider):
        raise ValueError(f"slider must be a FloatSlider, FloatLogSlider or IntSlider; "
                         f"got {shown(slider)}")
    width = slider.layout.width
    if width and width.endswith("px"):
        slider.layout.width = f"{int(float(width[:-2])) - TYPED_WIDTH}px"
    if fmt is not None:
        slider.readout_format = fmt  # ipywidgets' readout is off; the box shows this format
    slider.readout = False
    slider._nfw_typed = TypedValue(name, slider, on_error)
    return slider


def typed_value(widget: W.Widget) -> TypedValue | None:
    """The text box of a slider made by ``typed_slider`` (``None`` for other widgets)."""
    return getattr(widget, "_nfw_typed", None)


def control_row(widget: W.Widget) -> W.Widget:
    """What to lay out for a control: a slider and its text box side by side (one box per
    slider, made once), any other widget as it is."""
    typed = typed_value(widget)
    if typed is None:
        return widget
    if typed.row is None:
        typed.row = W.HBox([widget, typed.text], layout=W.Layout(align_items="center"))
    return typed.row


def _add_control_class(widget: W.Widget, name: str) -> None:
    """The CSS class of control ``name`` on ``widget`` and on its text box."""
    widget.add_class(control_class(name))
    typed = typed_value(widget)
    if typed is not None:
        typed.text.add_class(control_class(name))


def show_value(widget: W.ValueWidget, spec: ControlSpec, value: object,
               bounds: Sequence[Sequence[float]] | None = None) -> None:
    """Show ``value`` in ``widget``; a slider's range widens to hold it (a value that is not
    finite, or not positive on a log slider, leaves the slider where it is)."""
    if spec.widget not in ("slider", "log_slider"):
        widget.value = value
        return
    value = float(value)
    log = spec.widget == "log_slider"
    usable = math.isfinite(value) and (value > 0 or not log)
    lo, hi = spec.span(value if usable else None, bounds)
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
    if not usable:
        value = widget.value
    with widget.hold_sync():
        if lo > widget.max:
            widget.max, widget.min = hi, lo
        else:
            widget.min, widget.max = lo, hi
        widget.value = value


def controls_box(specs: Sequence[ControlSpec], widgets: dict[str, W.Widget]) -> W.VBox:
    """The layout of a layer's controls: toggles and choices in a row, sliders (each with its
    text box) in columns of two (``w₁ w₂`` above each other, then ``u₁ u₂``, ...)."""
    switches = [widgets[s.name] for s in specs if s.widget in ("toggle", "choice")]
    sliders = [control_row(widgets[s.name]) for s in specs
               if s.widget in ("slider", "log_slider")]
    columns = [W.VBox(sliders[i:i + 2]) for i in range(0, len(sliders), 2)]
    return W.VBox(([W.HBox(switches)] if switches else []) + [W.HBox(columns)])


def set_note(widget: W.HTML, html_text: str | None) -> None:
    """Show ``html_text`` (already safe HTML) in ``widget`` as an amber note — a warning or hint
    that is part of the lesson, not an error — or hide ``widget`` when it is ``None``/empty."""
    value = (f"<div style='color:#7a4a00;background:#fff7e6;padding:4px 8px;"
             f"border-left:3px solid #e69500'>{html_text}</div>") if html_text else ""
    if value != widget.value:
        widget.value = value
        widget.layout.display = None if html_text else "none"


class ControlsMixin:
    """Controls, redraw requests and messages of a widget.

    The widget class sets ``controls`` (dict), ``message`` and ``status`` (``HTML``),
    ``scheduler`` (a ``RedrawScheduler`` whose ``draw`` calls ``_publish``) and defines
    ``_draw(frame)``; a widget whose view model caches per layer overrides ``_invalidate``.
    """

    controls: dict[str, W.ValueWidget]
    message: W.HTML
    status: W.HTML
    scheduler: RedrawScheduler
    last_frame: object = None
    #: True while the widget itself updates its controls (``_quietly``): not user actions.
    _quiet: bool = False
    #: Inside ``set()``: the errors to raise instead of showing them (``_show_error``).
    _refusals: list[BaseException] | None = None

    @property
    def frame(self) -> int:
        """Pictures published so far (also in the DOM as ``.nfw-frame[data-frame]``)."""
        return self.scheduler.frame

    # --- controls → engine -------------------------------------------------------------------
    def _bind(self, name: str, widget: W.Widget, apply: Callable[[object], None], *,
              layer: int | None = None, redraw: bool = True) -> W.Widget:
        """Register ``widget`` as control ``name``. A learner's change calls ``apply(value)``
        (a ``Button``: ``apply(None)`` on click); then, with ``redraw``, layer ``layer`` of the
        engine has changed (``None``: maybe any). If ``apply`` refuses the value, the message
        area says why and the control shows the value in use again (no redraw)."""
        _add_control_class(widget, name)
        typed = typed_value(widget)
        if typed is not None:
            typed.name = name
            typed.on_error = typed.on_error or self._show_error

        def run(value: object, old: object = None) -> None:
            try:
                apply(value)
            except Exception as err:  # shown to the learner; the value in use is kept
                if not isinstance(widget, W.Button):
                    with self._quietly(), suppress(Exception):  # an old option may be gone
                        widget.value = old
                self._show_error(err)
                return
            if redraw:
                self._engine_changed(layer)

        if isinstance(widget, W.Button):
            widget.on_click(lambda _button: None if self._quiet else run(None))
        else:
            def on_change(change: dict) -> None:
                if self._quiet or is_display_snap(change, change["old"]):
                    return  # a programmatic update, or the browser snapping a shown value
                run(change["new"], change["old"])

            widget.observe(on_change, "value")
        self.controls[name] = widget
        return widget

    def _make_text_areas(self) -> None:
        """``readout`` (derived values), ``message`` (engine errors, hidden until there is one)
        and ``status`` (the frame counter), with the CSS classes tests and browser harnesses
        look for."""
        self.readout = W.HTML()
        self.readout.add_class("nfw-readout")
        self.message = W.HTML(layout=W.Layout(display="none"))
        self.message.add_class("nfw-message")
        self.status = W.HTML()
        self.status.add_class("nfw-status")

    def _engine_changed(self, layer: int | None = None) -> None:
        """The engine's layer ``layer`` (0-based; ``None``: any) changed: the view model
        forgets what it cached for it, and a redraw is requested."""
        self._invalidate(layer)
        self.scheduler.request()

    def _invalidate(self, layer: int | None) -> None:
        """Hook: forward to a view model that caches per layer (nothing to do otherwise)."""

    @contextmanager
    def _quietly(self) -> Iterator[None]:
        """Programmatic widget updates inside this block are not user actions."""
        quiet, self._quiet = self._quiet, True
        try:
            yield
        finally:
            self._quiet = quiet

    def set(self, **values: object) -> None:
        """Set several controls by name, then redraw once, synchronously (for lessons/tests).

        ``widget.set(u1=-1.5, b=0.3)`` is exactly like moving those sliders, but the plots and
        ``last_frame`` are up to date when it returns. Every value is checked before any is
        written (``check_value``: a number in the slider's current range, one of a choice's
        options, a bool for a toggle); a value refused there or by the engine raises
        ``ValueError`` and leaves the controls, the engine, the picture and the message area
        as they were.
        """
        owner = f"{type(self).__name__}.set"  # (the message names the widget the learner used)
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise ValueError(f"{owner}: unknown control(s) {unknown}; this widget has "
                             f"{sorted(self.controls)}")
        buttons = sorted(k for k in values if isinstance(self.controls[k], W.Button))
        if buttons:
            raise ValueError(f"{owner}: {buttons} are buttons, not values: call .click() on "
                             f"them")
        try:
            checked = {name: check_value(name, self.controls[name], value)
                       for name, value in values.items()}
        except ValueError as err:
            raise ValueError(f"{owner}: {err}") from None
        before = {name: self.controls[name].value for name in checked}
        done: list[str] = []
        self._refusals = refusals = []  # what would be shown in the message area: raised here
        try:
            with self.scheduler.mute():
                for name, value in checked.items():
                    done.append(name)
                    self.controls[name].value = value
                    if refusals:
                        break
                if refusals:  # put back what was applied: the old values were in use
                    for earlier in reversed(done):
                        self.controls[earlier].value = before[earlier]
        except BaseException:
            self._refusals = None
            self.redraw()  # not a refusal: draw whatever state the engine is in now
            raise
        finally:
            self._refusals = None
        if refusals:
            raise ValueError(f"{owner}: {name} = {shown(values[name])} was refused: "
                             f"{refusals[0]}") from refusals[0]
        self.redraw()

    def redraw(self) -> None:
        """Recompute everything and redraw now (synchronously); errors go to the message area.
        Call it after changing the flow from code."""
        self._invalidate(None)
        self.scheduler.now()

    def close(self) -> None:
        """Cancel pending redraws, then close the widget."""
        scheduler = getattr(self, "scheduler", None)  # None if the constructor failed early
        if scheduler is not None:
            scheduler.close()
        super().close()

    # --- publishing --------------------------------------------------------------------------
    def _publish(self, compute: Callable[[], object], describe: Callable[[object], str]
                 ) -> bool:
        """One picture: ``compute()`` a frame, ``_draw`` it and show the frame counter
        (``.nfw-frame``, with the picture's digest in ``data-picture``, for tests and browser
        harnesses). True if published; an error keeps the last picture and says so."""
        try:
            frame = compute()
            self._draw(frame)
        except Exception as err:  # shown to the learner; state kept
            self._show_error(err, stale=True)
            return False
        self.last_frame = frame
        self._clear_error()
        number = self.scheduler.frame + 1  # the scheduler counts it when this returns True
        picture = self._picture_digest()
        picture = f' data-picture="{picture}"' if picture else ""
        self.status.value = (f'<span class="nfw-frame" data-frame="{number}"{picture} '
                             f'style="color:#888;font-size:11px">frame {number} · '
                             f'{describe(frame)} · {frame.compute_ms:.1f} ms</span>')
        return True

    def _draw(self, frame: object) -> None:  # pragma: no cover - provided by the widget class
        raise NotImplementedError

    def _picture_digest(self) -> str:
        """CRC-32 (8 hex digits) of the density picture just sent, published next to the frame
        counter so a browser test can check the picture on screen is the last one; "" if the
        widget has no such picture."""
        return ""

    def _show_error(self, err: BaseException, stale: bool = False) -> None:
        """Explain ``err`` in the message area (inside ``set()``: hand it to ``set()``, which
        raises it)."""
        if self._refusals is not None:
            self._refusals.append(err)
            return
        text = (html.escape(str(err)) or type(err).__name__).rstrip()
        if not text.endswith((".", "!", "?")):
            text += "."
        note = (" The plots show the last state that could be drawn." if stale else
                " The change was not applied: the controls show the values in use.")
        self.message.value = (f"<div style='color:#8b0000;background:#fff0f0;padding:4px 8px;"
                              f"border-left:3px solid #c00'>⚠ {text}{note}</div>")
        self.message.layout.display = None

    def _clear_error(self) -> None:
        if self.message.value:
            self.message.value = ""
            self.message.layout.display = "none"
