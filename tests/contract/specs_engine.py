"""Contract specs of the flow engine: ``nfwidgets.flows``, ``.targets``, ``.train``, ``.grid``
and ``tune_kernel`` (see README.md).

Kinds the catalogue (``bad_values.py``) lacks are defined below, each with a comment; they are
candidates for the catalogue: ``dim_vector`` (a vector whose length *sets* the dimension),
``mask``, ``flow_batch`` (a batch for a float64 module: float32 is refused), ``elementwise``
(the input of an elementwise formula), ``seed``, ``dtype``, ``device``, ``bounds``, ``text``,
``widths``, ``module_class`` and ``layers``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

import nfwidgets
from nfwidgets._checks import MAX_DIM, MAX_POINTS, MAX_SEED, MAX_WIDTH
from nfwidgets.fast import ForwardCache, InverseCache
from nfwidgets.flows import (
    SCALE_RULES,
    AdditiveConditioner,
    AffineCoupling,
    DiagonalNormal,
    ElementwiseAffine,
    Flow,
    Layer,
    MLPConditioner,
    Planar,
    Radial,
    SimpleConditioner,
    StandardNormal,
)
from nfwidgets.grid import (
    LOG_DENSITY_FLOOR,
    DeformedGrid,
    DensityGrid,
    LogDetGrid,
    check_bounds,
    deformed_grid,
    density_grid,
    grid_points,
    line_points,
    log_det_grid,
)
from nfwidgets.kernel import MAX_THREADS
from nfwidgets.targets import (
    ENERGY_NAMES,
    TOY_DATA_NAMES,
    Energy,
    Modes,
    energy,
    entropy_floor,
    toy_data,
    toy_data_description,
    toy_modes,
)
from nfwidgets.train import (
    MaximumLikelihood,
    ReverseKL,
    StepInfo,
    Trainer,
    annealing_schedule,
)

from .bad_values import (
    WRONG_TYPES,
    Bad,
    Kind,
    _as_tensor,
    _propagates,
    _with,
    bad,
    batch,
    choice,
    count,
    flag,
    function,
    number_vector,
    obj,
    real,
)
from .runner import Spec, arg, fresh

F64 = torch.float64


# --- kinds the catalogue lacks ----------------------------------------------------------------
def dim_vector() -> Kind:
    """A vector whose length sets the layer's dimension (``Radial``'s ``z0``): like
    ``number_vector`` but one entry more is a good value (a 3-D layer), not a bad one."""
    base = number_vector()
    return Kind("dim vector", tuple(b for b in base.bad if b.label != "one entry too many"),
                None, base.variants)


def mask() -> Kind:
    """A coupling mask: a ``dim_vector`` of 0s and 1s, both present."""
    return Kind("mask", (*dim_vector().bad, bad("entry 2", (2.0, 0.0)),
                         bad("entry 0.5", (0.5, 1.0)), bad("all ones", (1.0, 1.0)),
                         bad("bools", (True, False))),
                None, lambda good: [("numpy", np.asarray(good, dtype=float))])


def _flat(result: object) -> list[torch.Tensor]:
    out: list[torch.Tensor] = []
    for r in result if isinstance(result, tuple | list) else (result,):
        out += _flat(r) if isinstance(r, tuple | list) else [r]
    return out


def _points_propagate(result: object, good: object, step: int = 1) -> str | None:
    """The engine's row-wise NaN rule (``nfwidgets.flows`` docstring): a NaN/inf row 0 gives a
    non-finite row 0 of the points (the first result; with ``step = 2`` every other result,
    for ``Flow.trace``'s ``[(z_k, log_det_k), ...]``) and finite other rows in every floating
    result. Unlike the catalogue's ``_propagates`` it lets ``log_det`` stay finite where it
    does not depend on the point (``ElementwiseAffine``) and ignores the boolean ``unique``."""
    tensors = [t for t in _flat(result) if isinstance(t, torch.Tensor)]
    n = _as_tensor(good).shape[0]
    points = [t for t in (tensors[::step] if step > 1 else tensors[:1])
              if t.is_floating_point() and t.shape[:1] == (n,)]
    if not points:
        return "no result tensor with one row per point"
    if any(bool(torch.isfinite(t[0]).all()) for t in points):
        return "the NaN row gave finite points"
    if any(t.is_floating_point() and t.shape[:1] == (n,) and not bool(
            torch.isfinite(t[1:]).all()) for t in tensors):
        return "a NaN in one row made other rows non-finite"
    return None


def flow_batch(dim: int, *, step: int = 1, width_fixed: bool = True) -> Kind:
    """``batch(dim, nonfinite="propagate")`` for a float64 module: a float32 batch is refused
    (dtype mismatch), and a NaN row is judged by ``_points_propagate``. ``width_fixed``:
    ``False`` for a module that takes any width (``SimpleConditioner`` sums its columns)."""
    base = batch(dim, nonfinite="propagate")

    def check(result: object, good: object) -> str | None:
        return _points_propagate(result, good, step)
    return Kind(base.name + " [float64 module]", (
        *(Bad(b.label, b.make, b.must_fail, check) if b.on_success else b for b in base.bad
          if width_fixed or b.label != "one column too many"),
        Bad("float32 into a float64 module", lambda g: _as_tensor(g).float())))


def elementwise(*, rows: bool = True, on_nan=None) -> Kind:
    """A tensor an elementwise formula reads (``h``, ``r``, ``rho``: one value per point; or a
    0-d ``c``). NaN/inf propagate (``rows``: checked row-wise; ``on_nan``: another check)."""
    on = (on_nan or _propagates) if rows else None
    return Kind("elementwise tensor", (
        *WRONG_TYPES, bad("int", 3), bad("float", 0.5, must_fail=False),
        Bad("complex", lambda g: _as_tensor(g).to(torch.complex128)),
        Bad("bool", lambda g: _as_tensor(g) > 0),
        Bad("int64", lambda g: _as_tensor(g).round().long()),
        Bad("requires grad", lambda g: _as_tensor(g).detach().clone().requires_grad_(True),
            must_fail=False),
        Bad("empty", lambda g: _as_tensor(g).reshape(-1)[:0], must_fail=False),
        Bad("NaN entry", lambda g: _with(g, math.nan), must_fail=False, on_success=on),
        Bad("inf entry", lambda g: _with(g, math.inf), must_fail=False,
            on_success=on if on_nan is None else None)))


def _nan_is_not_unique(result: object, good: object) -> str | None:
    """``Planar.unique``: a NaN projection is never marked as having one preimage."""
    if not isinstance(result, torch.Tensor) or result.dtype != torch.bool:
        return "no boolean result"
    return None if not bool(result[0]) else "a NaN projection was marked unique"


#: A seed: an integer in [0, MAX_SEED].
SEED = count(lo=0, hi=MAX_SEED)


def dtype() -> Kind:
    """A floating-point ``torch.dtype``."""
    return Kind("dtype", (*WRONG_TYPES, bad("int64", torch.int64), bad("bool", torch.bool),
                          bad("complex64", torch.complex64), bad("str float32", "float32")),
                None, lambda _g: [("float64", torch.float64)])


def device() -> Kind:
    """``None`` or a device this machine has."""
    return Kind("device", (bad("unknown name", "no-such-device"), bad("cuda:99", "cuda:99"),
                           Bad("list of str", lambda _g: ["a", "b"]),
                           Bad("dict", lambda _g: {"a": 1}), bad("float", 2.5)),
                None, lambda _g: [("torch.device", torch.device("cpu"))])


def bounds() -> Kind:
    """``((x_min, x_max), (y_min, y_max))``: finite, ``min < max``, a span that fits a float."""
    return Kind("bounds", (
        *WRONG_TYPES, bad("int", 3), bad("one pair", ((0.0, 1.0),)),
        bad("three pairs", ((0.0, 1.0),) * 3), bad("reversed", ((1.0, -1.0), (0.0, 1.0))),
        bad("empty interval", ((1.0, 1.0), (0.0, 1.0))),
        bad("nan", ((0.0, math.nan), (0.0, 1.0))), bad("inf", ((-math.inf, 1.0), (0.0, 1.0))),
        bad("bool", ((False, True), (0.0, 1.0))), bad("str", (("a", "b"), (0.0, 1.0))),
        bad("span overflows", ((-1e308, 1e308), (0.0, 1.0))),
        bad("complex", ((0.0, 1 + 2j), (0.0, 1.0)))),
        None, lambda good: [("numpy", np.asarray(good, dtype=float)),
                            ("lists", [list(p) for p in good])])


def text(*, optional: bool = False) -> Kind:
    """A string (a name or a description)."""
    return Kind("text", (*((bad("None", None),) if not optional else ()), bad("int", 3),
                         Bad("list of str", lambda _g: ["a", "b"]), bad("True", True)))


def widths() -> Kind:
    """Hidden-layer widths: a sequence of integers in [1, MAX_WIDTH]."""
    return Kind("widths", (bad("str", "x"), bad("None", None), bad("int", 3),
                           Bad("dict", lambda _g: {"a": 1}), bad("zero", (8, 0)),
                           bad("float", (8, 2.5)), bad("bool", (True,)),
                           bad("huge", (10**12,)), bad("nan", (math.nan,))),
                None, lambda good: [("np.int64", tuple(np.int64(h) for h in good))])


def module_class() -> Kind:
    """A ``torch.nn`` activation class (not an instance)."""
    return Kind("module class", (*WRONG_TYPES, bad("int", 3), Bad("an instance",
                                                                  lambda _g: nn.ReLU()),
                                 bad("a non-module class", int)))


def names() -> Kind:
    """Region names: a non-empty tuple/list of strings."""
    return Kind("names", (bad("str", "x"), bad("None", None), bad("int", 3),
                          Bad("dict", lambda _g: {"a": 1}), bad("empty", ()),
                          bad("a non-str", ("a", 3))))


# --- good values --------------------------------------------------------------------------------
def _points() -> torch.Tensor:
    return torch.tensor([[0.3, -0.2], [1.0, 0.5], [-0.7, 0.1]], dtype=F64)


def _column() -> torch.Tensor:
    return torch.tensor([[0.3], [-1.0], [0.7]], dtype=F64)


def _planar() -> Planar:
    return Planar([1.0, 0.5], [0.5, -0.3], 0.1).double()


def _folding_planar() -> Planar:
    return Planar([1.0, 0.0], [-3.0, 0.0], 0.2, constrain=False).double()


def _radial() -> Radial:
    return Radial([0.2, 0.0], 1.0, 0.5).double()


def _affine() -> ElementwiseAffine:
    return ElementwiseAffine([0.1, -0.2], [0.3, 0.0]).double()


def _coupling() -> AffineCoupling:
    return AffineCoupling([1.0, 0.0], SimpleConditioner(s_slope=0.3, t_amplitude=0.5)).double()


def _flow() -> Flow:
    return Flow([Planar([1.0, 0.5], [0.5, -0.3], 0.1), Radial([0.2, 0.0], 1.0, 0.5)]).double()


def _flow3() -> Flow:
    return Flow([Planar([1.0, 0.5, 0.0], [0.5, -0.3, 0.0], 0.1)]).double()


def _small_flow() -> Flow:
    return Flow([ElementwiseAffine([0.1, -0.2], [0.0, 0.0])]).double()


def _ml() -> MaximumLikelihood:
    return MaximumLikelihood(_small_flow(), _points(), batch_size=3)


def _rkl() -> ReverseKL:
    return ReverseKL(_small_flow(), energy("U1"), n_samples=8)


def _distances() -> torch.Tensor:
    return torch.tensor([0.0, 0.5, 2.0], dtype=F64)


FLOW = obj("flow", Bad("a 3-D flow for 2-D points", lambda _g: _flow3()),
           Bad("a layer, not a flow", lambda _g: _planar()))
FLOW_2D = obj("flow", Bad("a 3-D flow", lambda _g: _flow3()))
GENERATOR = obj("generator", optional=True)
LR = real(lo=0, lo_open=True)
GRAD_CLIP = real(lo=0, lo_open=True, optional=True)
U1 = energy("U1")
BOX = ((-3.0, 3.0), (-2.0, 2.0))


def _layer_specs(method: str, kind: Kind, param: str) -> list[Spec]:
    return [Spec(getattr(Layer, method), {param: fresh(kind, _points)}, owner=make,
                 name=f"nfwidgets.flows.base.Layer.{method}[{make.__name__[1:]}]")
            for make in (_planar, _radial, _affine, _coupling)]


SPECS: list[Spec] = [
    # --- nfwidgets.flows: layers --------------------------------------------------------------
    Spec(Planar, {"w": fresh(number_vector(), lambda: [1.0, 0.5]),
                  "u": fresh(number_vector(), lambda: [0.5, -0.3]),
                  "b": arg(real(), 0.1), "constrain": arg(flag(), True)}),
    Spec(Radial, {"z0": fresh(dim_vector(), lambda: [0.0, 0.0]),
                  "alpha": arg(real(lo=0, lo_open=True), 1.0),
                  "beta": arg(real(), 0.5), "constrain": arg(flag(), True)}),
    Spec(Radial.alpha, {"alpha": arg(real(lo=0, lo_open=True), 2.0)}, owner=_radial,
         state=lambda layer: float(layer.alpha.detach())),
    Spec(ElementwiseAffine, {"log_scale": fresh(number_vector(), lambda: [0.1, -0.2]),
                             "shift": fresh(number_vector(), lambda: [0.3, 0.0])}),
    Spec(AffineCoupling, {"mask": fresh(mask(), lambda: [1.0, 0.0]),
                          "conditioner": fresh(obj("conditioner", Bad(
                              "a conditioner for 2 conditioning columns",
                              lambda _g: MLPConditioner(2, 1)), optional=True),
                              SimpleConditioner),
                          "scale": arg(choice(SCALE_RULES), "tanh"),
                          "bound": arg(real(lo=0, lo_open=True), 3.0)}),
    *_layer_specs("forward", flow_batch(2), "z"),
    *_layer_specs("inverse", flow_batch(2), "x"),
    *_layer_specs("inverse_where", flow_batch(2), "x"),
    Spec(AffineCoupling.jacobian, {"z": fresh(flow_batch(2), _points)}, owner=_coupling),
    Spec(Planar.log_abs_det, {"h": fresh(elementwise(), lambda: torch.tensor([0.1, -0.5, 0.9])),
                              "c": fresh(elementwise(rows=False), lambda: torch.tensor(0.5)),
                              "one_plus_c": fresh(elementwise(rows=False),
                                                  lambda: torch.tensor(1.5))}),
    Spec(Planar.unique, {"y": fresh(elementwise(on_nan=_nan_is_not_unique),
                                    lambda: torch.tensor([-3.0, 0.0, 3.0], dtype=F64))},
         owner=_folding_planar),
    Spec(Radial.det_factors, {"r": fresh(elementwise(), _distances)}, owner=_radial),
    Spec(Radial.log_abs_det, {"r": fresh(elementwise(), _distances)}, owner=_radial),
    Spec(Radial.radius_of_preimage, {"rho": fresh(elementwise(), _distances)}, owner=_radial),
    # --- conditioners ---------------------------------------------------------------------------
    Spec(MLPConditioner, {"in_features": arg(count(hi=MAX_DIM), 1),
                          "out_features": arg(count(hi=MAX_DIM), 1),
                          "hidden": arg(widths(), (8, 8)),
                          "activation": arg(module_class(), nn.Tanh)}),
    Spec(SimpleConditioner, {name: arg(real(), 0.5) for name in SimpleConditioner.PARAMETERS}),
    Spec(AdditiveConditioner, {"in_features": arg(count(hi=MAX_DIM), 1),
                               "out_features": arg(count(hi=MAX_DIM), 1),
                               "hidden": arg(count(hi=MAX_WIDTH), 8)}),
    Spec(MLPConditioner.forward, {"z_cond": fresh(flow_batch(1), _column)},
         owner=lambda: MLPConditioner(1, 1, hidden=(4,)).double()),
    Spec(SimpleConditioner.forward, {"z_cond": fresh(flow_batch(1, width_fixed=False), _column)},
         owner=lambda: SimpleConditioner(0.3, 0.1, 0.5).double()),
    Spec(AdditiveConditioner.forward, {"z_cond": fresh(flow_batch(1), _column)},
         owner=lambda: AdditiveConditioner(1, 1, hidden=4).double()),
    # --- base distributions -------------------------------------------------------------------
    Spec(StandardNormal, {"dim": arg(count(hi=MAX_DIM), 2)}),
    Spec(StandardNormal.log_prob, {"z": fresh(batch(2, nonfinite="propagate"), _points)},
         owner=lambda: StandardNormal(2)),
    Spec(StandardNormal.sample, {"n": arg(count(hi=MAX_POINTS), 4),
                                 "generator": fresh(GENERATOR, torch.Generator)},
         owner=lambda: StandardNormal(2)),
    Spec(DiagonalNormal, {"loc": fresh(number_vector(), lambda: [0.0, 1.0]),
                          "log_scale": fresh(number_vector(), lambda: [0.0, -0.5])}),
    Spec(DiagonalNormal.log_prob, {"z": fresh(flow_batch(2), _points)},
         owner=lambda: DiagonalNormal([0.0, 1.0], [0.0, -0.5]).double()),
    Spec(DiagonalNormal.sample, {"n": arg(count(hi=MAX_POINTS), 4),
                                 "generator": fresh(GENERATOR, torch.Generator)},
         owner=lambda: DiagonalNormal([0.0, 1.0], [0.0, -0.5])),
    # --- Flow -----------------------------------------------------------------------------------
    Spec(Flow, {"layers": fresh(obj(
        "layers", bad("str", "x"), Bad("a layer, not a list", lambda _g: _planar()),
        Bad("layers of two dimensions", lambda _g: [_planar(), _flow3().layers[0]]),
        Bad("a list with a non-layer", lambda _g: [_planar(), nn.Linear(2, 2)]),
        bad("empty list (no base)", [])), lambda: [_planar(), _radial()]),
        "base": fresh(obj("base", Bad("a base of another dimension",
                                      lambda _g: StandardNormal(3)),
                          Bad("a module without .dim", lambda _g: nn.Linear(2, 2)),
                          optional=True), lambda: None)}),
    Spec(Flow.forward, {"z": fresh(flow_batch(2), _points)}, owner=_flow),
    Spec(Flow.inverse, {"x": fresh(flow_batch(2), _points)}, owner=_flow),
    Spec(Flow.inverse_where, {"x": fresh(flow_batch(2), _points)}, owner=_flow),
    Spec(Flow.log_prob, {"x": fresh(flow_batch(2), _points)}, owner=_flow),
    Spec(Flow.trace, {"z": fresh(flow_batch(2, step=2), _points)}, owner=_flow),
    Spec(Flow.sample, {"n": arg(count(hi=MAX_POINTS), 4),
                       "generator": fresh(GENERATOR, torch.Generator)}, owner=_flow),
    Spec(Flow.sample_and_log_prob, {"n": arg(count(hi=MAX_POINTS), 4),
                                    "generator": fresh(GENERATOR, torch.Generator)},
         owner=_flow),
    Spec(Flow.truncated, {"k": arg(count(lo=0, hi=2), 1)}, owner=_flow),
    # --- nfwidgets.targets ----------------------------------------------------------------------
    Spec(energy, {"name": arg(choice(ENERGY_NAMES), "U1")}, examples=3),
    Spec(Energy, {"name": arg(choice(ENERGY_NAMES), "U1"), "description": arg(text(), "a ring"),
                  "domain_note": arg(text(), "on the box"), "_u": arg(function(), U1._u),
                  "bounds": arg(bounds(), ((-4.0, 4.0), (-4.0, 4.0))),
                  "envelope": arg(real(lo=0, lo_open=True, optional=True), None),
                  "modes": arg(obj("modes", optional=True), U1.modes)}, examples=3),
    Spec(Energy.confined, {"width": arg(real(lo=0, lo_open=True), 0.2)}, owner=lambda: U1),
    Spec(Energy.log_density, {"z": fresh(batch(2, nonfinite="propagate"), _points)},
         owner=lambda: U1),
    Spec(Energy.sample, {"n": arg(count(hi=MAX_POINTS), 5), "seed": arg(SEED, 0),
                         "dtype": arg(dtype(), torch.float32)}, owner=lambda: U1, examples=3),
    Spec(toy_data, {"name": arg(choice(TOY_DATA_NAMES), "two_moons"),
                    "n": arg(count(hi=MAX_POINTS), 5), "seed": arg(SEED, 0),
                    "dtype": arg(dtype(), torch.float32), "noise": arg(real(lo=0), 0.1)},
         examples=3),
    Spec(toy_modes, {"name": arg(choice(TOY_DATA_NAMES), "rings")}, examples=3),
    Spec(entropy_floor, {"name": arg(choice(TOY_DATA_NAMES), "checkerboard")}, examples=3),
    Spec(toy_data_description, {"name": arg(choice(TOY_DATA_NAMES), "rings")}, examples=3),
    Spec(Modes, {"names": arg(names(), ("left", "right")),
                 "assign": arg(function(), lambda z: (z[:, 0] > 0).long())}),
    # --- nfwidgets.train ------------------------------------------------------------------------
    Spec(Trainer, {"flow": fresh(obj("flow", Bad("a layer, not a flow", lambda _g: _planar())),
                                 _small_flow),
                   "lr": arg(LR, 1e-2), "seed": arg(SEED, 0), "grad_clip": arg(GRAD_CLIP, None)},
         examples=2),
    Spec(MaximumLikelihood, {"flow": fresh(FLOW, _small_flow),
                             "data": fresh(batch(2, nonfinite="reject"), _points),
                             "batch_size": arg(count(hi=MAX_POINTS), 3), "lr": arg(LR, 1e-2),
                             "seed": arg(SEED, 0), "grad_clip": arg(GRAD_CLIP, 5.0)}, examples=2),
    Spec(ReverseKL, {"flow": fresh(FLOW, _small_flow),
                     "energy": arg(obj("energy", bad("str", "f"), Bad(
                         "an energy of 3-D points", lambda _g: lambda x: x[:, 2])), U1),
                     "n_samples": arg(count(hi=MAX_POINTS), 8),
                     "anneal_steps": arg(count(lo=0), 100), "lr": arg(LR, 1e-2),
                     "seed": arg(SEED, 0), "grad_clip": arg(GRAD_CLIP, None)}, examples=2),
    Spec(Trainer.run, {"n_steps": arg(count(lo=1), 1)}, owner=_ml, examples=2),
    Spec(Trainer.add_callback, {"fn": arg(function(), lambda trainer, info: None)}, owner=_ml),
    Spec(Trainer.loss, {"step": arg(count(lo=1), 1)}, owner=_ml, examples=2),
    Spec(Trainer.beta, {"step": arg(count(lo=0), 1)}, owner=_ml, examples=2),
    Spec(Trainer.lr, {"lr": arg(LR, 0.05)}, owner=_ml, state=lambda t: t.lr),
    Spec(MaximumLikelihood.loss, {"step": arg(count(lo=1), 1)}, owner=_ml, examples=2),
    Spec(MaximumLikelihood.nll, {"x": fresh(batch(2, nonfinite="reject"), _points),
                                 "batch": arg(count(hi=MAX_POINTS), 2)}, owner=_ml, examples=2),
    Spec(ReverseKL.loss, {"step": arg(count(lo=1), 1)}, owner=_rkl, examples=2),
    Spec(ReverseKL.beta, {"step": arg(count(lo=0), 1)}, owner=_rkl, examples=2),
    Spec(ReverseKL.free_energy, {"n": arg(count(hi=MAX_POINTS), 16)}, owner=_rkl, examples=2),
    Spec(annealing_schedule, {"step": arg(count(lo=0), 10), "anneal_steps": arg(count(lo=0), 100),
                              "start": arg(real(lo=0, hi=1), 0.01)}),
    # --- nfwidgets.grid -------------------------------------------------------------------------
    Spec(check_bounds, {"bounds": arg(bounds(), BOX)}),
    Spec(grid_points, {"bounds": arg(bounds(), BOX), "n": arg(count(lo=2, hi=4096), 4),
                       "dtype": arg(dtype(), torch.float32),
                       "device": arg(device(), None)}),
    Spec(line_points, {"bounds": arg(bounds(), BOX), "n_lines": arg(count(lo=2, hi=4096), 3),
                       "n_points": arg(count(lo=2, hi=4096), 4),
                       "dtype": arg(dtype(), torch.float32), "device": arg(device(), None)}),
    Spec(density_grid, {"flow": fresh(FLOW_2D, _flow), "bounds": arg(bounds(), BOX),
                        "n": arg(count(lo=2, hi=4096), 6),
                        "log_ceiling": arg(real(lo=LOG_DENSITY_FLOOR, lo_open=True), 20.0),
                        "cache": fresh(obj("cache", Bad("a ForwardCache",
                                                        lambda _g: ForwardCache()),
                                           optional=True), InverseCache)}),
    Spec(log_det_grid, {"flow": fresh(FLOW_2D, _flow), "bounds": arg(bounds(), BOX),
                        "n": arg(count(lo=2, hi=4096), 6)}),
    Spec(deformed_grid, {"flow": fresh(FLOW_2D, _flow), "bounds": arg(bounds(), BOX),
                         "n_lines": arg(count(lo=2, hi=4096), 3),
                         "n_points": arg(count(lo=2, hi=4096), 5),
                         "limit": arg(real(lo=0, lo_open=True), 1e3),
                         "cache": fresh(obj("cache", Bad("an InverseCache",
                                                         lambda _g: InverseCache()),
                                            optional=True), ForwardCache)}),
    # --- nfwidgets.tune_kernel: the good call changes nothing (same threads, no malloc) -----
    Spec(nfwidgets.tune_kernel, {"threads": arg(count(hi=MAX_THREADS, optional=True),
                                                torch.get_num_threads()),
                                 "malloc": arg(flag(), False)}),
]

#: entry point → why it is not fuzzed
EXEMPT: dict[object, str] = {
    Layer: "the abstract base of the layers (its constructor takes no arguments of its own; "
           "Planar, Radial, ElementwiseAffine and AffineCoupling are fuzzed)",
    DensityGrid: "a result record the package builds",
    LogDetGrid: "a result record the package builds",
    DeformedGrid: "a result record the package builds",
    StepInfo: "a result record the package builds",
}
