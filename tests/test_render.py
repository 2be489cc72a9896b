"""Kernel-side rendering: colour maps, palette indices and the PNGs sent to the browser."""

from __future__ import annotations

import numpy as np
import pytest

from nfwidgets.render import (
    COLOR_MAPS,
    MASK_COLOR,
    N_LEVELS,
    colorize,
    colorize_index,
    encode_png,
    encode_png_indexed,
    field_to_png,
    palette,
)


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
    assert idx[1, 1] == 255 and idx[0, 0] == 255
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


def test_palette_ends_with_the_mask_colour() -> None:
    p = palette("RdBu", (1, 2, 3))
    assert p.shape == (256, 3) and p.dtype == np.uint8 and tuple(p[255]) == (1, 2, 3)
    np.testing.assert_array_equal(p[:N_LEVELS], COLOR_MAPS["RdBu"])


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
    """The PNG's IDAT is deflated by ISA-L (a dependency, ~4× faster) when available, by zlib
    otherwise (and for levels above 3): any of them must decode to the same pixels."""
    import nfwidgets.render as render

    assert render._isal_zlib is not None, "isal is a dependency of nfwidgets"
    rng = np.random.default_rng(3)
    field = np.cumsum(rng.normal(size=(120, 90)), axis=1).astype(np.float32)
    pictures = [field_to_png(field, -20.0, 20.0), encode_png(colorize(field, -20.0, 20.0),
                                                             level=6)]
    monkeypatch.setattr(render, "_isal_zlib", None)
    pictures.append(field_to_png(field, -20.0, 20.0))
    decoded = [png_pixels(p) for p in pictures]
    assert all(np.array_equal(d, decoded[0]) for d in decoded[1:])
    assert pictures[0] != pictures[2]  # really two encoders
