"""Contract specs of the models on real data: ``nfwidgets.models`` (Glow, its layers, FlowVAE,
``load_pretrained``), ``nfwidgets.data``, ``nfwidgets.baselines``, ``nfwidgets.outliers`` and
``nfwidgets.diagnostics`` (see README.md).

The models are small (Glow: 2 levels of 1 step, 8 hidden channels; FlowVAE: 2 planar layers,
16 hidden units), built once and shared: no spec trains or changes them (their ActNorms are
initialised, dropout is 0), so every call sees the same model.

Every kind comes from the catalogue (``bad_values``: digits and feature maps in
``bad_values/images.py``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

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
    Bad,
    bad,
    batch,
    binary_images,
    bounds,
    choice,
    combined,
    config,
    count,
    dequantised,
    dtype,
    elementwise,
    flag,
    flow,
    function,
    generator,
    gives_none,
    images,
    maps,
    nan_where_nan,
    obj,
    real,
    sample_values,
    scores,
    seed,
    text,
    without,
)
from .runner import Spec, arg, fresh

IMAGES, BINARY, DEQUANTISED = images(), binary_images(), dequantised()
GENERATOR, SCORES, BOUNDS = generator(), scores(infinite_ok=True), bounds()


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
_SEED = seed()
_GRID = count(lo=2, hi=4096)
_DROPOUT = real(lo=0, hi=1, hi_open=True)

GLOW_KEYS = ("levels", "depth", "hidden", "dropout")
VAE_KEYS = ("latent_dim", "flow", "layers", "hidden")

MODEL_SPECS: list[Spec] = [
    # --- Glow ---
    Spec(Glow, {"levels": arg(count(lo=1, hi=3), 1), "depth": arg(count(lo=1, hi=64), 1),
                "hidden": arg(count(lo=1, hi=1024), 4), "dropout": arg(_DROPOUT, 0.0)},
         examples=3),
    Spec(Glow.from_config, {"config": fresh(config(), lambda: {
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
    Spec(to_levels, {"v": fresh(sample_values(), _v)}),
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
    Spec(FlowVAE.from_config, {"config": fresh(config(), lambda: {
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
    Spec(FlowVAE.log_prior, {"z": fresh(batch(2, nonfinite="propagate", any_rank=True), _z)}),
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
    Spec(check_binary, {"x": fresh(BINARY, _binary), "name": arg(text(), "x")},
         aliases={"name": ("str",)}),
    Spec(load_pretrained, {"name": arg(choice(("flowvae-digits-k2",)), "flowvae-digits-k2"),
                           "path": arg(_PATH, None)}, examples=3),
]

DATA_SPECS: list[Spec] = [
    Spec(data.digits, {"split": arg(choice(data.SPLITS), "test"),
                       "with_labels": arg(flag(), False)}),
    Spec(data.check_images, {"images": fresh(IMAGES, _images), "name": arg(text(), "images")}),
    Spec(data.dequantize, {"images": fresh(IMAGES, _images),
                           "generator": fresh(GENERATOR, _gen),
                           "dtype": arg(dtype(), torch.float32)}),
    # -ln p in nats: a number or a float tensor, element-wise (NaN gives NaN)
    Spec(data.bits_per_dim, {"nll_nats": fresh(elementwise(numbers=True, nan=nan_where_nan),
                                               lambda: torch.tensor([50.0, 60.0])),
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
    """``mode_masses`` leaves non-finite rows out of the count (documented)."""
    want = diagnostics.mode_masses("U1", torch.as_tensor(good)[1:])
    return None if result == want else f"expected the masses of the finite rows {want}"


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
    Spec(baselines.gaussian_bpd, {"train": fresh(without(IMAGES, "nested list"), _train100),
                                  "test": fresh(IMAGES, _images), "seed": arg(_SEED, 0)}),
    Spec(baselines.baseline_table, {"seed": arg(_SEED, 0)}),
    # --- outliers ---
    Spec(outliers.outlier_scores, {"flow": fresh(flow(dim=2), _flow),
                                   "x": fresh(batch(2, nonfinite="reject"), _points),
                                   "batch": arg(count(lo=1, hi=10_000_000), 2)},
         aliases={"flow": ("x",)}),  # a flow of another dimension: x does not fit it
    *[Spec(fn, {"inliers": fresh(SCORES, _inliers), "outliers": fresh(SCORES, _outliers)})
      for fn in (outliers.roc_curve, outliers.roc_auc)],
    Spec(outliers.detection_rate, {"inliers": fresh(SCORES, _inliers),
                                   "outliers": fresh(SCORES, _outliers),
                                   "false_alarm": arg(real(lo=0, hi=1), 0.25)}),
    # --- diagnostics ---
    Spec(diagnostics.mode_masses, {"target": arg(choice(_MODE_TARGETS), "U1"),
                                   "samples": fresh(batch(2, nonfinite=_masses_of_finite_rows),
                                                    _points)}),
    *[Spec(fn, {"target": arg(choice(_MODE_TARGETS), "U1")})
      for fn in (diagnostics.mode_names, diagnostics.reference_mode_masses)],
    Spec(diagnostics.has_modes, {"target": arg(text(), "U1")}),
    Spec(diagnostics.bound_reference, {"energy": arg(choice(ENERGY_NAMES), "U1")}),
    Spec(diagnostics.variational_bound, {
        "flow": fresh(flow(dim=2), _flow),
        "energy": arg(combined("energy", choice(ENERGY_NAMES), function(),
                               Bad("gives (N, 2)", _wrong_shape_energy)), energy("U1")),
        "n_samples": arg(count(lo=2, hi=10_000_000), 64),
        "generator": fresh(GENERATOR, _gen)}),
    Spec(diagnostics.PlateauDetector, {
        "window": arg(count(lo=4, hi=100_000), 4), "min_improvement": arg(real(lo=0, lo_open=True),
                                                                          0.01),
        "floor": arg(real(optional=True), 1.0),
        "floor_tolerance": arg(real(lo=0, lo_open=True), 0.05),
        "detect_rise": arg(flag(), True)}),
    # a training loss: NaN/inf are ignored by design (documented)
    Spec(diagnostics.PlateauDetector.update, {"step": arg(count(lo=0), 5),
                                              "loss": arg(real(nonfinite=gives_none), 0.5)},
         owner=_plateau,
         state=lambda p: (p.hint, list(p._losses), p._last_step)),
]

SPECS: list[Spec] = [*MODEL_SPECS, *DATA_SPECS, *OTHER_SPECS]
#: entry point → why it is not fuzzed
EXEMPT: dict[object, str] = {
    ElboParts: "a result record the package builds (elbo_parts)",
    ElboTerms: "a result record the package builds (FlowVAE.negative_elbo)",
    baselines.Baseline: "a result record the package builds (baseline_table)",
}
