"""bqplot figure builders and in-place updaters: arrays in, marks out (no torch, no maths).

Each figure is built once; updates assign new arrays (or a new image widget) to existing marks
inside ``hold_sync()``, so one redraw sends one update per changed mark.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Sequence

import bqplot
import ipywidgets
import numpy as np

from ._checks import check_choice, check_count, check_flag, check_real, check_text, shown
from ._plot_args import check_lines, check_range, check_scales, real_array
from .grid import check_bounds
from .render import (
    COLOR_MAPS,
    colorize_index,
    draw_lines,
    encode_png_indexed,
    field_to_png,
    palette,
)

__all__ = [
    "FIGURE_SIZE",
    "PNG_URL_PREFIX",
    "FieldPanel",
    "Polylines",
    "colorbar",
    "join_rows",
    "lines_mark",
    "points_mark",
    "set_lines",
    "set_points",
    "square_figure",
]

#: Default size of a square panel, in CSS pixels.
FIGURE_SIZE = 300
#: A square panel's margins around its plot area, in CSS pixels.
_MARGINS = {"top": 30, "bottom": 36, "left": 40, "right": 8}


#: Largest panel side, in CSS pixels; smallest: room for the margins and the colour bar's labels.
_SIZES = (80, 1200)
def _f32(a: np.ndarray | Sequence[float]) -> np.ndarray:
    """Plot-ready copy: float32, C-contiguous, finite (non-finite → 0)."""
    arr = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
    if not np.isfinite(arr).all():
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
    return arr


def square_figure(title: str, bounds: tuple[tuple[float, float], tuple[float, float]],
                  *, size: int = FIGURE_SIZE, css_class: str = "nfw-figure"
                  ) -> tuple[bqplot.Figure, dict[str, bqplot.Scale]]:
    """An empty square figure over ``bounds`` with x₁/x₂ axes; returns ``(figure, scales)``.

    The scales do not pad (``allow_padding=False``) and the figure has no padding, so an image
    spanning ``bounds`` lines up with the axes exactly.
    """
    title = check_text("title", title)
    (x0, x1), (y0, y1) = check_bounds(bounds)
    size = check_count("size", size, lo=_SIZES[0], hi=_SIZES[1])
    css_class = check_text("css_class", css_class)
    xs = bqplot.LinearScale(min=float(x0), max=float(x1), allow_padding=False)
    ys = bqplot.LinearScale(min=float(y0), max=float(y1), allow_padding=False)
    axes = [bqplot.Axis(scale=xs, label="x₁", num_ticks=5),
            bqplot.Axis(scale=ys, side="left", label="x₂", num_ticks=5)]
    fig = bqplot.Figure(
        marks=[], axes=axes, title=title, animation_duration=0, padding_x=0.0, padding_y=0.0,
        fig_margin=dict(_MARGINS),
        min_aspect_ratio=0.01, max_aspect_ratio=100,
        title_style={"font-size": "14px"},
        layout=ipywidgets.Layout(width=f"{size}px", height=f"{size}px"),
    )
    fig.add_class(css_class)
    return fig, {"x": xs, "y": ys}


def colorbar(vmin: float, vmax: float, cmap: str, label: str, height: int) -> ipywidgets.HTML:
    """A vertical colour bar (kernel-drawn gradient) with min / middle / max labels."""
    vmin, vmax = check_range(vmin, vmax)
    cmap = check_choice("cmap", cmap, list(COLOR_MAPS))
    label = check_text("label", label)
    height = check_count("height", height, lo=_SIZES[0], hi=_SIZES[1])
    field = np.linspace(vmin, vmax, 128, dtype=np.float32)[:, None].repeat(8, axis=1)
    png = base64.b64encode(field_to_png(field, vmin, vmax, cmap)).decode()
    bar = max(height - 84, 8)
    ticks = "".join(
        f"<div style='position:absolute;top:{top - 7}px;left:16px'>{v:g}</div>"
        for top, v in ((0, vmax), (bar // 2, (vmin + vmax) / 2), (bar, vmin)))
    html = (f"<div style='font-size:11px;color:#444;margin-top:16px'>{label}"
            f"<div style='position:relative;height:{bar}px;margin-top:4px'>"
            f"<img src='data:image/png;base64,{png}' style='width:12px;height:{bar}px;"
            f"image-rendering:pixelated;border:1px solid #ccc'/>{ticks}</div></div>")
    widget = ipywidgets.HTML(html, layout=ipywidgets.Layout(width="64px"))
    widget.add_class("nfw-colorbar")
    return widget


#: How ``FieldPanel`` sends a picture: a data URL (image widgets of format ``"url"``).
PNG_URL_PREFIX = b"data:image/png;base64,"


class FieldPanel:
    """A scalar field on a grid shown as a colour image with a fixed colour range and colour bar
    (``widget`` holds both).

    The field is colour-mapped and PNG-encoded in the kernel (``nfwidgets.render``) and shown by
    a bqplot ``Image`` mark. bqplot 0.13 redraws an ``Image`` mark only when its ``image`` trait
    is assigned a different widget (a new ``value`` on the same widget is not drawn), so the
    panel keeps two image widgets and alternates: ``update`` writes the picture into the one not
    on screen, then points the mark at it. Two messages a redraw (the value, then the mark), no
    model created or closed; the front end applies a kernel's messages in order (JupyterLab and
    Voilà wait for each comm message to be handled before the next), so the mark never shows
    the other widget's previous picture.

    The picture travels as a ``data:image/png;base64,…`` URL (image format ``"url"``), which
    bqplot puts into the mark's ``href`` as it is. Given PNG bytes instead, bqplot wraps them in
    a ``Blob`` and calls ``URL.createObjectURL``, which registers the blob with Chromium's
    browser process on every redraw: more work for the browser than decoding the URL.

    Polylines passed to ``update`` (a deformed coordinate grid) are rasterised into the picture
    (``render.draw_lines``: half-transparent white, about one screen pixel wide) rather than
    drawn as an SVG path over it: the browser then draws one image a redraw, whatever the lines.
    """

    def __init__(self, title: str, bounds: tuple[tuple[float, float], tuple[float, float]],
                 vmin: float, vmax: float, cmap: str = "viridis", label: str = "",
                 size: int = FIGURE_SIZE, css_class: str = "nfw-figure") -> None:
        # Every argument is checked before the first widget model opens.
        check_text("title", title)
        bounds = check_bounds(bounds)
        vmin, vmax = check_range(vmin, vmax)
        cmap = check_choice("cmap", cmap, list(COLOR_MAPS))
        check_text("label", label)
        size = check_count("size", size, lo=_SIZES[0], hi=_SIZES[1])
        check_text("css_class", css_class)
        self.bounds = bounds
        self.vmin, self.vmax, self.cmap = vmin, vmax, cmap
        self.figure, self.scales = square_figure(title, bounds, size=size, css_class=css_class)
        self.colorbar = colorbar(self.vmin, self.vmax, cmap, label, size)
        #: What to place in a layout: the figure and its colour bar.
        self.widget = ipywidgets.HBox([self.figure, self.colorbar])
        (x0, x1), (y0, y1) = bounds
        # One Layout shared by every image widget: a new Image would otherwise open (and leak)
        # a Layout model of its own on every redraw.
        self._image_layout = ipywidgets.Layout()
        self._images = [ipywidgets.Image(value=b"", format="url", layout=self._image_layout)
                        for _ in range(2)]
        self._front = 0  # index of the widget on screen
        self.mark = bqplot.Image(image=self._images[0], x=[float(x0), float(x1)],
                                 y=[float(y0), float(y1)],
                                 scales={"x": self.scales["x"], "y": self.scales["y"]})
        self.figure.marks = [self.mark]
        self.last_png = b""
        self._palette = palette(cmap)
        self._plot_width = max(1, size - _MARGINS["left"] - _MARGINS["right"])  # CSS pixels
        self._index: np.ndarray | None = None  # the last field's palette indices, no lines
        #: The polylines drawn into the picture on screen, ``(x, y)``, or ``None``.
        self.lines: tuple[np.ndarray, np.ndarray] | None = None

    def line_width(self, columns: int) -> int:
        """Pixels across a line drawn into a picture ``columns`` wide: about one CSS pixel once
        the picture is scaled to the plot area (at least one picture pixel)."""
        columns = check_count("columns", columns, lo=1, hi=100_000)
        return max(1, round(columns / self._plot_width))

    def update(self, field: np.ndarray, mask: np.ndarray | None = None,
               lines: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Show ``field`` (rows = y from low to high, columns = x; ``mask``: cells shown in the
        mask colour) with ``lines = (x, y)``, polylines in data coordinates, one per row (as
        ``set_lines``; a non-finite point breaks its line), drawn into the picture. NaN cells
        of ``field`` are drawn in the mask colour, ±inf at the ends of the colour range."""
        field = real_array("field", field, (2,))
        if mask is not None:
            mask = np.asarray(mask)
            if mask.dtype.kind not in "biu" or mask.shape != field.shape:
                raise ValueError(f"mask must be None or a bool array of the field's shape "
                                 f"{field.shape}; got {shown(mask)}")
        check_lines(lines)
        self._index = colorize_index(field, self.vmin, self.vmax, mask, self.cmap)
        self.show_lines(lines)

    def show_lines(self, lines: tuple[np.ndarray, np.ndarray] | None) -> None:
        """Show the last field again with other ``lines`` drawn into it (``None``: none), e.g.
        when a grid-lines toggle changes; nothing is recomputed but the picture."""
        check_lines(lines)
        if self._index is None:
            raise ValueError("show_lines needs a field: call update(field, ...) first")
        index = self._index
        if lines is not None:
            x, y = lines
            index = index.copy()
            draw_lines(index, x, y, self.bounds, self.line_width(index.shape[1]))
        self.lines = lines
        self._send(encode_png_indexed(index, self._palette))

    def _send(self, png: bytes) -> None:
        self.last_png = png
        self._front = 1 - self._front
        image = self._images[self._front]
        # first the picture (nothing is sent if it is already there) ...
        image.value = PNG_URL_PREFIX + base64.b64encode(png)
        self.mark.image = image  # ... then the mark, which now draws it

    def digest(self) -> str:
        """CRC-32 (8 hex digits, as ``zlib.crc32``) of the picture last sent: what a browser
        test compares with the picture on screen."""
        return f"{zlib.crc32(self.last_png):08x}"

    def add_marks(self, *marks: bqplot.Mark) -> None:
        """Overlay marks (lines, points) drawn in this panel's scales."""
        for mark in marks:
            if not isinstance(mark, bqplot.Mark):
                raise ValueError(f"marks must be bqplot marks (lines_mark, points_mark); got "
                                 f"{type(mark).__name__} {mark!r:.80}")
        self.figure.marks = [*self.figure.marks, *marks]

    def close(self) -> None:
        for image in self._images:
            image.close()
        self._image_layout.close()
        self.colorbar.close()


