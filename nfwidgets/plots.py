"""bqplot figure builders and in-place updaters: arrays in, marks out (no torch, no maths).

Each figure is built once; updates assign new arrays (or a new image widget) to existing marks
inside ``hold_sync()``, so one redraw sends one update per changed mark.
"""

from __future__ import annotations

from collections.abc import Sequence

import bqplot
import ipywidgets
import numpy as np

from .render import field_to_png

__all__ = [
    "FIGURE_SIZE",
    "FieldPanel",
    "lines_mark",
    "points_mark",
    "set_lines",
    "set_points",
    "square_figure",
]

#: Default size of a square panel, in CSS pixels.
FIGURE_SIZE = 300


def _f32(a: np.ndarray | Sequence[float]) -> np.ndarray:
    """Plot-ready copy: float32, C-contiguous, finite (non-finite → 0)."""
    arr = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
    if not np.isfinite(arr).all():
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
    return arr


def square_figure(title: str, bounds: tuple[tuple[float, float], tuple[float, float]],
                  *, size: int = FIGURE_SIZE, color_axis: bqplot.ColorAxis | None = None,
                  css_class: str = "nfw-figure") -> tuple[bqplot.Figure, dict[str, bqplot.Scale]]:
    """An empty square figure over ``bounds`` with x₁/x₂ axes; returns ``(figure, scales)``."""
    (x0, x1), (y0, y1) = bounds
    xs = bqplot.LinearScale(min=float(x0), max=float(x1))
    ys = bqplot.LinearScale(min=float(y0), max=float(y1))
    axes = [bqplot.Axis(scale=xs, label="x₁", num_ticks=5),
            bqplot.Axis(scale=ys, orientation="vertical", label="x₂", num_ticks=5)]
    if color_axis is not None:
        axes.append(color_axis)
    right = 70 if color_axis is not None else 12
    fig = bqplot.Figure(
        marks=[], axes=axes, title=title, animation_duration=0,
        fig_margin={"top": 32, "bottom": 36, "left": 42, "right": right},
        min_aspect_ratio=0.01, max_aspect_ratio=100,
        layout=ipywidgets.Layout(width=f"{size + right - 12}px", height=f"{size}px"),
    )
    fig.add_class(css_class)
    return fig, {"x": xs, "y": ys}


class FieldPanel:
    """A scalar field on a grid shown as a colour image with a fixed colour range and colour bar.

    The field is colour-mapped and PNG-encoded in the kernel (``nfwidgets.render``) and shown by
    a bqplot ``Image`` mark; ``update`` replaces the mark's image widget (bqplot 0.13 redraws an
    ``Image`` only when it gets a new widget) and closes the old one, so no model leaks.
    """

    def __init__(self, title: str, bounds: tuple[tuple[float, float], tuple[float, float]],
                 vmin: float, vmax: float, cmap: str = "viridis", label: str = "",
                 size: int = FIGURE_SIZE, css_class: str = "nfw-figure") -> None:
        self.bounds = bounds
        self.vmin, self.vmax, self.cmap = float(vmin), float(vmax), cmap
        scheme = {"viridis": "viridis", "RdBu": "RdBu"}[cmap]
        kw = {"mid": 0.0} if cmap == "RdBu" else {}
        self.color_scale = bqplot.ColorScale(min=self.vmin, max=self.vmax, scheme=scheme, **kw)
        color_axis = bqplot.ColorAxis(scale=self.color_scale, orientation="vertical",
                                      side="right", label=label, num_ticks=5)
        self.figure, self.scales = square_figure(title, bounds, size=size,
                                                 color_axis=color_axis, css_class=css_class)
        (x0, x1), (y0, y1) = bounds
        # One Layout shared by every image widget: a new Image would otherwise open (and leak)
        # a Layout model of its own on every redraw.
        self._image_layout = ipywidgets.Layout()
        self._image = ipywidgets.Image(value=b"", format="png", layout=self._image_layout)
        self.mark = bqplot.Image(image=self._image, x=[float(x0), float(x1)],
                                 y=[float(y0), float(y1)],
                                 scales={"x": self.scales["x"], "y": self.scales["y"]})
        self.figure.marks = [self.mark]
        self.last_png = b""

    def update(self, field: np.ndarray, mask: np.ndarray | None = None) -> None:
        """Show ``field`` (rows = y from low to high, columns = x)."""
        png = field_to_png(field, self.vmin, self.vmax, self.cmap, mask)
        self.last_png = png
        old = self._image
        self._image = ipywidgets.Image(value=png, format="png", layout=self._image_layout)
        self.mark.image = self._image
        old.close()

    def add_marks(self, *marks: bqplot.Mark) -> None:
        """Overlay marks (lines, points) drawn in this panel's scales."""
        self.figure.marks = [*self.figure.marks, *marks]

    def close(self) -> None:
        self._image.close()
        self._image_layout.close()


def lines_mark(scales: dict[str, bqplot.Scale], color: str = "white", width: float = 1.0,
               opacity: float = 0.8, dashed: bool = False) -> bqplot.Lines:
    """An empty multi-line mark (for deformed grids, fold lines); fill with ``set_lines``."""
    return bqplot.Lines(x=np.zeros((1, 2), np.float32), y=np.zeros((1, 2), np.float32),
                        scales={"x": scales["x"], "y": scales["y"]}, colors=[color],
                        stroke_width=width, opacities=[opacity],
                        line_style="dashed" if dashed else "solid", visible=False)


def set_lines(mark: bqplot.Lines, x: np.ndarray, y: np.ndarray, visible: bool = True) -> None:
    """Assign new line arrays (one row per line) in one sync."""
    with mark.hold_sync():
        if visible:
            mark.x = _f32(x)
            mark.y = _f32(y)
        mark.visible = bool(visible)


def points_mark(scales: dict[str, bqplot.Scale], color: str = "white", size: int = 8,
                opacity: float = 0.6) -> bqplot.Scatter:
    """An empty scatter mark (samples, centres); fill with ``set_points``."""
    return bqplot.Scatter(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32),
                          scales={"x": scales["x"], "y": scales["y"]}, colors=[color],
                          default_size=size, opacities=[opacity], stroke="black",
                          stroke_width=0.5)


def set_points(mark: bqplot.Scatter, x: np.ndarray, y: np.ndarray) -> None:
    with mark.hold_sync():
        mark.x = _f32(x)
        mark.y = _f32(y)
