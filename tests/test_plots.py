"""nfwidgets.plots: FieldPanel's double-buffered image widgets and drawn-in lines, polylines."""

from __future__ import annotations

import base64
import zlib
from collections import Counter

import ipywidgets
import numpy as np
import pytest
from helpers import image_png, split_rows

from nfwidgets.plots import (
    PNG_URL_PREFIX,
    FieldPanel,
    Polylines,
    join_rows,
    lines_mark,
    points_mark,
    set_lines,
)
from nfwidgets.render import LINE_BIT, colorize, colorize_index, field_to_png, palette

BOX = ((-1.0, 1.0), (-1.0, 1.0))


def _field(k: float) -> np.ndarray:
    y, x = np.mgrid[0:20, 0:30].astype(np.float32)
    return np.sin(x / 5 + k) * np.cos(y / 7) * 0.5 + 0.5


def test_the_mark_always_shows_the_last_picture() -> None:
    panel = FieldPanel("t", BOX, 0.0, 1.0)
    seen = set()
    for k in range(5):
        panel.update(_field(k))
        shown = image_png(panel.mark.image)
        assert shown == field_to_png(_field(k), 0.0, 1.0, "viridis")
        assert panel.last_png == shown
        assert panel.digest() == f"{zlib.crc32(shown):08x}"
        seen.add(id(panel.mark.image))
    assert len(seen) == 2, "two image widgets, alternating"
    # the same picture twice in a row still lands on the mark (and is a change of widget)
    before = panel.mark.image
    panel.update(_field(4))
    assert panel.mark.image is not before
    assert panel.mark.image.value == before.value
    panel.close()


def test_an_update_sends_the_picture_then_the_mark_and_opens_nothing(comm_log: list) -> None:
    panel = FieldPanel("t", BOX, 0.0, 1.0)
    panel.update(_field(0))
    panel.update(_field(1))
    comm_log.clear()
    panel.update(_field(2))
    opens = [c for m, c, _ in comm_log if m == "open"]
    closes = [c for m, c, _ in comm_log if m == "close"]
    assert opens == [] and closes == []
    updates = [(c, keys) for m, c, keys in comm_log if m == "update"]
    assert [c for c, _ in updates] == [panel.mark.image.comm.comm_id, panel.mark.comm.comm_id]
    assert "image" in updates[1][1]  # (the picture travels as a binary buffer)
    assert max(Counter(c for c, _ in updates).values()) == 1


def test_close_closes_both_images(comm_log: list) -> None:
    panel = FieldPanel("t", BOX, 0.0, 1.0)
    panel.update(_field(0))
    images = list(panel._images)
    panel.close()
    assert all(image.comm is None for image in images)


def test_pictures_travel_as_png_data_urls() -> None:
    """bqplot puts a "url" image's value into the mark's href as it is (no Blob, no
    createObjectURL in the browser)."""
    panel = FieldPanel("t", BOX, 0.0, 1.0)
    panel.update(_field(0))
    image = panel.mark.image
    assert image.format == "url"
    value = bytes(image.value)
    assert value.startswith(PNG_URL_PREFIX) and value.isascii()
    assert base64.b64decode(value[len(PNG_URL_PREFIX):]) == panel.last_png
    panel.close()


def test_image_png() -> None:
    png = field_to_png(_field(0), 0.0, 1.0, "viridis")
    assert image_png(ipywidgets.Image(value=png, format="png")) == png
    assert image_png(ipywidgets.Image(value=PNG_URL_PREFIX + base64.b64encode(png),
                                      format="url")) == png
    assert image_png(ipywidgets.Image(value=b"", format="url")) == b""
    with pytest.raises(ValueError, match="not a PNG data URL"):
        image_png(ipywidgets.Image(value=b"https://example.org/a.png", format="url"))


def _is_line(pixels: np.ndarray, field: np.ndarray) -> np.ndarray:
    """Where a picture of ``field`` (on the range [0, 1]) differs from its bare colours."""
    return (pixels != colorize(field, 0.0, 1.0)).any(axis=-1)


