"""Draggable point handles for the explorers (no maths here).

A ``PointHandle`` shows one point as a draggable bqplot ``Scatter`` marker in several panels
and also places it where the learner clicks on a panel's image. It never stores the point: it
reports moves to a callback, which writes them into the explorer's sliders, so the state lives
in one place (the controls); ``place`` then moves the markers to the value the controls took.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import bqplot
import numpy as np

from ..plots import FieldPanel

__all__ = ["PointHandle", "click_point"]


def click_point(content: dict) -> tuple[float, float] | None:
    """The data coordinates of a bqplot click message (``click_x``, ``click_y``), or ``None``
    when they are missing or not finite."""
    data = content.get("data") or {}
    try:
        x, y = float(data["click_x"]), float(data["click_y"])
    except (KeyError, TypeError, ValueError):
        return None
    return (x, y) if math.isfinite(x) and math.isfinite(y) else None


class PointHandle:
    """One point drawn as a draggable marker in each of ``panels``.

    Arguments:
        panels: the panels to show the marker in (their image takes clicks too).
        on_move: called with ``(x, y)`` when the learner drags a marker or clicks an image.
        color, marker, size: the look of the marker (a bqplot ``Scatter`` marker name).
        name: a label drawn next to the marker ("" for none).
    """

    def __init__(self, panels: Sequence[FieldPanel], on_move: Callable[[float, float], None],
                 *, color: str = "#ff3b3b", marker: str = "cross", size: int = 64,
                 name: str = "") -> None:
        self._on_move = on_move
        self._placing = False
        self.marks: list[bqplot.Scatter] = []
        for panel in panels:
            mark = bqplot.Scatter(
                x=np.zeros(1, np.float32), y=np.zeros(1, np.float32),
                scales={"x": panel.scales["x"], "y": panel.scales["y"]}, marker=marker,
                colors=[color], default_size=size, stroke="white", stroke_width=1.0,
                enable_move=True, update_on_move=True, names=[name] if name else [],
                display_names=bool(name))
            mark.observe(self._moved, names=["x", "y"])
            panel.mark.on_element_click(self._clicked)
            panel.add_marks(mark)
            self.marks.append(mark)

    def _moved(self, change: dict) -> None:
        if self._placing:
            return
        mark = change["owner"]
        try:
            x, y = float(np.asarray(mark.x).ravel()[0]), float(np.asarray(mark.y).ravel()[0])
        except (IndexError, TypeError, ValueError):
            return
        if math.isfinite(x) and math.isfinite(y):
            self._on_move(x, y)

    def _clicked(self, _mark: object, content: dict) -> None:
        point = click_point(content)
        if point is not None:
            self._on_move(*point)

    def place(self, x: float, y: float) -> None:
        """Move every marker to ``(x, y)``; markers already there are not touched (a marker
        being dragged is where the learner holds it, and must not be sent back)."""
        self._placing = True
        try:
            for mark in self.marks:
                mx, my = np.asarray(mark.x).ravel(), np.asarray(mark.y).ravel()
                if (mx.size == 1 and my.size == 1 and abs(float(mx[0]) - x) <= 1e-6
                        and abs(float(my[0]) - y) <= 1e-6):
                    continue
                with mark.hold_sync(), mark.hold_trait_notifications():
                    mark.x = np.array([x], np.float32)
                    mark.y = np.array([y], np.float32)
        finally:
            self._placing = False
