"""Kernel-side rendering of scalar fields: colour maps and PNG encoding (numpy and deflate only).

Sending a small PNG is the fastest way measured here to put a 200² field on screen through
bqplot (an ``Image`` mark): ~50 ms slider → pixels against ~200 ms for a ``HeatMap``.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

try:  # ISA-L's deflate: the same zlib stream format, ~4× faster than zlib at level 1 here
    from isal import isal_zlib as _isal_zlib
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
    _isal_zlib = None

__all__ = ["COLOR_MAPS", "MASK_COLOR", "N_LEVELS", "colorize", "colorize_index", "encode_png",
           "encode_png_indexed", "field_to_png", "palette"]

# Anchor colours of the maps bqplot/d3 draw under the same names, interpolated linearly.
# viridis (van der Walt & Smith 2015): perceptually uniform and colour-blind safe.
_VIRIDIS = [(68, 1, 84), (72, 40, 120), (62, 73, 137), (49, 104, 142), (38, 130, 142),
            (31, 158, 137), (53, 183, 121), (110, 206, 88), (253, 231, 37)]
# RdBu (ColorBrewer, 11 classes): diverging, colour-blind safe; low = red, high = blue.
_RDBU = [(103, 0, 31), (178, 24, 43), (214, 96, 77), (244, 165, 130), (253, 219, 199),
         (247, 247, 247), (209, 229, 240), (146, 197, 222), (67, 147, 195), (33, 102, 172),
         (5, 48, 97)]


def _lut(anchors: list[tuple[int, int, int]], n: int = 256) -> np.ndarray:
    a = np.asarray(anchors, dtype=np.float64)
    t = np.linspace(0.0, 1.0, a.shape[0])
    s = np.linspace(0.0, 1.0, n)
    return np.stack([np.interp(s, t, a[:, k]) for k in range(3)], axis=1).round().astype(np.uint8)


#: Colours per map: index 255 of a palette is reserved for masked and undefined cells.
N_LEVELS = 255
#: Name → (N_LEVELS, 3) uint8 lookup table.
COLOR_MAPS: dict[str, np.ndarray] = {"viridis": _lut(_VIRIDIS, N_LEVELS),
                                     "RdBu": _lut(_RDBU, N_LEVELS)}
MASK_COLOR = (190, 190, 190)


def _check_field(field: np.ndarray, vmin: float, vmax: float, cmap: str) -> np.ndarray:
    if cmap not in COLOR_MAPS:
        raise ValueError(f"cmap must be one of {sorted(COLOR_MAPS)}; got {cmap!r}")
    if not (np.isfinite(vmin) and np.isfinite(vmax) and vmax > vmin):
        raise ValueError(f"need finite vmin < vmax; got vmin={vmin}, vmax={vmax}")
    f = np.asarray(field, dtype=np.float32)
    if f.ndim != 2:
        raise ValueError(f"field must be 2-D; got shape {f.shape}")
    return f


def palette(cmap: str = "viridis", mask_color: tuple[int, int, int] = MASK_COLOR) -> np.ndarray:
    """The (256, 3) uint8 palette of ``cmap``: its ``N_LEVELS`` colours, then ``mask_color``."""
    if cmap not in COLOR_MAPS:
        raise ValueError(f"cmap must be one of {sorted(COLOR_MAPS)}; got {cmap!r}")
    return np.concatenate([COLOR_MAPS[cmap], np.asarray([mask_color], dtype=np.uint8)])


def colorize_index(field: np.ndarray, vmin: float, vmax: float, mask: np.ndarray | None = None,
                   cmap: str = "viridis") -> np.ndarray:
    """Map a 2-D float field to palette indices (H, W) uint8 with a fixed range [vmin, vmax].

    Level ``k`` of ``N_LEVELS`` covers ``[vmin + k h, vmin + (k + 1) h)``, ``h = (vmax - vmin)
    / N_LEVELS``; values outside the range take the end levels; NaN and masked cells take index
    255 (the palette's mask colour). Row 0 of ``field`` is the *lowest* y (bqplot/heat-map
    layout); the result is flipped so that row 0 of the picture is the top.
    """
    f = _check_field(field, vmin, vmax, cmap)
    idx = (f - np.float32(vmin)) * np.float32(N_LEVELS / (vmax - vmin))
    bad = np.isnan(idx)
    np.clip(idx, 0, N_LEVELS - 1, out=idx)  # ±inf go to the end levels
    if bad.any():
        idx[bad] = 0  # NaN cannot be cast; these cells take the mask index below
    out = idx.astype(np.uint8)
    if mask is not None:
        bad |= np.asarray(mask, dtype=bool)
    if bad.any():
        out[bad] = 255
    return np.ascontiguousarray(out[::-1])


def colorize(field: np.ndarray, vmin: float, vmax: float, cmap: str = "viridis",
             mask: np.ndarray | None = None,
             mask_color: tuple[int, int, int] = MASK_COLOR) -> np.ndarray:
    """Map a 2-D float field to RGB (H, W, 3) uint8: ``palette(cmap)[colorize_index(...)]``,
    so an RGB picture and the indexed PNG of the same field show the same colours."""
    return palette(cmap, mask_color)[colorize_index(field, vmin, vmax, mask, cmap)]


def _deflate(data: bytes, level: int) -> bytes:
    """A zlib stream of ``data`` (RFC 1950). ISA-L (``isal``) for levels 0–3: a 200² palette
    picture takes ~60–85 µs against ~260–380 µs with ``zlib.compress`` (measured here), a third
    of a millisecond of every redraw per panel; ``zlib`` for higher levels or without isal."""
    if _isal_zlib is not None and 0 <= level <= 3:
        return _isal_zlib.compress(data, level)
    return zlib.compress(data, level)


def _png(header: bytes, chunks: list[tuple[bytes, bytes]], raw: np.ndarray, level: int) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    body = b"".join(chunk(tag, data) for tag, data in chunks)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + body
            + chunk(b"IDAT", _deflate(raw.tobytes(), level)) + chunk(b"IEND", b""))


def encode_png(rgb: np.ndarray, level: int = 1) -> bytes:
    """Encode an (H, W, 3) uint8 image as an RGB PNG (no filtering, deflate ``level``): W3C PNG."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 array; got {rgb.shape} {rgb.dtype}")
    h, w, _ = rgb.shape
    raw = np.zeros((h, w * 3 + 1), dtype=np.uint8)  # filter byte 0 (None) per row
    raw[:, 1:] = rgb.reshape(h, w * 3)
    return _png(struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0), [], raw, level)


