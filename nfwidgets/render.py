"""Kernel-side rendering of scalar fields: colour maps, lines drawn into the picture, PNG encoding.

A field is mapped to palette indices, polylines (a deformed coordinate grid) are rasterised into
the same indices, and the result is encoded as an indexed PNG, all with numpy and deflate: the
browser then draws one image instead of a picture plus SVG paths.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from ._checks import shown
from ._colormaps import TABLES

try:  # ISA-L's deflate (the optional ``fast`` extra): the same zlib stream format, faster
    from isal import isal_zlib as _isal_zlib
except ImportError:  # zlib is the default
    _isal_zlib = None

__all__ = ["COLOR_MAPS", "LINE_ALPHA", "LINE_BIT", "LINE_COLOR", "MASK_COLOR", "MASK_INDEX",
           "N_LEVELS", "colorize", "colorize_index", "draw_lines", "encode_png",
           "encode_png_indexed", "field_to_png", "palette"]

#: Colours per map. A palette holds them and the mask colour (indices 0–127), then the same
#: 128 colours seen through a line (indices 128–255; see ``palette``).
N_LEVELS = 127
#: Palette index of masked and undefined cells.
MASK_INDEX = 127
#: The index bit of a pixel under a line: ``index | LINE_BIT`` shows ``index``'s colour blended
#: with the line colour, as a half-transparent line drawn over the picture would.
LINE_BIT = 128


def _levels(table: bytes) -> np.ndarray:
    """``N_LEVELS`` colours of a 256-entry table, level k taking the entry matplotlib shows at
    ``k / (N_LEVELS - 1)`` (``cmap(x)`` looks up entry ``int(256 x)``, the last for x = 1)."""
    lut = np.frombuffer(table, np.uint8).reshape(256, 3)
    idx = np.minimum((np.linspace(0.0, 1.0, N_LEVELS) * 256).astype(np.int64), 255)
    return lut[idx].copy()


#: Name → (N_LEVELS, 3) uint8 lookup table: matplotlib's viridis (perceptually uniform,
#: colour-blind safe; van der Walt & Smith 2015) and RdBu (ColorBrewer, diverging, colour-blind
#: safe; low = red, high = blue), from their exact 256-entry tables (``nfwidgets._colormaps``).
COLOR_MAPS: dict[str, np.ndarray] = {name: _levels(TABLES[name]) for name in ("viridis", "RdBu")}
MASK_COLOR = (190, 190, 190)
LINE_COLOR = (255, 255, 255)
#: Opacity of a line (the grid should not hide the density it lies on).
LINE_ALPHA = 0.45


def _check_field(field: np.ndarray, vmin: float, vmax: float, cmap: str) -> np.ndarray:
    if cmap not in COLOR_MAPS:
        raise ValueError(f"cmap must be one of {sorted(COLOR_MAPS)}; got {shown(cmap)}")
    if not (np.isfinite(vmin) and np.isfinite(vmax) and vmax > vmin):
        raise ValueError(f"need finite vmin < vmax; got vmin={vmin}, vmax={vmax}")
    f = np.asarray(field, dtype=np.float32)
    if f.ndim != 2:
        raise ValueError(f"field must be 2-D; got shape {f.shape}")
    return f


def palette(cmap: str = "viridis", mask_color: tuple[int, int, int] = MASK_COLOR,
            line_color: tuple[int, int, int] = LINE_COLOR, line_alpha: float = LINE_ALPHA
            ) -> np.ndarray:
    """The (256, 3) uint8 palette of ``cmap``: its ``N_LEVELS`` colours and ``mask_color``
    (index ``MASK_INDEX``), then each of those blended with ``line_color`` at opacity
    ``line_alpha``, ``(1 - α) c + α line`` (index ``i | LINE_BIT`` for colour ``i``)."""
    if cmap not in COLOR_MAPS:
        raise ValueError(f"cmap must be one of {sorted(COLOR_MAPS)}; got {shown(cmap)}")
    if not 0.0 <= line_alpha <= 1.0:
        raise ValueError(f"line_alpha must be in [0, 1]; got {shown(line_alpha)}")
    base = np.concatenate([COLOR_MAPS[cmap], np.asarray([mask_color], dtype=np.uint8)])
    lined = (1.0 - line_alpha) * base + line_alpha * np.asarray(line_color, dtype=np.float64)
    return np.concatenate([base, lined.round().astype(np.uint8)])


def colorize_index(field: np.ndarray, vmin: float, vmax: float, mask: np.ndarray | None = None,
                   cmap: str = "viridis") -> np.ndarray:
    """Map a 2-D float field to palette indices (H, W) uint8 with a fixed range [vmin, vmax].

    Level ``k`` of ``N_LEVELS`` covers ``[vmin + k h, vmin + (k + 1) h)``, ``h = (vmax - vmin)
    / N_LEVELS``; values outside the range take the end levels; NaN and masked cells take
    ``MASK_INDEX`` (the palette's mask colour). Row 0 of ``field`` is the *lowest* y
    (bqplot/heat-map layout); the result is flipped so that row 0 of the picture is the top.
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
        out[bad] = MASK_INDEX
    return np.ascontiguousarray(out[::-1])


def colorize(field: np.ndarray, vmin: float, vmax: float, cmap: str = "viridis",
             mask: np.ndarray | None = None,
             mask_color: tuple[int, int, int] = MASK_COLOR) -> np.ndarray:
    """Map a 2-D float field to RGB (H, W, 3) uint8: ``palette(cmap)[colorize_index(...)]``,
    so an RGB picture and the indexed PNG of the same field show the same colours."""
    return palette(cmap, mask_color)[colorize_index(field, vmin, vmax, mask, cmap)]


#: How far (in pixels) beyond the right or bottom edge a point still counts as on the edge.
_EDGE = 1e-6


def _clip(ua: np.ndarray, va: np.ndarray, du: np.ndarray, dv: np.ndarray,
          box: tuple[float, float, float, float]
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Liang–Barsky: the part of each segment ``p + t dp``, t ∈ [0, 1], inside ``box = (u_min,
    u_max, v_min, v_max)``, as ``(u, v, du, dv, keep)``; ``keep`` marks the segments that reach
    the box. An end on a side of the box takes that side's coordinate exactly (a long segment's
    ``p + t dp`` would lose it to rounding), and every end is clamped into the box."""
    ends = []
    for p, dp, lo, hi in ((ua, du, box[0], box[1]), (va, dv, box[2], box[3])):
        flat = dp == 0
        step = np.where(flat, 1.0, dp)
        t_lo, t_hi = (lo - p) / step, (hi - p) / step
        rising = dp > 0
        enter = np.where(flat, np.where((p >= lo) & (p <= hi), -np.inf, np.inf),
                         np.where(rising, t_lo, t_hi))
        leave = np.where(flat, np.inf, np.where(rising, t_hi, t_lo))
        ends.append((p, dp, lo, hi, enter, leave, np.where(rising, lo, hi),
                     np.where(rising, hi, lo)))
    t0 = np.maximum(0.0, np.maximum(ends[0][4], ends[1][4]))
    t1 = np.minimum(1.0, np.minimum(ends[0][5], ends[1][5]))
    keep = t0 <= t1
    out = []
    for p, dp, lo, hi, enter, leave, side_in, side_out in ends:
        start = np.where((t0 == enter) & (t0 > 0), side_in, p + t0 * dp)
        end = np.where((t1 == leave) & (t1 < 1), side_out, p + t1 * dp)
        start, end = np.clip(start, lo, hi), np.clip(end, lo, hi)
        out += [start, end - start]
    return out[0], out[2], out[1], out[3], keep


def draw_lines(index: np.ndarray, x: np.ndarray, y: np.ndarray,
               bounds: tuple[tuple[float, float], tuple[float, float]], width: int = 1
               ) -> None:
    """Rasterise polylines into a picture of palette indices, in place.

    ``x``, ``y`` are data coordinates, one polyline per row (1-D: one polyline); a point that
    is not finite breaks its line (the segments touching it are skipped). The picture spans
    ``bounds`` with row 0 at the top (as ``colorize_index``), so data point (x, y) lies at
    column ``u = (x - x0) W / (x1 - x0) - ½`` and row ``v = (y1 - y) H / (y1 - y0) - ½``.
    Each segment is clipped to the picture (Liang–Barsky) and sampled at max(|Δu|, |Δv|) + 1
    evenly spaced points (a DDA line: every pixel step is to one of 8 neighbours), each setting
    ``LINE_BIT`` in a ``width`` × ``width`` block of pixels (once per pixel, however many lines
    cross it).

    References:
        Y.-D. Liang and B. A. Barsky, "A new concept and method for line clipping", ACM TOG
        3(1), 1984.
    """
    if index.ndim != 2 or index.dtype != np.uint8:
        raise ValueError(f"index must be an (H, W) uint8 array; got {index.shape} {index.dtype}")
    if not (isinstance(width, int | np.integer) and 1 <= width <= 16):
        raise ValueError(f"width must be an integer in [1, 16] (pixels); got {shown(width)}")
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if xa.shape != ya.shape or xa.ndim not in (1, 2):
        raise ValueError("x and y must be 1-D or 2-D arrays of one shape (a row per line); got "
                         f"{xa.shape} and {ya.shape}")
    (x0, x1), (y0, y1) = bounds
    if not (np.isfinite([x0, x1, y0, y1]).all() and x1 > x0 and y1 > y0):
        raise ValueError(f"bounds must be finite ((x0, x1), (y0, y1)) with x0 < x1, y0 < y1; "
                         f"got {shown(bounds)}")
    h, w = index.shape
    xa, ya = np.atleast_2d(xa), np.atleast_2d(ya)
    if xa.shape[1] < 2:
        return
    with np.errstate(all="ignore"):  # huge or infinite points give non-finite pixels: skipped
        u = (xa - x0) * (w / (x1 - x0)) - 0.5
        v = (y1 - ya) * (h / (y1 - y0)) - 0.5
        # A point on the right (bottom) edge belongs to the last column (row), as one on the
        # left (top) edge to the first: a grid line along either edge is drawn alike.
        u[(u >= w - 0.5) & (u <= w - 0.5 + _EDGE)] = w - 0.5 - _EDGE
        v[(v >= h - 0.5) & (v <= h - 0.5 + _EDGE)] = h - 0.5 - _EDGE
        ua, va = u[:, :-1].ravel(), v[:, :-1].ravel()
        du, dv = u[:, 1:].ravel() - ua, v[:, 1:].ravel() - va
        # Segments with an end outside the picture (or not finite) are clipped to it, which
        # also bounds the number of pixels a segment can touch.
        out = ~((np.abs(u - (w - 1) / 2) <= (w + 1) / 2)
                & (np.abs(v - (h - 1) / 2) <= (h + 1) / 2))
        out_seg = (out[:, :-1] | out[:, 1:]).ravel()
        if out_seg.any():
            sub = np.flatnonzero(out_seg)
            sa, sb, sdu, sdv = ua[sub], va[sub], du[sub], dv[sub]
            ok = np.isfinite(sa) & np.isfinite(sb) & np.isfinite(sdu) & np.isfinite(sdv)
            ua[sub], va[sub], du[sub], dv[sub], keep = _clip(
                sa, sb, sdu, sdv, (-1.0, float(w), -1.0, float(h)))
            keep &= ok
            drop = sub[~keep]
            if drop.size:
                kept = np.ones(ua.shape, dtype=bool)
                kept[drop] = False
                ua, va, du, dv = ua[kept], va[kept], du[kept], dv[kept]
    steps = np.maximum(np.ceil(np.maximum(np.abs(du), np.abs(dv))), 1.0)  # ≤ W + H + 2
    counts = steps.astype(np.int64) + 1
    total = int(counts.sum())
    if total == 0:
        return
    k = np.arange(total, dtype=np.float64) - np.repeat(np.cumsum(counts) - counts, counts)
    shift = 0.5 - (width - 1) / 2  # the block's first pixel: centred on the line
    cols = np.repeat(ua + shift, counts) + k * np.repeat(du / steps, counts)
    rows = np.repeat(va + shift, counts) + k * np.repeat(dv / steps, counts)
    cols = np.floor(cols, out=cols).astype(np.int64)
    rows = np.floor(rows, out=rows).astype(np.int64)
    # Every sampled point is within the clip box [-1, W] × [-1, H], so with a margin of
    # ``pad`` pixels each lands in ``hit``; the width × width blocks are then unions of shifts.
    pad = width + 2
    hit = np.zeros((h + 2 * pad, w + 2 * pad), dtype=bool)
    hit[rows + pad, cols + pad] = True
    on = hit[pad:pad + h, pad:pad + w].copy()
    for dr in range(width):
        for dc in range(width):
            if dr or dc:
                on |= hit[pad - dr:pad - dr + h, pad - dc:pad - dc + w]
    index |= on.view(np.uint8) * np.uint8(LINE_BIT)


def _deflate(data: bytes, level: int) -> bytes:
    """A zlib stream of ``data`` (RFC 1950): ISA-L's (``isal``, if installed) for levels 0–3,
    which it compresses several times faster than ``zlib``; ``zlib`` otherwise."""
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
