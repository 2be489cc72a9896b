"""A widget's lifetime: every widget model its constructor opens is its own to close, and a
constructor that raises leaves nothing behind.

ipywidgets keeps every open widget model (a comm to the front end) in a registry until it is
closed. ``@builds_widgets`` on a widget class's ``__init__`` records the models opened while the
constructor runs (the widget itself, its controls, figures, layouts, styles). If the constructor
raises (a refused argument), it closes them all at once, so the learner sees only the
``ValueError``: no half-built widget in the registry, no ``Exception ignored in ... __del__``
when it is garbage collected. Otherwise ``close_built(widget)`` closes them when the widget
closes, including those never placed in ``children`` (a hidden editor, a spare image).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import ipywidgets as W
from ipywidgets.widgets import widget as _widget_module

__all__ = ["builds_widgets", "close_built", "is_built"]

F = TypeVar("F", bound=Callable[..., None])


def _open_models() -> dict[str, W.Widget]:
    """model id → open widget: ipywidgets' registry (``Widget.widgets`` is deprecated)."""
    return _widget_module._instances


def builds_widgets(init: F) -> F:
    """Decorate a widget class's ``__init__`` (see the module docstring). A subclass's
    decorated ``__init__`` calling its base's records once, for the whole construction."""

    @functools.wraps(init)
    def build(self: W.Widget, *args: object, **kwargs: object) -> None:
        if "_nfw_building" in self.__dict__:  # the outer constructor records
            init(self, *args, **kwargs)
            return
        before = set(_open_models())
        self.__dict__["_nfw_building"] = True
        try:
            init(self, *args, **kwargs)
        except BaseException:
            scheduler = self.__dict__.get("scheduler")
            if scheduler is not None:  # no redraw may fire for a widget that does not exist
                scheduler.close()
            for model_id in [k for k in _open_models() if k not in before]:
                W.Widget.close(_open_models()[model_id])  # the plain close: nothing else
            raise
        finally:
            del self.__dict__["_nfw_building"]
        self.__dict__["_nfw_built"] = [k for k in _open_models() if k not in before]

    return build  # type: ignore[return-value]


def is_built(widget: W.Widget) -> bool:
    """True once the decorated constructor has returned (``False`` for a refused one)."""
    return "_nfw_built" in widget.__dict__


def close_built(widget: W.Widget) -> None:
    """Close every widget model ``widget``'s constructor opened (``widget`` itself last)."""
    models = _open_models()
    for model_id in widget.__dict__.get("_nfw_built", ()):
        other = models.get(model_id)
        if other is not None and other is not widget:
            other.close()