#: Overlay marks are drawn in a panel's fixed scales (``square_figure``): their data never sets
#: the scales' domains, so the front end need not scan every point for one on each update.
_FIXED_DOMAIN = {"x": True, "y": True}


class Polylines(bqplot.Lines):
    """A ``bqplot.Lines`` mark that holds several polylines joined into one path (see
    ``join_rows``); the front end draws it as any ``Lines`` mark. Its x and y may hold NaN,
    only as gaps between lines. Build with ``lines_mark``, fill with ``set_lines``."""


def lines_mark(scales: dict[str, bqplot.Scale], color: str = "white", width: float = 1.0,
               opacity: float = 0.8, dashed: bool = False) -> Polylines:
    """An empty polyline mark (for deformed grids, fold lines) in a panel's fixed scales;
    fill with ``set_lines``."""
    scales = check_scales(scales)
    color = check_text("color", color)
    width = check_real("width", width, lo=0, hi=100)
    opacity = check_real("opacity", opacity, lo=0, hi=1)
    dashed = check_flag("dashed", dashed)
    return Polylines(x=np.zeros(2, np.float32), y=np.zeros(2, np.float32),
                     scales={"x": scales["x"], "y": scales["y"]}, colors=[color],
                     stroke_width=width, opacities=[opacity],
                     line_style="dashed" if dashed else "solid", visible=False,
                     preserve_domain=dict(_FIXED_DOMAIN))


