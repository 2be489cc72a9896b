"""Kernel-side rendering: colour maps, palette indices and the PNGs sent to the browser."""

from __future__ import annotations

import numpy as np
import pytest

from nfwidgets.render import (
    COLOR_MAPS,
    LINE_ALPHA,
    LINE_BIT,
    LINE_COLOR,
    MASK_COLOR,
    MASK_INDEX,
    N_LEVELS,
    colorize,
    colorize_index,
    draw_lines,
    encode_png,
    encode_png_indexed,
    field_to_png,
    palette,
)

BOX = ((-2.0, 2.0), (-1.0, 1.0))


def test_levels_cover_the_range_and_clip_outside() -> None:
    field = np.array([[-1.0, 0.0, 0.5, 0.999999, 1.0, 7.0, np.inf, -np.inf]], np.float32)
    idx = colorize_index(field, 0.0, 1.0)
    assert idx.tolist() == [[0, 0, N_LEVELS // 2, N_LEVELS - 1, N_LEVELS - 1, N_LEVELS - 1,
                             N_LEVELS - 1, 0]]


def test_nan_and_masked_cells_take_the_mask_index_and_rows_are_flipped() -> None:
    field = np.array([[0.1, np.nan], [0.2, 0.3]], np.float32)
    mask = np.array([[False, False], [True, False]])
    idx = colorize_index(field, 0.0, 1.0, mask)
    # row 0 of the field is the lowest y, so it becomes the last row of the picture
    assert idx[1, 1] == MASK_INDEX and idx[0, 0] == MASK_INDEX
    assert idx[1, 0] == int(0.1 * N_LEVELS) and idx[0, 1] == int(0.3 * N_LEVELS)
    assert tuple(colorize(field, 0.0, 1.0, mask=mask)[0, 0]) == MASK_COLOR


@pytest.mark.parametrize("cmap", sorted(COLOR_MAPS))
def test_indexed_png_shows_exactly_the_rgb_colours(cmap: str, png_pixels) -> None:
    rng = np.random.default_rng(0)
    field = rng.normal(size=(37, 53)).astype(np.float32)
    field[3, 4] = np.nan
    mask = rng.random((37, 53)) < 0.1
    png = field_to_png(field, -2.0, 2.0, cmap, mask)
    rgb = colorize(field, -2.0, 2.0, cmap, mask)
    np.testing.assert_array_equal(png_pixels(png), rgb)
    np.testing.assert_array_equal(png_pixels(encode_png(rgb)), rgb)
    assert len(png) < len(encode_png(rgb))  # one byte a pixel instead of three


def test_palette_holds_the_colours_then_the_same_seen_through_a_line() -> None:
    p = palette("RdBu", (1, 2, 3))
    assert p.shape == (256, 3) and p.dtype == np.uint8
    assert N_LEVELS == MASK_INDEX == LINE_BIT - 1 == 127
    np.testing.assert_array_equal(p[:N_LEVELS], COLOR_MAPS["RdBu"])
    assert tuple(p[MASK_INDEX]) == (1, 2, 3)
    for i in (0, 60, N_LEVELS - 1, MASK_INDEX):  # (1 - α) colour + α line colour
        blend = (1 - LINE_ALPHA) * p[i] + LINE_ALPHA * np.asarray(LINE_COLOR)
        np.testing.assert_array_equal(p[i | LINE_BIT], blend.round())
    opaque = palette("viridis", line_color=(4, 5, 6), line_alpha=1.0)
    assert {tuple(c) for c in opaque[LINE_BIT:]} == {(4, 5, 6)}
    with pytest.raises(ValueError, match="line_alpha"):
        palette(line_alpha=1.5)