def test_lines_are_drawn_into_the_picture_and_toggle_off(png_pixels) -> None:
    # 40 × 40 picture of BOX (pixels 0.05 wide), in a panel whose plot area is 252 px wide
    panel = FieldPanel("p", BOX, 0.0, 1.0)
    field = np.full((40, 40), 0.25, np.float32)
    lines = (np.array([[-0.975, 0.975], [0.025, 0.025]]),   # row 0: horizontal, y = 0.025
             np.array([[0.025, 0.025], [-0.975, 0.975]]))   # row 1: vertical, x = 0.025
    panel.update(field, lines=lines)
    assert panel.lines is lines
    on = _is_line(png_pixels(panel.last_png), field)
    expected = np.zeros((40, 40), bool)
    expected[19, :] = True  # y = 0.025 is the centre of row 19 from the top
    expected[:, 20] = True  # x = 0.025 is the centre of column 20
    np.testing.assert_array_equal(on, expected)
    off_pixels = colorize(field, 0.0, 1.0)
    lined = palette()[colorize_index(field, 0.0, 1.0) | LINE_BIT]  # seen through a line
    np.testing.assert_array_equal(png_pixels(panel.last_png)[on], lined[on])
    panel.show_lines(None)  # the toggle: the same field without lines
    assert panel.lines is None
    np.testing.assert_array_equal(png_pixels(panel.last_png), off_pixels)
    assert panel.last_png == field_to_png(field, 0.0, 1.0)
    panel.show_lines(lines)  # and back, without a new field
    np.testing.assert_array_equal(_is_line(png_pixels(panel.last_png), field), expected)
    panel.update(field)  # a new field without lines has none
    assert panel.lines is None and not _is_line(png_pixels(panel.last_png), field).any()
    panel.close()


def test_lines_are_about_one_screen_pixel_wide(png_pixels) -> None:
    panel = FieldPanel("p", BOX, 0.0, 1.0, size=250)  # plot area 202 CSS px wide
    assert [panel.line_width(n) for n in (50, 100, 200, 300, 400)] == [1, 1, 1, 1, 2]
    lines = (np.array([-0.9, 0.9]), np.array([0.0, 0.0]))
    for n in (100, 200, 400):
        field = np.zeros((n, n), np.float32)
        panel.update(field, lines=lines)
        rows_hit = np.flatnonzero(_is_line(png_pixels(panel.last_png), field).any(axis=1))
        assert len(rows_hit) == panel.line_width(n)
    panel.close()


def test_non_finite_or_huge_lines_never_break_a_picture(png_pixels) -> None:
    panel = FieldPanel("p", BOX, 0.0, 1.0)
    x = np.array([[0.0, np.nan, 0.5, 1e300], [np.inf, -np.inf, 0.2, 0.3]])
    y = np.array([[-1e300, 0.5, np.nan, 0.0], [0.1, 0.2, 0.3, 3e38]])
    panel.update(_field(0), lines=(x, y))
    assert png_pixels(panel.last_png).shape == (20, 30, 3)
    with pytest.raises(ValueError, match="update"):
        FieldPanel("q", BOX, 0.0, 1.0).show_lines(None)
    panel.close()


def test_overlay_marks_leave_the_panel_scales_alone() -> None:
    # The panels' scales are fixed (min/max): overlay data must not make the front end scan
    # every point for a domain on each update (bqplot's update_domains), nor ever move them.
    panel = FieldPanel("p", ((-2.0, 2.0), (-1.0, 3.0)), 0.0, 1.0)
    for mark in (lines_mark(panel.scales), points_mark(panel.scales)):
        assert mark.preserve_domain == {"x": True, "y": True}
        assert mark.scales["x"] is panel.scales["x"] and mark.scales["y"] is panel.scales["y"]
    assert (panel.scales["x"].min, panel.scales["x"].max) == (-2.0, 2.0)
    assert (panel.scales["y"].min, panel.scales["y"].max) == (-1.0, 3.0)
    panel.close()