def _rows(a: np.ndarray | Sequence, name: str) -> list[np.ndarray]:
    """The rows of polyline coordinates ``name``: a 1-D array is one line, a 2-D array a line
    per row; any other sequence is taken as an array if it is one, else as rows of different
    lengths."""
    if isinstance(a, np.ndarray | list | tuple):
        try:
            return _array_rows(real_array(name, a, (1, 2)))
        except ValueError:
            if isinstance(a, np.ndarray) or not all(
                    isinstance(r, Sequence | np.ndarray) and not isinstance(r, str) for r in a):
                raise
        return [real_array(f"{name} (a row)", r, (1,)) for r in a]  # rows of different lengths
    raise ValueError(f"{name} must be polylines, one row per line (a 1-D or 2-D array); got "
                     f"{type(a).__name__} {a!r:.80}")


def _array_rows(arr: np.ndarray) -> list[np.ndarray]:
    return [arr] if arr.ndim == 1 else list(arr)


def join_rows(x: np.ndarray | Sequence, y: np.ndarray | Sequence
              ) -> tuple[np.ndarray, np.ndarray]:
    """Polylines, one row per line (rows may differ in length; a single 1-D x is shared by
    every row of y), as one float32 polyline with a NaN point between consecutive lines:
    ``bqplot.Lines`` leaves points whose y is not finite undrawn, so the result draws the same
    lines as one SVG path. Empty rows are dropped.

    Why: a multi-line ``Lines`` mark draws one SVG group per row (a line path, an area path
    and a label) and animates each path through a d3 transition on every update; one path is
    less work for the browser. Non-finite values inside a row become 0 (``_f32``), so every NaN
    of the result is a gap.
    """
    if (isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.ndim == 2
            and x.shape == y.shape and x.shape[0] > 0 and x.shape[1] > 0
            and x.dtype.kind in "iuf" and y.dtype.kind in "iuf"):
        # the usual case, without a Python loop

        def join2(a: np.ndarray) -> np.ndarray:
            out = np.full((a.shape[0], a.shape[1] + 1), np.nan, np.float32)
            out[:, :-1] = _f32(a)
            return out.reshape(-1)[:-1]

        return join2(x), join2(y)
    xr, yr = _rows(x, "x"), _rows(y, "y")
    if len(xr) == 1 and len(yr) > 1:  # one x shared by every line
        xr = xr * len(yr)
    if len(xr) != len(yr) or any(a.shape != b.shape for a, b in zip(xr, yr, strict=True)):
        raise ValueError("x and y must hold the same number of rows of equal lengths; got "
                         f"{[a.shape[0] for a in xr]} and {[b.shape[0] for b in yr]}")
    kept = [(a, b) for a, b in zip(xr, yr, strict=True) if a.shape[0] > 0]
    if not kept:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    gap = np.full(1, np.nan, np.float32)

    def join(rows: list[np.ndarray]) -> np.ndarray:
        parts: list[np.ndarray] = []
        for r in rows:
            parts += [_f32(r), gap]
        return np.concatenate(parts[:-1])

    return join([a for a, _ in kept]), join([b for _, b in kept])


