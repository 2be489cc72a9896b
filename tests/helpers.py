"""Test-only helpers: read back what the plots send (pictures, joined polylines)."""

from __future__ import annotations

import base64
import struct
import zlib

import ipywidgets
import numpy as np

from nfwidgets.plots import PNG_URL_PREFIX, FieldPanel
from nfwidgets.render import colorize_index, draw_lines, palette


def image_png(image: ipywidgets.Image) -> bytes:
    """The PNG bytes an image widget shows: its value, or for a ``"url"`` widget holding a
    ``data:image/png;base64,…`` URL (as ``FieldPanel`` sends them), the decoded URL; ``b""``
    when empty. Other URLs raise ``ValueError``."""
    value = bytes(image.value)
    if image.format != "url" or not value:
        return value
    if not value.startswith(PNG_URL_PREFIX):
        raise ValueError(f"not a PNG data URL: {value[:40]!r}…")
    return base64.b64decode(value[len(PNG_URL_PREFIX):], validate=True)


def png_pixels(png: bytes) -> np.ndarray:
    """Decode the PNGs nfwidgets writes (8-bit RGB or indexed, filter 0) to an (H, W, 3) array,
    independently of the encoder: chunks parsed by hand, CRCs checked."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks = 8, {}
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        tag, data = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(tag + data) & 0xFFFFFFFF, f"bad CRC in {tag!r}"
        chunks.setdefault(tag, b"")
        chunks[tag] += data
        pos += 12 + length
    w, h, depth, ctype, _, _, _ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and ctype in (2, 3), (depth, ctype)
    channels = 3 if ctype == 2 else 1
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, w * channels + 1)
    assert not raw[:, 0].any(), "only filter type 0 is expected"
    pixels = raw[:, 1:].reshape(h, w, channels)
    if ctype == 2:
        return pixels.copy()
    colors = np.frombuffer(chunks[b"PLTE"], np.uint8).reshape(-1, 3)
    return colors[pixels[:, :, 0]]


def split_rows(x: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The polylines of a mark filled by ``plots.set_lines``: ``(x, y)`` per line, in order (the
    inverse of ``plots.join_rows``, empty rows aside; empty arrays give no line). Raises
    ``ValueError`` if x and y have gaps in different places, which would draw points that are
    on no line."""
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"expected two 1-D arrays of one shape; got {x.shape} and {y.shape}")
    if x.shape[0] == 0:
        return []
    gaps = np.isnan(x)
    if not np.array_equal(gaps, np.isnan(y)):
        raise ValueError("x and y have NaN gaps in different places")
    cuts = np.flatnonzero(gaps)
    bounds = zip(np.r_[0, cuts + 1], np.r_[cuts, x.shape[0]], strict=True)
    return [(x[a:b], y[a:b]) for a, b in bounds]


def panel_pixels(panel: FieldPanel, field: np.ndarray, mask: np.ndarray | None = None
                 ) -> np.ndarray:
    """The (H, W, 3) RGB picture ``panel`` should show for ``field``: the colour-mapped field
    with the panel's current lines (``panel.lines``) drawn into it."""
    index = colorize_index(field, panel.vmin, panel.vmax, mask, panel.cmap)
    if panel.lines is not None:
        draw_lines(index, *panel.lines, panel.bounds, panel.line_width(index.shape[1]))
    return palette(panel.cmap)[index]
