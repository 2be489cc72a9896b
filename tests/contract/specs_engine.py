"""Contract specs of the flow engine: ``nfwidgets.flows``, ``.targets``, ``.train``, ``.grid``
and ``tune_kernel`` (see README.md).

Every kind comes from the catalogue (``bad_values``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

import nfwidgets
from nfwidgets._checks import MAX_DIM, MAX_POINTS, MAX_WIDTH
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
    Bad,
    Kind,
    bad,
    batch,
    bounds,
    choice,
    count,
    counts,
    device,
    dtype,
    elementwise,
    false_where_nan,
    flag,
    flow,
    function,
    generator,
    mask,
    module_class,
    names,
    number_vector,
    obj,
    real,
    rows_propagate,
    seed,
    text,
)
from .runner import Spec, arg, fresh

F64 = torch.float64
#: The engine's row-wise NaN rule (``nfwidgets.flows`` docstring): the points of a NaN row go
#: non-finite; a log-det that does not depend on the point may stay finite.
POINTS = rows_propagate(slice(0, 1))
#: A batch of 2-D points / of 1-D conditioning columns for a float64 module of the engine.
FLOW_BATCH = batch(2, nonfinite=POINTS, float64=True)
COLUMN_BATCH = batch(1, nonfinite=POINTS, float64=True)


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


FLOW = flow()
GENERATOR = generator()
SEED = seed()
LR = real(lo=0, lo_open=True)
GRAD_CLIP = real(lo=0, lo_open=True, optional=True)
U1 = energy("U1")
BOX = ((-3.0, 3.0), (-2.0, 2.0))


def _layer_specs(method: str, kind: Kind, param: str) -> list[Spec]:
    return [Spec(getattr(Layer, method), {param: fresh(kind, _points)}, owner=make,
                 name=f"nfwidgets.flows.base.Layer.{method}[{make.__name__[1:]}]")
            for make in (_planar, _radial, _affine, _coupling)]


def _seeded(make: Callable[[], object]) -> object:
    """``make()`` with torch's global generator at seed 0 (and left as it was): an inf input
    row may saturate a tanh to a finite output, so which rows propagate depends on the weights,
    and the test must see the same weights whatever ran before it."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return make()


SPECS: list[Spec] = [
    # --- nfwidgets.flows: layers --------------------------------------------------------------
    Spec(Planar, {"w": fresh(number_vector(), lambda: [1.0, 0.5]),
                  "u": fresh(number_vector(), lambda: [0.5, -0.3]),
                  "b": arg(real(), 0.1), "constrain": arg(flag(), True)}),
    Spec(Radial, {"z0": fresh(number_vector(fixed_length=False), lambda: [0.0, 0.0]),
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
    *_layer_specs("forward", FLOW_BATCH, "z"),
    *_layer_specs("inverse", FLOW_BATCH, "x"),
    *_layer_specs("inverse_where", FLOW_BATCH, "x"),
    Spec(AffineCoupling.jacobian, {"z": fresh(FLOW_BATCH, _points)}, owner=_coupling),
    Spec(Planar.log_abs_det, {"h": fresh(elementwise(), lambda: torch.tensor([0.1, -0.5, 0.9])),
                              "c": fresh(elementwise(rows=False), lambda: torch.tensor(0.5)),
                              "one_plus_c": fresh(elementwise(rows=False),
                                                  lambda: torch.tensor(1.5))}),
    Spec(Planar.unique, {"y": fresh(elementwise(nan=false_where_nan),
                                    lambda: torch.tensor([-3.0, 0.0, 3.0], dtype=F64))},
         owner=_folding_planar),
    Spec(Radial.det_factors, {"r": fresh(elementwise(), _distances)}, owner=_radial),
    Spec(Radial.log_abs_det, {"r": fresh(elementwise(), _distances)}, owner=_radial),
    Spec(Radial.radius_of_preimage, {"rho": fresh(elementwise(), _distances)}, owner=_radial),
    # --- conditioners ---------------------------------------------------------------------------
    Spec(MLPConditioner, {"in_features": arg(count(hi=MAX_DIM), 1),
                          "out_features": arg(count(hi=MAX_DIM), 1),
                          "hidden": arg(counts(hi=MAX_WIDTH, empty_ok=True), (8, 8)),
                          "activation": arg(module_class(), nn.Tanh)}),
    Spec(SimpleConditioner, {name: arg(real(), 0.5) for name in SimpleConditioner.PARAMETERS}),
    Spec(AdditiveConditioner, {"in_features": arg(count(hi=MAX_DIM), 1),
                               "out_features": arg(count(hi=MAX_DIM), 1),
                               "hidden": arg(count(hi=MAX_WIDTH), 8)}),
    Spec(MLPConditioner.forward, {"z_cond": fresh(COLUMN_BATCH, _column)},
         owner=lambda: _seeded(lambda: MLPConditioner(1, 1, hidden=(4,)).double())),
    Spec(SimpleConditioner.forward, {"z_cond": fresh(batch(1, nonfinite=POINTS, float64=True,
                                                          fixed_width=False), _column)},
         owner=lambda: SimpleConditioner(0.3, 0.1, 0.5).double()),
    Spec(AdditiveConditioner.forward, {"z_cond": fresh(COLUMN_BATCH, _column)},
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
    Spec(DiagonalNormal.log_prob, {"z": fresh(FLOW_BATCH, _points)},
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
    Spec(Flow.forward, {"z": fresh(FLOW_BATCH, _points)}, owner=_flow),
    Spec(Flow.inverse, {"x": fresh(FLOW_BATCH, _points)}, owner=_flow),
    Spec(Flow.inverse_where, {"x": fresh(FLOW_BATCH, _points)}, owner=_flow),
    Spec(Flow.log_prob, {"x": fresh(FLOW_BATCH, _points)}, owner=_flow),
    Spec(Flow.trace, {"z": fresh(batch(2, nonfinite=rows_propagate(slice(None, None, 2)),
                                       float64=True),
                                 _points)}, owner=_flow),  # [(z_k, log_det_k), ...]
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
    Spec(Trainer, {"flow": fresh(flow(dim=None), _small_flow),
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
    Spec(density_grid, {"flow": fresh(FLOW, _flow), "bounds": arg(bounds(), BOX),
                        "n": arg(count(lo=2, hi=4096), 6),
                        "log_ceiling": arg(real(lo=LOG_DENSITY_FLOOR, lo_open=True), 20.0),
                        "cache": fresh(obj("cache", Bad("a ForwardCache",
                                                        lambda _g: ForwardCache()),
                                           optional=True), InverseCache)}),
    Spec(log_det_grid, {"flow": fresh(FLOW, _flow), "bounds": arg(bounds(), BOX),
                        "n": arg(count(lo=2, hi=4096), 6)}),
    Spec(deformed_grid, {"flow": fresh(FLOW, _flow), "bounds": arg(bounds(), BOX),
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
