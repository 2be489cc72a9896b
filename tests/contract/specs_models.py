"""Contract specs of the models on real data: ``nfwidgets.models`` (Glow, its layers, FlowVAE,
``load_pretrained``), ``nfwidgets.data``, ``nfwidgets.baselines``, ``nfwidgets.outliers`` and
``nfwidgets.diagnostics`` (see README.md).

The models are small (Glow: 2 levels of 1 step, 8 hidden channels; FlowVAE: 2 planar layers,
16 hidden units), built once and shared: no spec trains or changes them (their ActNorms are
initialised, dropout is 0), so every call sees the same model.

Image batches get their own kinds here (``images``, ``binary_images``, ``dequantised``,
``maps``; to move to ``bad_values.py`` when the coordinator merges): 8×8 digits come as
(N, 8, 8), (N, 64) or (N, 1, 8, 8) (other spellings that must be accepted), with integer levels
0–16 (``images``), 0/1 pixels (``binary_images``) or values in [0, 1) (``dequantised``); their
bad values are a level outside 0–16, a fractional level, a pixel other than 0/1, a value
outside [0, 1), a NaN or infinite pixel, a wrong pixel count, a wrong number of axes. ``maps``
is a batch of feature maps (N, C, H, W) for Glow's layers (wrong channels, wrong axes, a NaN
example that must stay in its example).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import torch

from nfwidgets import baselines, data, diagnostics, outliers
from nfwidgets.flows import Flow, Planar, Radial
from nfwidgets.models import FlowVAE, Glow, load_pretrained
from nfwidgets.models.flowvae import ElboParts, ElboTerms, check_binary, elbo_parts
from nfwidgets.models.glow import (
    ActNorm,
    FlowStep,
    ImageAffineCoupling,
    InvConv1x1,
    Split,
    Squeeze,
    check_temperature,
    to_levels,
)
from nfwidgets.targets import ENERGY_NAMES, energy

from .bad_values import (
    BOOLS,
    WRONG_TYPES,
    Bad,
    Kind,
    bad,
    batch,
    choice,
    count,
    flag,
    function,
    obj,
    real,
)
from .runner import Spec, arg, fresh

SEED_MAX = 2**32 - 1


# --- kinds of this area -----------------------------------------------------------------------
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
            ("numpy", t.numpy().copy())]


#: Integer images (N, 8, 8), levels 0–16 (``data.check_images``): NaN/inf pixels refused.
IMAGES = Kind("images (N, 8, 8) of levels 0–16", (
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
), None, lambda g: [*_image_variants(g), ("float64", _t(g).double())])

#: Binarised images (N, 64) of 0s and 1s (``FlowVAE``'s data, ``check_binary``): NaN refused.
BINARY = Kind("binary images (N, 64)", (
    *WRONG_TYPES,
    Bad("63 pixels", lambda g: _pixels(g, 63)), Bad("65 pixels", lambda g: _pixels(g, 65)),
    Bad("3-D (N, 64, 1)", lambda g: _t(g).reshape(-1, 64)[..., None]),
    Bad("0-d", lambda g: _t(g).reshape(-1)[0]),
    Bad("complex", lambda g: _t(g).to(torch.complex128)),
    Bad("pixel 0.5", lambda g: _set(g, 0.5)), Bad("pixel 2", lambda g: _set(g, 2.0)),
    Bad("pixel -1", lambda g: _set(g, -1.0)),
    Bad("NaN pixel", lambda g: _set(g, math.nan)), Bad("inf pixel", lambda g: _set(g, math.inf)),
    Bad("huge pixel", lambda g: _set(g, 3e38)),
    Bad("empty", lambda g: _t(g).reshape(-1, 64)[:0], must_fail=False),
    Bad("bool", lambda g: _t(g) > 0, must_fail=False),
    Bad("int64", lambda g: _t(g).long(), must_fail=False),
    Bad("requires grad", lambda g: _t(g).requires_grad_(True), must_fail=False),
), None, lambda g: [("float64", _t(g).double()), ("one image (64,)", _t(g).reshape(-1, 64)[0])])

#: Dequantised images v (N, 8, 8) in [0, 1) (``Glow.log_prob``): NaN/inf refused.
DEQUANTISED = Kind("dequantised images (N, 8, 8) in [0, 1)", (
    *WRONG_TYPES, *_shape_bads(),
    Bad("above 1", lambda g: _set(g, 1.5)), Bad("below 0", lambda g: _set(g, -0.5)),
    Bad("huge", lambda g: _set(g, 3e38)),
    Bad("NaN pixel", lambda g: _set(g, math.nan)), Bad("inf pixel", lambda g: _set(g, math.inf)),
    Bad("integer levels", lambda g: (_t(g) * 17).floor().long()),
    Bad("bool", lambda g: _t(g) > 0.5),
    Bad("empty", lambda g: _t(g)[:0], must_fail=False),
    Bad("requires grad", lambda g: _t(g).requires_grad_(True), must_fail=False),
), None, lambda g: [*_image_variants(g), ("float64", _t(g).double())])


def _level_of_first(value: int) -> object:
    def check(result: object, good: object) -> str | None:
        want = to_levels(good)
        want.view(-1)[0] = value
        return None if torch.equal(result, want) else (
            f"expected level {value} in the first pixel and the others unchanged")
    return check


#: Sample values for ``to_levels``: any real value; NaN → level 0, ±inf → 16/0 (documented).
SAMPLE_VALUES = Kind("sample values (N, 8, 8)", (
    *WRONG_TYPES, *_shape_bads(),
    Bad("bool", lambda g: _t(g) > 0.5),
    Bad("int64", lambda g: (_t(g) * 17).floor().long(), must_fail=False),
    Bad("empty", lambda g: _t(g)[:0], must_fail=False),
    Bad("NaN pixel", lambda g: _set(g, math.nan), False, _level_of_first(0)),
    Bad("inf pixel", lambda g: _set(g, math.inf), False, _level_of_first(16)),
    Bad("-inf pixel", lambda g: _set(g, -math.inf), False, _level_of_first(0)),
    Bad("above 1", lambda g: _set(g, 1.5), False, _level_of_first(16)),
), None, lambda g: [*_image_variants(g), ("float64", _t(g).double())])


def _first_output_propagates(result: object, good: object) -> str | None:
    """A NaN in example 0 gives a non-finite example 0 and finite other examples in the first
    output (log-dets of ActNorm and the 1×1 conv do not depend on the input)."""
    out = result[0] if isinstance(result, tuple) else result
    out = out.detach().reshape(out.shape[0], -1)
    if bool(torch.isfinite(out[0]).all()):
        return "the NaN example gave a finite output"
    if not bool(torch.isfinite(out[1:]).all()):
        return "a NaN in one example made other examples non-finite"
    return None


def maps(nonfinite: str, *, channels_fixed: bool = True, even_sides: bool = False) -> Kind:
    """Feature maps (N, C, H, W) for Glow's layers: the layer fixes C (``channels_fixed``)
    or needs even H and W (``even_sides``: Squeeze); a NaN example is refused or stays in
    its example (``nonfinite``)."""
    reject = nonfinite == "reject"
    on = None if reject else _first_output_propagates
    bads = [*WRONG_TYPES,
            Bad("3-D", lambda g: _t(g)[:, 0]), Bad("5-D", lambda g: _t(g)[..., None]),
            Bad("0-d", lambda g: _t(g).reshape(-1)[0]),
            Bad("complex", lambda g: _t(g).to(torch.complex128)),
            Bad("bool", lambda g: _t(g) > 0),
            Bad("int64", lambda g: _t(g).round().long(), must_fail=False),
            Bad("empty", lambda g: _t(g)[:0], must_fail=False),
            Bad("requires grad", lambda g: _t(g).requires_grad_(True), must_fail=False),
            Bad("numpy", lambda g: _t(g).numpy().copy(), must_fail=False),
            Bad("NaN example", lambda g: _nan_example(g, math.nan), must_fail=reject,
                on_success=on),
            Bad("inf example", lambda g: _nan_example(g, math.inf), must_fail=reject,
                on_success=on),
            Bad("huge values", lambda g: _nan_example(g, 3e38), must_fail=False)]
    if channels_fixed:
        bads.append(Bad("one channel too many", lambda g: torch.cat([_t(g), _t(g)[:, :1]], 1)))
    if even_sides:
        bads.append(Bad("odd width", lambda g: _t(g)[..., :-1].clone()))
    return Kind(f"maps (N, C, H, W) [{nonfinite} non-finite]", tuple(bads))


def _nan_example(good: object, value: float) -> torch.Tensor:
    t = _t(good)
    t[0] = value
    return t


#: A config dict of a model (``from_config``); a message may name the key at fault.
def config_kind() -> Kind:
    return obj("config", Bad("unknown key", lambda g: {**g, "nope": 1}),
               Bad("a bad value", lambda g: {**g, next(iter(g)): 0.5}))


#: A name given to an argument in messages (``check_images(images, name)``).
TEXT = Kind("a str", (bad("None", None), bad("int", 3), Bad("list", lambda _g: ["a"]),
                      bad("bytes", b"x"), *BOOLS[:1]))

#: ``None`` or a ``torch.Generator``.
GENERATOR = obj("generator", Bad("a float", lambda _g: 0.5), optional=True)

#: A float dtype for dequantised images.
FLOAT_DTYPE = Kind("float dtype", (*WRONG_TYPES, bad("int64", torch.int64),
                                   bad("bool", torch.bool), bad("complex64", torch.complex64),
                                   bad("float16", torch.float16, must_fail=False)))


def _nan_where_nan(result: object, good: object) -> str | None:
    r = torch.as_tensor(result)
    if not bool(torch.isnan(r.reshape(-1)[0])):
        return "the NaN entry did not give NaN"
    if r.numel() > 1 and not bool(torch.isfinite(r.reshape(-1)[1:]).all()):
        return "a NaN in one entry made other entries non-finite"
    return None


#: ``-ln p`` in nats for ``data.bits_per_dim``: a number or a float tensor, element-wise.
NLL = Kind("nll (a number or a float tensor)", (
    *WRONG_TYPES, *BOOLS, bad("complex", 1 + 2j),
    Bad("complex tensor", lambda g: _t(g).to(torch.complex128)),
    Bad("bool tensor", lambda g: _t(g) > 0),
    Bad("int tensor", lambda g: _t(g).long(), must_fail=False),
    Bad("NaN entry", lambda g: _set(g, math.nan), False, _nan_where_nan),
    Bad("inf entry", lambda g: _set(g, math.inf), must_fail=False),
), None, lambda g: [("numpy", _t(g).numpy().copy()), ("float", float(_t(g)[0])),
                    ("np.float64", np.float64(_t(g)[0]))])

#: Plot bounds ((x0, x1), (y0, y1)) of a latent grid (checked by ``grid.check_bounds``).
BOUNDS = Kind("bounds", (
    *WRONG_TYPES, bad("reversed x", ((4.0, -4.0), (-4.0, 4.0))),
    bad("NaN", ((math.nan, 4.0), (-4.0, 4.0))), bad("inf", ((-math.inf, 4.0), (-4.0, 4.0))),
    bad("one pair", ((-4.0, 4.0),)), bad("three numbers", ((-4.0, 4.0, 5.0), (-4.0, 4.0))),
    bad("zero width", ((1.0, 1.0), (-4.0, 4.0))), bad("int", 3)))

#: 1-D outlier scores (``outliers.roc_curve``…): NaN refused, ±inf allowed.
SCORES = Kind("scores (N,)", (
    *WRONG_TYPES, bad("float", 0.5),
    Bad("2-D", lambda g: _t(g)[:, None]), Bad("empty", lambda g: _t(g)[:0]),
    Bad("NaN score", lambda g: _set(g, math.nan)),
    Bad("inf score", lambda g: _set(g, math.inf), must_fail=False),
    Bad("complex", lambda g: _t(g).to(torch.complex128)),
    Bad("bool", lambda g: _t(g) > 0),
    Bad("list with a str", lambda g: [*_t(g).tolist()[:-1], "x"]),
    Bad("requires grad", lambda g: _t(g).requires_grad_(True), must_fail=False),
), None, lambda g: [("list", _t(g).tolist()), ("numpy", _t(g).numpy().copy()),
                    ("float32", _t(g).float())])


def _without(kind: Kind, *labels: str, name: str | None = None) -> Kind:
    return Kind(name or kind.name, tuple(b for b in kind.bad if b.label not in labels),
                kind.strategy, kind.variants)


# --- good values and shared models -----------------------------------------------------------
_DIGITS = data.digits("test")[:3]


def _images() -> torch.Tensor:
    return _DIGITS.clone()


def _binary() -> torch.Tensor:
    return data.binarize(_DIGITS)


def _one_binary() -> torch.Tensor:
    return data.binarize(_DIGITS)[0]


def _v() -> torch.Tensor:
    return data.dequantize(_DIGITS, torch.Generator().manual_seed(0))


def _gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def _small_glow() -> Glow:
    torch.manual_seed(0)
    model = Glow(levels=2, depth=1, hidden=8)
    with torch.no_grad():
        model.log_prob(data.dequantize(data.digits("train")[:64], _gen()))
    return model.eval()


def _small_vae() -> FlowVAE:
    torch.manual_seed(0)
    return FlowVAE(latent_dim=2, flow="planar", layers=2, hidden=16).eval()


GLOW, VAE = _small_glow(), _small_vae()


def _glow() -> Glow:
    return GLOW


def _vae() -> FlowVAE:
    return VAE


def _eps() -> torch.Tensor:
    return 0.5 * torch.randn(3, 64, generator=_gen())


def _z() -> torch.Tensor:
    return torch.randn(3, 2, generator=_gen())


def _flow_input() -> torch.Tensor:
    return Glow.to_flow_input(_v())[0]


def _maps(c: int, side: int = 4) -> object:
    return lambda: torch.randn(3, c, side, side, generator=_gen())


def _initialised(module: torch.nn.Module, c: int) -> torch.nn.Module:
    torch.manual_seed(0)
    with torch.no_grad():
        module(torch.randn(16, c, 4, 4, generator=_gen()))
    return module.eval()


_STEP = _initialised(FlowStep(4, 8), 4)
_ACTNORM = _initialised(ActNorm(4), 4)
_INVCONV, _COUPLING, _SPLIT, _SQUEEZE = (InvConv1x1(4), ImageAffineCoupling(4, 8).eval(),
                                         Split(4), Squeeze())

_PROPAGATE, _REJECT = maps("propagate"), maps("reject")

# A file that is not a checkpoint, for load_pretrained(path=...).
_NOT_A_CHECKPOINT = Path(tempfile.gettempdir()) / "nfwidgets-contract-not-a-checkpoint.pt"
_NOT_A_CHECKPOINT.write_text("not a checkpoint")
_PATH = obj("path", bad("missing file", "/no/such/dir/glow.pt"),
            bad("a directory", tempfile.gettempdir()),
            bad("not a checkpoint", str(_NOT_A_CHECKPOINT)),
            bad("another model's checkpoint",
                str(Path(data.__file__).parent / "models/checkpoints/glow-digits.pt")),
            optional=True)

_N = count(lo=1, hi=10_000)
_VAE_SAMPLES = count(lo=1, hi=100_000)
_SEED = count(lo=0, hi=SEED_MAX)
_GRID = count(lo=2, hi=4096)
_DROPOUT = real(lo=0, hi=1, hi_open=True)

GLOW_KEYS = ("levels", "depth", "hidden", "dropout")
VAE_KEYS = ("latent_dim", "flow", "layers", "hidden")

MODEL_SPECS: list[Spec] = [
    # --- Glow ---
    Spec(Glow, {"levels": arg(count(lo=1, hi=3), 1), "depth": arg(count(lo=1, hi=64), 1),
                "hidden": arg(count(lo=1, hi=1024), 4), "dropout": arg(_DROPOUT, 0.0)},
         examples=3),
    Spec(Glow.from_config, {"config": fresh(config_kind(), lambda: {
        "levels": 1, "depth": 1, "hidden": 4, "dropout": 0.0})},
         aliases={"config": GLOW_KEYS}),
    Spec(Glow.to_flow_input, {"v": fresh(DEQUANTISED, _v)}),
    Spec(Glow.from_flow_input, {"x": fresh(_REJECT, _flow_input)}),
    Spec(Glow.encode, {"x": fresh(_REJECT, _flow_input)}, owner=_glow),
    Spec(Glow.decode, {"eps": fresh(batch(64, nonfinite="reject"), _eps)}, owner=_glow),
    Spec(Glow.log_prob, {"v": fresh(DEQUANTISED, _v)}, owner=_glow),
    Spec(Glow.encode_values, {"v": fresh(DEQUANTISED, _v)}, owner=_glow),
    Spec(Glow.decode_values, {"eps": fresh(batch(64, nonfinite="reject"), _eps)}, owner=_glow),
    Spec(Glow.bits_per_dim, {"images": fresh(IMAGES, _images),
                             "generator": fresh(GENERATOR, _gen), "seed": arg(_SEED, 0)},
         owner=_glow),
    *[Spec(method, {"n": arg(_N, 2), "temperature": arg(real(lo=0, hi=10), 0.7),
                    "generator": fresh(GENERATOR, _gen)}, owner=_glow)
      for method in (Glow.sample, Glow.sample_values, Glow.latents)],
    Spec(to_levels, {"v": fresh(SAMPLE_VALUES, _v)}),
    Spec(check_temperature, {"temperature": arg(real(lo=0, hi=10), 0.7)}),
    # --- Glow's layers ---
    Spec(FlowStep, {"channels": arg(count(lo=2, hi=1024), 4),
                    "hidden": arg(count(lo=1, hi=1024), 4), "dropout": arg(_DROPOUT, 0.0)},
         examples=3),
    Spec(FlowStep.forward, {"x": fresh(_PROPAGATE, _maps(4))}, owner=lambda: _STEP),
    Spec(FlowStep.inverse, {"y": fresh(_PROPAGATE, _maps(4))}, owner=lambda: _STEP),
    Spec(ActNorm, {"channels": arg(count(lo=1, hi=1024), 4)}),
    Spec(ActNorm.forward, {"x": fresh(_PROPAGATE, _maps(4))}, owner=lambda: _ACTNORM),
    Spec(ActNorm.inverse, {"y": fresh(_PROPAGATE, _maps(4))}, owner=lambda: _ACTNORM),
    Spec(ActNorm.initialize, {"x": fresh(_REJECT, _maps(4))}, owner=lambda: ActNorm(4),
         state=lambda m: bool(m.initialized)),
    Spec(InvConv1x1, {"channels": arg(count(lo=1, hi=1024), 4)}, examples=3),
    Spec(InvConv1x1.forward, {"x": fresh(_PROPAGATE, _maps(4))}, owner=lambda: _INVCONV),
    Spec(InvConv1x1.inverse, {"y": fresh(_PROPAGATE, _maps(4))}, owner=lambda: _INVCONV),
    Spec(ImageAffineCoupling, {"channels": arg(count(lo=2, hi=1024), 4),
                               "hidden": arg(count(lo=1, hi=1024), 4),
                               "dropout": arg(_DROPOUT, 0.0)}, examples=3),
    Spec(ImageAffineCoupling.forward, {"x": fresh(_PROPAGATE, _maps(4))},
         owner=lambda: _COUPLING),
    Spec(ImageAffineCoupling.inverse, {"y": fresh(_PROPAGATE, _maps(4))},
         owner=lambda: _COUPLING),
    Spec(Split, {"channels": arg(count(lo=2, hi=1024), 4)}),
    Spec(Split.forward, {"x": fresh(_PROPAGATE, _maps(4))}, owner=lambda: _SPLIT),
    Spec(Split.inverse, {"z_keep": fresh(_PROPAGATE, _maps(2)),
                         "eps": fresh(_PROPAGATE, _maps(2))}, owner=lambda: _SPLIT),
    Spec(Squeeze.forward, {"x": fresh(maps("propagate", channels_fixed=False,
                                           even_sides=True), _maps(1, 8))},
         owner=lambda: _SQUEEZE),
    Spec(Squeeze.inverse, {"y": fresh(_PROPAGATE, _maps(4))}, owner=lambda: _SQUEEZE),
    # --- FlowVAE ---
    Spec(FlowVAE, {"latent_dim": arg(count(lo=1, hi=256), 2),
                   "flow": arg(choice(("planar", "radial")), "planar"),
                   "layers": arg(count(lo=0, hi=64), 2), "hidden": arg(count(lo=1, hi=4096), 8)},
         examples=3),
    Spec(FlowVAE.from_config, {"config": fresh(config_kind(), lambda: {
        "latent_dim": 2, "flow": "planar", "layers": 1, "hidden": 8})},
         aliases={"config": VAE_KEYS}),
    Spec(FlowVAE.encode, {"x": fresh(BINARY, _binary)}, owner=_vae),
    *[Spec(method, {"z": fresh(batch(2, nonfinite="propagate"), _z)}, owner=_vae)
      for method in (FlowVAE.decode_logits, FlowVAE.decode_mean)],
    Spec(FlowVAE.log_likelihood, {
        "x": fresh(BINARY, _binary),
        "logits": fresh(batch(64, nonfinite="propagate"),
                        lambda: torch.randn(3, 64, generator=_gen()))}),
    # log_prior sums over the last axis of any (…, D): 1-D, 3-D and any D are fine
    Spec(FlowVAE.log_prior, {"z": fresh(_without(batch(2, nonfinite="propagate"), "1-D", "3-D",
                                                 "one column too many"),
                                        _z)}),
    Spec(FlowVAE.negative_elbo, {"x": fresh(BINARY, _binary),
                                 "n_samples": arg(_VAE_SAMPLES, 2),
                                 "generator": fresh(GENERATOR, _gen)}, owner=_vae),
    Spec(FlowVAE.marginal_log_likelihood, {"x": fresh(BINARY, _binary),
                                           "n_samples": arg(_VAE_SAMPLES, 4),
                                           "generator": fresh(GENERATOR, _gen),
                                           "chunk": arg(_VAE_SAMPLES, 2)}, owner=_vae),
    Spec(FlowVAE.marginal_log_likelihood_quadrature, {
        "x": fresh(BINARY, _binary), "grid": arg(_GRID, 8),
        "bounds": arg(BOUNDS, ((-4.0, 4.0), (-4.0, 4.0)))}, owner=_vae),
    Spec(FlowVAE.posterior_grid, {"x": fresh(BINARY, _one_binary), "n": arg(_GRID, 8),
                                  "bounds": arg(BOUNDS, ((-4.0, 4.0), (-4.0, 4.0)))},
         owner=_vae),
    Spec(FlowVAE.q_density_grid, {"x": fresh(BINARY, _one_binary),
                                   "k": arg(count(lo=0, hi=2, optional=True), 1),
                                   "n": arg(_GRID, 8),
                                   "bounds": arg(BOUNDS, ((-4.0, 4.0), (-4.0, 4.0)))},
         owner=_vae),
    Spec(elbo_parts, {"model": arg(obj("model"), VAE), "x": fresh(BINARY, _one_binary),
                      "n_samples": arg(_VAE_SAMPLES, 4), "seed": arg(_SEED, 0)}),
    Spec(check_binary, {"x": fresh(BINARY, _binary), "name": arg(TEXT, "x")},
         aliases={"name": ("str",)}),
    Spec(load_pretrained, {"name": arg(choice(("flowvae-digits-k2",)), "flowvae-digits-k2"),
                           "path": arg(_PATH, None)}, examples=3),
]

DATA_SPECS: list[Spec] = [
    Spec(data.digits, {"split": arg(choice(data.SPLITS), "test"),
                       "with_labels": arg(flag(), False)}),
    Spec(data.check_images, {"images": fresh(IMAGES, _images), "name": arg(TEXT, "images")}),
    Spec(data.dequantize, {"images": fresh(IMAGES, _images),
                           "generator": fresh(GENERATOR, _gen),
                           "dtype": arg(FLOAT_DTYPE, torch.float32)}),
    Spec(data.bits_per_dim, {"nll_nats": fresh(NLL, lambda: torch.tensor([50.0, 60.0])),
                             "dims": arg(count(lo=1, hi=10**6), 64)}),
    Spec(data.binarize, {"images": fresh(IMAGES, _images),
                         "threshold": arg(count(lo=1, hi=16), 8)}),
]

def _train100() -> torch.Tensor:
    return data.digits("train")[:100]


def _flow() -> Flow:
    return Flow([Planar([1.0, 0.5], [0.5, -0.3], 0.1), Radial([0.2, 0.0], 1.0, 0.5)]).double()


def _points() -> torch.Tensor:
    return torch.tensor([[0.3, -0.2], [1.0, 0.5], [-0.7, 0.1]], dtype=torch.float64)


def _inliers() -> torch.Tensor:
    return torch.tensor([0.1, 0.4, 0.35, 0.8], dtype=torch.float64)


def _outliers() -> torch.Tensor:
    return torch.tensor([0.9, 0.5, 1.2], dtype=torch.float64)


def _masses_of_finite_rows(result: object, good: object) -> str | None:
    want = diagnostics.mode_masses("U1", _t(good)[1:])
    return None if result == want else f"expected the masses of the finite rows {want}"


#: Samples (N, 2) for mode_masses: non-finite rows are left out of the count (documented).
MODE_SAMPLES = Kind("samples (N, 2) [non-finite rows left out]", tuple(
    Bad(b.label, b.make, False, _masses_of_finite_rows) if b.label in ("NaN row", "inf row")
    else b for b in batch(2, nonfinite="reject").bad))


def _ignored(result: object, good: object) -> str | None:
    return None if result is None else f"a non-finite loss gave a hint: {result!r}"


#: A training loss (PlateauDetector.update): NaN/±inf are ignored by design (documented).
LOSS = Kind("loss (a number; NaN/inf ignored)", tuple(
    Bad(b.label, b.make, False, _ignored) if b.label in ("nan", "inf", "-inf") else b
    for b in real().bad), real().strategy, real().variants)

#: A target's name (or an Energy) for has_modes: any other name simply has no modes, so only
#: what is not a name (nor an Energy) is refused.
TARGET_NAME = Kind("target (an Energy or a name)", tuple(
    b for b in choice(("U1",)).bad if b.label not in ("unknown name", "str")))

_MODE_TARGETS = ("U1", "U3", "U4", "eight_gaussians", "rings", "two_moons", "pinwheel",
                 "two_spirals")


def _plateau() -> diagnostics.PlateauDetector:
    return diagnostics.PlateauDetector(window=4)


def _wrong_shape_energy(_good: object) -> object:
    return lambda x: x  # (N, 2), not (N,)


OTHER_SPECS: list[Spec] = [
    # --- baselines ---
    Spec(baselines.histogram_bpd, {"train": fresh(IMAGES, _images),
                                   "test": fresh(IMAGES, _images)}),
    Spec(baselines.gaussian_bpd, {"train": fresh(_without(IMAGES, "nested list"), _train100),
                                  "test": fresh(IMAGES, _images), "seed": arg(_SEED, 0)}),
    Spec(baselines.baseline_table, {"seed": arg(_SEED, 0)}),
    # --- outliers ---
    Spec(outliers.outlier_scores, {"flow": fresh(obj("flow"), _flow),
                                   "x": fresh(batch(2, nonfinite="reject"), _points),
                                   "batch": arg(count(lo=1, hi=10_000_000), 2)}),
    *[Spec(fn, {"inliers": fresh(SCORES, _inliers), "outliers": fresh(SCORES, _outliers)})
      for fn in (outliers.roc_curve, outliers.roc_auc)],
    Spec(outliers.detection_rate, {"inliers": fresh(SCORES, _inliers),
                                   "outliers": fresh(SCORES, _outliers),
                                   "false_alarm": arg(real(lo=0, hi=1), 0.25)}),
    # --- diagnostics ---
    Spec(diagnostics.mode_masses, {"target": arg(choice(_MODE_TARGETS), "U1"),
                                   "samples": fresh(MODE_SAMPLES, _points)}),
    *[Spec(fn, {"target": arg(choice(_MODE_TARGETS), "U1")})
      for fn in (diagnostics.mode_names, diagnostics.reference_mode_masses)],
    Spec(diagnostics.has_modes, {"target": arg(TARGET_NAME, "U1")}),
    Spec(diagnostics.bound_reference, {"energy": arg(choice(ENERGY_NAMES), "U1")}),
    Spec(diagnostics.variational_bound, {
        "flow": fresh(obj("flow"), _flow),
        "energy": arg(Kind("energy", (*choice(ENERGY_NAMES).bad, *function().bad,
                                      Bad("gives (N, 2)", _wrong_shape_energy))), energy("U1")),
        "n_samples": arg(count(lo=2, hi=10_000_000), 64),
        "generator": fresh(GENERATOR, _gen)}),
    Spec(diagnostics.PlateauDetector, {
        "window": arg(count(lo=4, hi=100_000), 4), "min_improvement": arg(real(lo=0, lo_open=True),
                                                                          0.01),
        "floor": arg(real(optional=True), 1.0),
        "floor_tolerance": arg(real(lo=0, lo_open=True), 0.05),
        "detect_rise": arg(flag(), True)}),
    Spec(diagnostics.PlateauDetector.update, {"step": arg(count(lo=0), 5),
                                              "loss": arg(LOSS, 0.5)}, owner=_plateau,
         state=lambda p: (p.hint, list(p._losses), p._last_step)),
]

SPECS: list[Spec] = [*MODEL_SPECS, *DATA_SPECS, *OTHER_SPECS]
#: entry point → why it is not fuzzed
EXEMPT: dict[object, str] = {
    ElboParts: "a result record the package builds (elbo_parts)",
    ElboTerms: "a result record the package builds (FlowVAE.negative_elbo)",
    baselines.Baseline: "a result record the package builds (baseline_table)",
}