@pytest.mark.parametrize("cmap", sorted(COLOR_MAPS))
def test_colour_maps_are_matplotlibs(cmap: str) -> None:
    """The shipped 256-entry tables are matplotlib's, and level k shows the colour matplotlib
    shows at k / (N_LEVELS - 1)."""
    matplotlib = pytest.importorskip("matplotlib")
    from nfwidgets._colormaps import TABLES

    mpl = matplotlib.colormaps[cmap]
    table = np.frombuffer(TABLES[cmap], np.uint8).reshape(256, 3)
    np.testing.assert_array_equal(table, mpl(np.linspace(0.0, 1.0, 256), bytes=True)[:, :3])
    np.testing.assert_array_equal(COLOR_MAPS[cmap],
                                  mpl(np.linspace(0.0, 1.0, N_LEVELS), bytes=True)[:, :3])


@pytest.mark.parametrize(("args", "match"), [
    ((np.zeros((2, 2)), 0.0, 1.0, None, "jet"), "cmap must be one of"),
    ((np.zeros((2, 2)), 1.0, 1.0), "vmin < vmax"),
    ((np.zeros((2, 2)), 0.0, np.nan), "vmin < vmax"),
    ((np.zeros(4), 0.0, 1.0), "must be 2-D"),
])
def test_bad_input_is_named(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        colorize_index(*args)


def test_encoders_reject_wrong_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(H, W\) uint8"):
        encode_png_indexed(np.zeros((2, 2, 3), np.uint8), palette())
    with pytest.raises(ValueError, match="palette"):
        encode_png_indexed(np.zeros((2, 2), np.uint8), np.zeros((300, 3), np.uint8))
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8"):
        encode_png(np.zeros((2, 2), np.uint8))


def test_isal_and_zlib_deflate_give_the_same_picture(png_pixels, monkeypatch) -> None:
    """The PNG's IDAT is deflated by ISA-L when the optional ``isal`` is installed, by zlib
    otherwise (and for levels above 3): any of them must decode to the same pixels."""
    pytest.importorskip("isal")
    import nfwidgets.render as render

    assert render._isal_zlib is not None
    rng = np.random.default_rng(3)
    field = np.cumsum(rng.normal(size=(120, 90)), axis=1).astype(np.float32)
    pictures = [field_to_png(field, -20.0, 20.0), encode_png(colorize(field, -20.0, 20.0),
                                                             level=6)]
    monkeypatch.setattr(render, "_isal_zlib", None)
    pictures.append(field_to_png(field, -20.0, 20.0))
    decoded = [png_pixels(p) for p in pictures]
    assert all(np.array_equal(d, decoded[0]) for d in decoded[1:])
    assert pictures[0] != pictures[2]  # really two encoders


def _lines_at(index: np.ndarray) -> set[tuple[int, int]]:
    return {(int(r), int(c)) for r, c in zip(*np.nonzero(index & LINE_BIT), strict=True)}


def test_lines_land_on_the_pixels_of_their_data_coordinates() -> None:
    # a 40 × 20 picture of BOX: a pixel is 0.1 wide and tall; column c is centred at
    # x = -2 + 0.1 (c + ½), row r (from the top) at y = 1 - 0.1 (r + ½)
    index = np.zeros((20, 40), np.uint8)
    draw_lines(index, np.array([-1.95, 1.95]), np.array([0.55, 0.55]), BOX)  # horizontal
    assert _lines_at(index) == {(4, c) for c in range(40)}
    index[:] = 0
    draw_lines(index, np.array([[0.05, 0.05]]), np.array([[-0.95, 0.95]]), BOX)  # vertical
    assert _lines_at(index) == {(r, 20) for r in range(20)}
    index[:] = 0
    draw_lines(index, np.array([-1.95, -0.05]), np.array([0.95, -0.95]), BOX)  # diagonal
    assert _lines_at(index) == {(k, k) for k in range(20)}
    index[:] = 7
    draw_lines(index, np.array([-1.95, -0.05]), np.array([0.95, -0.95]), BOX, width=2)
    # a 2 × 2 block a point: the line grows by one pixel down and right; each pixel keeps its
    # colour index under the line bit
    assert _lines_at(index) >= {(k, k) for k in range(20)}
    assert set(np.unique(index)) == {7, 7 | LINE_BIT} and len(_lines_at(index)) == 20 * 3 - 1
    draw_lines(index, np.array([-1.95, -0.05]), np.array([0.95, -0.95]), BOX)  # again: no-op
    assert set(np.unique(index)) == {7, 7 | LINE_BIT}


def test_a_polyline_per_row_and_non_finite_points_break_lines() -> None:
    index = np.zeros((20, 40), np.uint8)
    x = np.array([[-1.95, -1.05, np.nan, 1.05, 1.95], [-1.95, -1.95, -1.95, -1.95, -1.95]])
    y = np.array([[0.05, 0.05, 0.05, 0.05, 0.05], [-0.95, -0.45, np.inf, 0.45, 0.95]])
    draw_lines(index, x, y, BOX)
    row9 = {(9, c) for c in range(10)} | {(9, c) for c in range(30, 40)}
    col0 = {(r, 0) for r in range(0, 6)} | {(r, 0) for r in range(14, 20)}
    assert _lines_at(index) == row9 | col0


def test_lines_outside_or_huge_are_clipped_and_never_crash() -> None:
    index = np.zeros((20, 40), np.uint8)
    # from far left to far right through y = 0.05: clipped to the picture, one full row
    draw_lines(index, np.array([-1e30, 1e30]), np.array([0.05, 0.05]), BOX)
    assert _lines_at(index) == {(9, c) for c in range(40)}
    index[:] = 0
    draw_lines(index, np.array([5.0, 6.0, 5.0]), np.array([0.0, 0.0, 5.0]), BOX)  # outside
    assert not index.any()
    bad = np.array([0.0, 1e308, -1e308, np.inf, -np.inf, np.nan, 1e-300, 0.5, 3e38])
    rng = np.random.default_rng(0)
    for _ in range(20):
        x, y = rng.choice(bad, size=(3, 6)), rng.choice(bad, size=(3, 6))
        draw_lines(index, x, y, BOX)
        draw_lines(index, x.astype(np.float32), y.astype(np.float32), BOX, width=3)
    assert set(np.unique(index)) <= {0, LINE_BIT}
    draw_lines(index, np.zeros((3, 1)), np.zeros((3, 1)), BOX)  # no segment: nothing
    draw_lines(index, np.zeros((0, 5)), np.zeros((0, 5)), BOX)


@pytest.mark.parametrize(("args", "match"), [
    ((np.zeros((2, 2), np.float32), [0.0], [0.0], BOX), r"\(H, W\) uint8"),
    ((np.zeros((2, 2), np.uint8), [0.0, 1.0], [0.0], BOX), "one shape"),
    ((np.zeros((2, 2), np.uint8), np.zeros((1, 1, 2)), np.zeros((1, 1, 2)), BOX), "1-D or 2-D"),
    ((np.zeros((2, 2), np.uint8), [0.0], [0.0], ((1.0, 1.0), (0.0, 1.0))), "bounds"),
    ((np.zeros((2, 2), np.uint8), [0.0], [0.0], ((0.0, 1.0), (0.0, np.nan))), "bounds"),
])
def test_draw_lines_rejects_bad_input(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        draw_lines(*args)
    with pytest.raises(ValueError, match="width"):
        draw_lines(np.zeros((2, 2), np.uint8), [0.0], [0.0], BOX, width=0)


def test_lines_along_the_edges_are_drawn_on_all_four_sides() -> None:
    index = np.zeros((20, 40), np.uint8)
    (x0, x1), (y0, y1) = BOX
    x = np.array([[x0, x0], [x1, x1], [x0, x1], [x0, x1]])
    y = np.array([[y0, y1], [y0, y1], [y0, y0], [y1, y1]])
    draw_lines(index, x, y, BOX)
    border = np.zeros((20, 40), bool)
    border[[0, -1], :] = True
    border[:, [0, -1]] = True
    np.testing.assert_array_equal(index == LINE_BIT, border)
