"""Images: batches of 8×8 digits (integer levels, binary, dequantised, sampled values) and
Glow's feature maps."""

from __future__ import annotations

import math

import torch

from .core import WRONG_TYPES, Bad, Judge, Kind, no_none, rows_propagate


def _t(good: object) -> torch.Tensor:
    return torch.as_tensor(good).detach().clone()


def _set(good: object, value: float, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``good`` with its first entry set to ``value`` (as ``dtype``, default float64 for a
    value an integer tensor cannot hold)."""
    t = _t(good)
    t = t.to(dtype if dtype is not None else (t.dtype if t.is_floating_point()
                                              else torch.float64))
    t.view(-1)[0] = value
    return t


def _pixels(good: object, n: int) -> torch.Tensor:
    return _t(good).reshape(-1, 64)[:, :n].clone() if n <= 64 else torch.cat(
        [_t(good).reshape(-1, 64), _t(good).reshape(-1, 64)[:, :n - 64]], 1)


def _shape_bads() -> tuple[Bad, ...]:
    """Wrong shapes of a batch of 8×8 images (any of (N, 8, 8), (N, 64), (N, 1, 8, 8))."""
    return (Bad("wrong pixel count (N, 8, 9)", lambda g: torch.cat(
                [_t(g).reshape(-1, 8, 8), _t(g).reshape(-1, 8, 8)[:, :, :1]], 2)),
            Bad("63 pixels", lambda g: _pixels(g, 63)),
            Bad("65 pixels", lambda g: _pixels(g, 65)),
            Bad("1-D (N·64,)", lambda g: _t(g).reshape(-1)),
            Bad("0-d", lambda g: _t(g).reshape(-1)[0]),
            Bad("complex", lambda g: _t(g).to(torch.complex128)))


def _image_variants(good: object) -> list[tuple[str, object]]:
    t = _t(good).reshape(-1, 8, 8)
    return [("(N, 64)", t.reshape(-1, 64)), ("(N, 1, 8, 8)", t[:, None]),
            ("numpy", t.numpy().copy()), ("float64", _t(good).double())]


def images() -> Kind:
    """Integer images (N, 8, 8) of levels 0–16 (``data.check_images``): NaN/inf refused."""
    return Kind("images (N, 8, 8) of levels 0–16", (
        *WRONG_TYPES, *_shape_bads(),
        Bad("level 17", lambda g: _set(g, 17, torch.int64)),
        Bad("level -1", lambda g: _set(g, -1, torch.int64)),
        Bad("fractional level", lambda g: _set(g, 0.5)),
        Bad("NaN pixel", lambda g: _set(g, math.nan)),
        Bad("inf pixel", lambda g: _set(g, math.inf)),
        Bad("bool", lambda g: _t(g) > 0),
        Bad("empty", lambda g: _t(g)[:0], must_fail=False),
        Bad("float that requires grad", lambda g: _t(g).double().requires_grad_(True),
            must_fail=False),
        Bad("nested list", lambda g: _t(g).tolist(), must_fail=False),
    ), None, _image_variants)


def dequantised() -> Kind:
    """Dequantised images v (N, 8, 8) in [0, 1) (``Glow.log_prob``): NaN/inf refused."""
    return Kind("dequantised images (N, 8, 8) in [0, 1)", (
        *WRONG_TYPES, *_shape_bads(),
        Bad("above 1", lambda g: _set(g, 1.5)), Bad("below 0", lambda g: _set(g, -0.5)),
        Bad("huge", lambda g: _set(g, 3e38)),
        Bad("NaN pixel", lambda g: _set(g, math.nan)),
        Bad("inf pixel", lambda g: _set(g, math.inf)),
        Bad("integer levels", lambda g: (_t(g) * 17).floor().long()),
        Bad("bool", lambda g: _t(g) > 0.5),
        Bad("empty", lambda g: _t(g)[:0], must_fail=False),
        Bad("requires grad", lambda g: _t(g).requires_grad_(True), must_fail=False),
    ), None, _image_variants)


def _level_of_first(value: int) -> Judge:
    def check(result: object, good: object) -> str | None:
        from nfwidgets.models.glow import to_levels

        want = to_levels(good)
        want.view(-1)[0] = value
        return None if torch.equal(result, want) else (
            f"expected level {value} in the first pixel and the others unchanged")
    return check


def sample_values() -> Kind:
    """Sampled values (N, 8, 8) for ``to_levels``: any real value; NaN → level 0, ±inf →
    16/0, above 1 → 16 (documented, judged)."""
    return Kind("sample values (N, 8, 8)", (
        *WRONG_TYPES, *_shape_bads(),
        Bad("bool", lambda g: _t(g) > 0.5),
        Bad("int64", lambda g: (_t(g) * 17).floor().long(), must_fail=False),
        Bad("empty", lambda g: _t(g)[:0], must_fail=False),
        Bad("NaN pixel", lambda g: _set(g, math.nan), False, _level_of_first(0)),
        Bad("inf pixel", lambda g: _set(g, math.inf), False, _level_of_first(16)),
        Bad("-inf pixel", lambda g: _set(g, -math.inf), False, _level_of_first(0)),
        Bad("above 1", lambda g: _set(g, 1.5), False, _level_of_first(16)),
    ), None, _image_variants)


def binary_images(layout: str = "batch", *, optional: bool = False) -> Kind:
    """Binarised digits, 0/1 pixels (``FlowVAE``'s data, ``check_binary``): a batch (N, 64)
    (``layout="batch"``) or one image (64,) (``"one"``). A grey, NaN or infinite pixel is
    refused; a bool or int tensor of 0/1 pixels may be accepted."""
    if layout not in ("batch", "one"):
        raise ValueError(f"layout must be 'batch' or 'one'; got {layout!r}")
    common = (
        *no_none(WRONG_TYPES, optional),
        Bad("complex", lambda g: _t(g).to(torch.complex128)),
        Bad("pixel 0.5", lambda g: _set(g, 0.5)), Bad("pixel 2", lambda g: _set(g, 2.0)),
        Bad("pixel -1", lambda g: _set(g, -1.0)),
        Bad("NaN pixel", lambda g: _set(g, math.nan)),
        Bad("inf pixel", lambda g: _set(g, math.inf)),
        Bad("huge pixel", lambda g: _set(g, 3e38)),
        Bad("list with a str", lambda g: [*_t(g).reshape(-1).tolist()[:-1], "x"]),
        Bad("bool", lambda g: _t(g) > 0, must_fail=False),
        Bad("int64", lambda g: _t(g).long(), must_fail=False),
        Bad("requires grad", lambda g: _t(g).requires_grad_(True), must_fail=False))
    if layout == "batch":
        return Kind("binary images (N, 64)", (
            *common, Bad("63 pixels", lambda g: _pixels(g, 63)),
            Bad("65 pixels", lambda g: _pixels(g, 65)),
            Bad("3-D (N, 64, 1)", lambda g: _t(g).reshape(-1, 64)[..., None]),
            Bad("0-d", lambda g: _t(g).reshape(-1)[0]),
            Bad("empty", lambda g: _t(g).reshape(-1, 64)[:0], must_fail=False),
        ), None, lambda g: [("float64", _t(g).double()),
                            ("one image (64,)", _t(g).reshape(-1, 64)[0])])
    return Kind("one binary image (64,)", (
        *common, Bad("63 pixels", lambda g: _t(g)[:63].clone()),
        Bad("65 pixels", lambda g: torch.cat([_t(g), _t(g)[:1]])),
        Bad("2-D", lambda g: torch.stack([_t(g), _t(g)])),
        Bad("a float", lambda _g: 0.5, must_fail=False),
        Bad("huge entries", lambda g: torch.full_like(_t(g), torch.finfo(_t(g).dtype).max),
            must_fail=False),
        Bad("empty", lambda g: _t(g)[:0]),
    ), None, lambda g: [("list", _t(g).tolist()), ("numpy", _t(g).numpy().copy())])


def _example(good: object, value: float) -> torch.Tensor:
    t = _t(good)
    t[0] = value
    return t


def maps(nonfinite: str, *, channels_fixed: bool = True, even_sides: bool = False) -> Kind:
    """Feature maps (N, C, H, W) for Glow's layers: the layer fixes C (``channels_fixed``)
    or needs even H and W (``even_sides``: Squeeze); a NaN example is refused
    (``nonfinite="reject"``) or stays in its example of the first output (``"propagate"``;
    the log-dets of ActNorm and the 1×1 conv do not depend on the input)."""
    reject = nonfinite == "reject"
    on = None if reject else rows_propagate(slice(0, 1))
    bads = [*WRONG_TYPES,
            Bad("3-D", lambda g: _t(g)[:, 0]), Bad("5-D", lambda g: _t(g)[..., None]),
            Bad("0-d", lambda g: _t(g).reshape(-1)[0]),
            Bad("complex", lambda g: _t(g).to(torch.complex128)),
            Bad("bool", lambda g: _t(g) > 0),
            Bad("int64", lambda g: _t(g).round().long(), must_fail=False),
            Bad("empty", lambda g: _t(g)[:0], must_fail=False),
            Bad("requires grad", lambda g: _t(g).requires_grad_(True), must_fail=False),
            Bad("numpy", lambda g: _t(g).numpy().copy(), must_fail=False),
            Bad("NaN example", lambda g: _example(g, math.nan), must_fail=reject,
                on_success=on),
            Bad("inf example", lambda g: _example(g, math.inf), must_fail=reject,
                on_success=on),
            Bad("huge values", lambda g: _example(g, 3e38), must_fail=False)]
    if channels_fixed:
        bads.append(Bad("one channel too many", lambda g: torch.cat([_t(g), _t(g)[:, :1]], 1)))
    if even_sides:
        bads.append(Bad("odd width", lambda g: _t(g)[..., :-1].clone()))
    return Kind(f"maps (N, C, H, W) [{nonfinite} non-finite]", tuple(bads))