def set_lines(mark: bqplot.Lines, x: np.ndarray | Sequence, y: np.ndarray | Sequence,
              visible: bool = True) -> None:
    """Draw polylines (one row per line) as one path (``join_rows``), in one sync."""
    if not isinstance(mark, bqplot.Lines):
        raise ValueError(f"mark must be a lines mark (lines_mark); got {type(mark).__name__} "
                         f"{mark!r:.80}")
    visible = check_flag("visible", visible)
    with mark.hold_sync():
        if visible:
            mark.x, mark.y = join_rows(x, y)
        mark.visible = bool(visible)


def points_mark(scales: dict[str, bqplot.Scale], color: str = "white", size: int = 8,
                opacity: float = 0.6) -> bqplot.Scatter:
    """An empty scatter mark (samples, centres) in a panel's fixed scales; fill with
    ``set_points``."""
    scales = check_scales(scales)
    color = check_text("color", color)
    size = check_count("size", size, lo=0, hi=10_000)
    opacity = check_real("opacity", opacity, lo=0, hi=1)
    return bqplot.Scatter(x=np.zeros(0, np.float32), y=np.zeros(0, np.float32),
                          scales={"x": scales["x"], "y": scales["y"]}, colors=[color],
                          default_size=size, opacities=[opacity], stroke="black",
                          stroke_width=0.5, preserve_domain=dict(_FIXED_DOMAIN))


def set_points(mark: bqplot.Scatter, x: np.ndarray, y: np.ndarray) -> None:
    """Show the points ``(x[i], y[i])`` (1-D arrays of one length) in ``mark``, in one sync;
    a non-finite coordinate is drawn at 0."""
    if not isinstance(mark, bqplot.Scatter):
        raise ValueError(f"mark must be a scatter mark (points_mark); got "
                         f"{type(mark).__name__} {mark!r:.80}")
    x, y = real_array("x", x, (1,)), real_array("y", y, (1,))
    if x.shape != y.shape:
        raise ValueError(f"x and y must have one length; got shapes {x.shape} and {y.shape}")
    with mark.hold_sync():
        mark.x = _f32(x)
        mark.y = _f32(y)
