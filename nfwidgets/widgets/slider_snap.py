"""Tell a learner's slider move from the browser snapping a shown value onto the slider's steps.

When a ``FloatSlider`` is rendered with a value that is not on its step grid (a float32 parameter
such as 0.15000000596, a trained weight such as 0.123), the browser snaps it to the nearest step
and sends that back as a value change. Applied as an edit, it would quantise the parameter (and
redraw) merely because the widget was displayed. A change is such a snap when it came from the
browser (ipywidgets locks the property while it applies front-end state and fires the
notifications inside that lock) and lands within half a step of the current value; a learner's
move from the snapped position always lands at least half a step away.
"""

from __future__ import annotations

import math

import ipywidgets as W

__all__ = ["from_browser", "is_display_snap"]


def from_browser(change: dict) -> bool:
    """True when the trait change was sent by the front end (not set from Python)."""
    owner = change.get("owner")
    return change.get("name", "value") in getattr(owner, "_property_lock", {})


def is_display_snap(change: dict, current: float) -> bool:
    """True when a ``FloatSlider`` (or ``FloatLogSlider``, in exponent space) change only snaps
    ``current`` onto the slider's step grid."""
    owner = change.get("owner")
    if not isinstance(owner, W.FloatSlider | W.FloatLogSlider) or not from_browser(change):
        return False
    try:
        new, old = float(change["new"]), float(current)
        if isinstance(owner, W.FloatLogSlider):  # its steps are steps of the exponent
            if new <= 0 or old <= 0:
                return False
            base = math.log(float(owner.base))
            return abs(math.log(new) / base - math.log(old) / base) < 0.5 * float(owner.step)
        return abs(new - old) < 0.5 * float(owner.step)
    except (TypeError, ValueError):
        return False
