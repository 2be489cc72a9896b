"""The values a control can take, and the text box next to each slider.

``check_value`` is the one rule for what a control takes: ``widget.set(...)`` raises its
``ValueError``, and ``TypedValue`` (the box next to a slider) shows it in the widget's message
area. A box of our own, not ipywidgets' readout: in the browser that readout clamps an
out-of-range number and drops a non-number silently, so the kernel never hears of them.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable

import ipywidgets as W
import numpy as np

from .._checks import check_count, check_flag, is_number, number_text, refusal
from .slider_snap import is_display_snap

__all__ = ["TYPED_WIDTH", "TypedValue", "check_value"]

#: The text box's width (a slider and its box together are as wide as the slider with
#: ipywidgets' readout was: ``controls.typed_slider`` narrows the slider by this).
TYPED_WIDTH = 58


#: Widgets that take one of their options.
_CHOICES = (W.Dropdown, W.Select, W.ToggleButtons, W.RadioButtons, W.SelectionSlider)


def _range(widget: W.Widget) -> tuple[float, float] | None:
    """The values a number widget takes now, ``None`` if it has no bounds."""
    if not (hasattr(widget, "min") and hasattr(widget, "max")):
        return None
    if isinstance(widget, W.FloatLogSlider):
        return float(widget.base) ** float(widget.min), float(widget.base) ** float(widget.max)
    return float(widget.min), float(widget.max)


def _option_values(widget: W.Widget) -> list[object]:
    """The values a choice (Dropdown, ToggleButtons, Select, ...) can take."""
    return [o[1] if isinstance(o, tuple) and len(o) == 2 else o for o in widget.options]


def _same_option(option: object, value: object) -> bool:
    """``value`` is ``option``: equal, with no string, bool or integer standing in for a value
    of another kind (``True`` is not option ``1``, ``2.0`` not option ``2``)."""
    if isinstance(option, str) != isinstance(value, str):
        return False
    if isinstance(option, bool | np.bool_) != isinstance(value, bool | np.bool_):
        return False
    if isinstance(option, numbers.Integral) and not isinstance(value, numbers.Integral):
        return False
    try:
        return bool(option == value)
    except Exception:  # an array, or an object that cannot be compared: not this option
        return False


def check_value(name: str, widget: W.Widget, value: object) -> object:
    """The value control ``name`` (``widget``) takes for ``value``, or ``ValueError`` naming
    the control, the value and what is allowed (the package's message, ``nfwidgets._checks``).
    The one rule for ``widget.set(...)`` and for text typed into a slider's box:

    - a slider or number box: a real number (not a bool; numpy scalars are fine), finite,
      within the control's current range (a log slider: its range of values, not exponents);
      an integer where the control counts;
    - a toggle or checkbox: ``True`` or ``False``;
    - a choice (dropdown, toggle buttons, list): one of its options' values.
    """
    if isinstance(widget, W.ToggleButton | W.Checkbox):
        return check_flag(name, value)
    if isinstance(widget, _CHOICES):
        options = _option_values(widget)
        for option in options:
            if _same_option(option, value):
                return option
        raise refusal(None, name, f"one of {options}", value)
    if isinstance(widget, W.IntSlider | W.BoundedIntText | W.IntText):
        lo, hi = _range(widget) or (None, None)
        return check_count(name, value, lo=-(2**63) if lo is None else int(lo),
                           hi=None if hi is None else int(hi))
    if isinstance(widget, W.FloatSlider | W.FloatLogSlider | W.BoundedFloatText | W.FloatText):
        lo, hi = _range(widget) or (None, None)
        allowed = "a finite number" + (
            "" if lo is None else f" in [{number_text(lo)}, {number_text(hi)}]")
        slack = 1e-9 * max(1.0, abs(lo), abs(hi)) if isinstance(
            widget, W.FloatLogSlider) else 0.0  # base ** exponent is not exact
        if not (is_number(value) and math.isfinite(value) and (
                lo is None or lo - slack <= value <= hi + slack)):
            raise refusal(None, name, allowed, value)
        return float(value)
    raise refusal(None, name, f"a value a {type(widget).__name__} takes", value)

def _typed_number(text: str, integer: bool = False) -> object:
    """Typed text as a number if it reads as one (Python's rules; "−" is a minus): an int for a
    control that counts (``integer``) when the text is an integer, else a float; text that is
    no number stays text (``check_value`` then says what is allowed)."""
    text = text.strip().replace("\u2212", "-")
    for kind in (int, float) if integer else (float,):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _with_hint(err: ValueError, text: object) -> ValueError:
    """``err``, with a hint when the text is a number written with a decimal comma ("1,5")."""
    if isinstance(text, str) and re.fullmatch(r"\s*[-+\u2212]?\d+,\d+\s*", text):
        return ValueError(f"{err} (write a decimal point: {text.strip().replace(',', '.')})")
    return err


class TypedValue:
    """The text box next to a slider (``FloatSlider``, ``FloatLogSlider`` or ``IntSlider``): it
    shows the slider's value (the value in use) in the slider's ``readout_format``, and a value
    typed into it (Enter or leaving the box) moves the slider, the same path as a learner's
    drag. A value ``check_value`` refuses (checked against the slider's range at that moment,
    so a range that changes at run time is followed) goes to ``on_error`` and the box shows the
    value in use again. The box is disabled whenever the slider is.

    Attributes:
        text: the ``ipywidgets.Text`` (CSS classes ``nfw-typed`` and the control's class).
        row: the slider and the box side by side (made by ``control_row``).
    """

    def __init__(self, name: str, slider: W.ValueWidget,
                 on_error: Callable[[BaseException], None] | None) -> None:
        self.name, self.slider, self.on_error = name, slider, on_error
        self.integer = isinstance(slider, W.IntSlider)
        self.row: W.HBox | None = None
        self._syncing = False
        self.text = W.Text(value=self._format(slider.value), continuous_update=False,
                           disabled=slider.disabled,
                           layout=W.Layout(width=f"{TYPED_WIDTH}px"))
        self.text.add_class("nfw-typed")
        W.dlink((slider, "disabled"), (self.text, "disabled"))
        slider.observe(self._slider_moved, "value")
        self.text.observe(self._typed, "value")

    def _format(self, value: float) -> str:
        return format(int(value) if self.integer else float(value), self.slider.readout_format)

    def show(self) -> None:
        """Show the slider's value."""
        self._syncing = True
        try:
            self.text.value = self._format(self.slider.value)
        finally:
            self._syncing = False

    def _slider_moved(self, change: dict) -> None:
        if not is_display_snap(change, change["old"]):  # a snap: the value in use is unchanged
            self.show()

    def _typed(self, change: dict) -> None:
        if self._syncing:
            return
        try:
            value = check_value(self.name, self.slider,
                                _typed_number(change["new"], self.integer))
        except ValueError as err:
            if self.on_error is not None:
                self.on_error(_with_hint(err, change["new"]))
            self.show()
            return
        before = self.slider.value
        self.slider.value = value  # a refusal by the engine puts the slider back
        if self.slider.value == before:  # no change: the box shows the value in use again
            self.show()