def test_polylines_are_drawn_as_one_path_with_gaps() -> None:
    # set_lines joins the rows into one array, a NaN point between rows (bqplot's Lines leaves
    # it undrawn), and split_rows gives the rows back
    panel = FieldPanel("p", BOX, 0.0, 1.0)
    mark = lines_mark(panel.scales)
    assert isinstance(mark, Polylines) and mark._model_name == "LinesModel"  # drawn as Lines
    rows_x = np.arange(12, dtype=np.float64).reshape(3, 4) / 10
    rows_y = -rows_x
    set_lines(mark, rows_x, rows_y)
    assert mark.visible and mark.x.ndim == 1 and mark.x.shape == (3 * 5 - 1,)
    assert mark.x.dtype == np.float32 and np.isnan(mark.x).sum() == 2
    assert np.flatnonzero(np.isnan(mark.y)).tolist() == [4, 9]
    back = split_rows(mark.x, mark.y)
    np.testing.assert_array_equal(np.stack([x for x, _ in back]), rows_x.astype(np.float32))
    np.testing.assert_array_equal(np.stack([y for _, y in back]), rows_y.astype(np.float32))
    set_lines(mark, rows_x, rows_y, visible=False)  # hiding keeps the last lines
    assert not mark.visible and mark.x.shape == (14,)
    panel.close()


def test_join_rows_takes_ragged_rows_and_cleans_values() -> None:
    x, y = join_rows([np.array([0.0, 1.0]), np.array([2.0, np.inf, 3.0])],
                     [np.array([5.0, 6.0]), np.array([np.nan, 7.0, 8.0])])
    # a non-finite value inside a row becomes 0 (never a second gap); one NaN between rows
    np.testing.assert_array_equal(x, np.array([0, 1, np.nan, 2, 0, 3], np.float32))
    np.testing.assert_array_equal(y, np.array([5, 6, np.nan, 0, 7, 8], np.float32))
    assert [len(a) for a, _ in split_rows(x, y)] == [2, 3]
    for one in ((np.array([1.0, 2.0]), np.array([3.0, 4.0])), ([1.0, 2.0], (3.0, 4.0))):
        one_x, one_y = join_rows(*one)  # a single line, as an array or a plain sequence
        assert one_x.tolist() == [1.0, 2.0] and one_y.tolist() == [3.0, 4.0]
    # one x shared by every line of y
    sx, sy = join_rows(np.array([0.0, 1.0]), np.array([[2.0, 3.0], [4.0, 5.0]]))
    np.testing.assert_array_equal(sx, np.array([0, 1, np.nan, 0, 1], np.float32))
    np.testing.assert_array_equal(sy, np.array([2, 3, np.nan, 4, 5], np.float32))
    # empty lines are dropped (never a stray gap), and no lines give empty arrays
    dx, dy = join_rows([[1.0, 2.0], [], [3.0]], [[1.0, 2.0], [], [3.0]])
    assert [len(a) for a, _ in split_rows(dx, dy)] == [2, 1]
    for none in (([], []), (np.zeros((3, 0)), np.zeros((3, 0))), ([[]], [[]])):
        ex, ey = join_rows(*none)
        assert ex.shape == ey.shape == (0,) and split_rows(ex, ey) == []


def test_polyline_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="same number of rows"):
        join_rows([np.zeros(2)] * 2, [np.zeros(2)] * 3)
    with pytest.raises(ValueError, match=r"\[2\] and \[3\]"):
        join_rows([np.zeros(2)], [np.zeros(3)])
    with pytest.raises(ValueError, match="1-D or 2-D"):
        join_rows(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="different places"):
        split_rows(np.array([0.0, np.nan, 1.0]), np.array([0.0, 1.0, np.nan]))
    with pytest.raises(ValueError, match="two 1-D arrays"):
        split_rows(np.zeros((2, 2)), np.zeros((2, 2)))