def encode_png_indexed(index: np.ndarray, colors: np.ndarray, level: int = 1) -> bytes:
    """Encode (H, W) uint8 palette indices with a (≤256, 3) uint8 palette as an indexed PNG
    (colour type 3: one byte a pixel, a third of RGB's size to compress and send)."""
    if index.ndim != 2 or index.dtype != np.uint8:
        raise ValueError(f"expected an (H, W) uint8 array; got {index.shape} {index.dtype}")
    if colors.ndim != 2 or colors.shape[1] != 3 or not 1 <= colors.shape[0] <= 256:
        raise ValueError(f"expected a (≤256, 3) palette; got shape {colors.shape}")
    h, w = index.shape
    raw = np.zeros((h, w + 1), dtype=np.uint8)  # filter byte 0 (None) per row
    raw[:, 1:] = index
    plte = np.ascontiguousarray(colors, dtype=np.uint8).tobytes()
    return _png(struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0), [(b"PLTE", plte)], raw, level)


def field_to_png(field: np.ndarray, vmin: float, vmax: float, cmap: str = "viridis",
                 mask: np.ndarray | None = None) -> bytes:
    """A field on a grid straight to an indexed PNG (same colours as ``colorize``)."""
    return encode_png_indexed(colorize_index(field, vmin, vmax, mask, cmap), palette(cmap))
