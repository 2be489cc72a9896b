"""Contract specs for ``nfwidgets.check`` (see README.md and ``nfwidgets/check/_report.py``).

A check's arguments are of three sorts, and the specs say which:

- the learner's function(s): kind ``learner(...)`` (``function()`` plus correct solutions
  written differently, which must pass). A non-callable is refused with ``ValueError``; what a
  callable does is judged, so these parameters are *not* in ``judged``.
- answers the learner types (``my_bpd``, ``expected_F``, ``answer``): in ``judged``, so a wrong
  one, of any type, may get the check's verdict ``CheckFailed``.
- what the lesson hands the check (a widget, a flow, a target, a margin, a seed): input, so a
  bad value is a ``ValueError`` naming it. Good values are states that pass the check (cheap
  ones: a dashboard given a ready-made flow and trained one step, not a 400-step fit).

Good learner functions are the reference solutions (``tests/check_solutions*.py``) or the
engine's own functions (``layer.inverse``, ``roc_auc``, ``data.bits_per_dim``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import check_solutions as sol
import check_solutions_basics as sb
import check_solutions_coupling as sc
import numpy as np
import torch

from nfwidgets import check, data
from nfwidgets.check import CheckFailed
from nfwidgets.check._report import SEED_MAX
from nfwidgets.flows import ElementwiseAffine, Flow, Planar
from nfwidgets.flows.planar import u_hat as engine_u_hat
from nfwidgets.outliers import roc_auc
from nfwidgets.targets import ENTROPY_FLOORS, energy, toy_data

from .bad_values import (
    Bad,
    answer,
    bad,
    batch,
    binary_images,
    choice,
    combined,
    count,
    flow,
    learner,
    obj,
    real,
    scores,
    seed,
    seeds,
    widget,
)
from .runner import Spec, arg, fresh

SEED = seed(hi=SEED_MAX)
#: Scores of any length (``pairwise_auc``'s ``s_in``, ``s_out``).
SCORES = scores(optional=True)
#: One binarised digit (64,): a bool or int tensor of 0/1 pixels may be accepted.
PIXELS = binary_images("one", optional=True)


def _flow(dim: int = 2) -> Flow:
    return Flow([ElementwiseAffine([math.log(0.4)] * dim, [2.0] + [0.0] * (dim - 1))])


# ---- good values --------------------------------------------------------------------------

U1 = energy("U1")
FAST = {"redraw_delay": 0, "resolution": 24, "redraw_every": 1e6}


def _drive(widget_obj: object, *steps: tuple) -> object:
    for method, *args in steps:
        getattr(widget_obj, method)(*args[:-1], **args[-1])
    return widget_obj


def _dashboard(target: str, flow: Flow) -> object:
    """A dashboard on ``target`` given a ready-made ``flow``, past annealing after one step."""
    from nfwidgets import TrainingDashboard

    d = TrainingDashboard(target=target, flow=flow, layers=1, lr=1e-5, batch_size=64, seed=0,
                          steps=1, anneal_steps=0, **FAST)
    d.train(1)
    return d


def _pile_up() -> object:
    from nfwidgets import ChangeOfVariables1D
    return _drive(ChangeOfVariables1D("affine", seed=0, redraw_delay=0),
                  *sb.WIDGET_SOLUTIONS["pile_up"][0])


def _fold_line() -> object:
    from nfwidgets import PlanarExplorer
    return _drive(PlanarExplorer(Planar(w=[2.0, 0.0], u=[1.5, 0.5], b=0.0), redraw_delay=0),
                  *sb.WIDGET_SOLUTIONS["fold_line"][0])


def _mass_pushed_out() -> object:
    from nfwidgets import Radial, RadialExplorer
    return _drive(RadialExplorer(Radial(z0=[1.0, 0.5], alpha=0.5, beta=1.0), redraw_delay=0),
                  *sb.WIDGET_SOLUTIONS["mass_pushed_out"][0])


def _area_kept() -> object:
    from nfwidgets import FlowBuilder
    return _drive(FlowBuilder(preset="five_affine", seed=0, redraw_delay=0),
                  *sb.WIDGET_SOLUTIONS["area_kept"][0])


def _volume_preserving() -> object:
    from nfwidgets import CouplingExplorer
    return _drive(CouplingExplorer(redraw_delay=0),
                  ("set", {"scale": "exp", "s_slope": 0.0, "s_shift": 0.0, "t_amplitude": 1.0}))


def _lesson_04_flow() -> Flow:
    from nfwidgets.widgets.stack_presets import five_affine_layers
    return Flow(five_affine_layers()).double()  # as the lesson builds it


def _vae() -> object:
    from nfwidgets.models.flowvae import FlowVAE
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return FlowVAE(layers=3, hidden=16)


VAE = _vae()
DIGIT = data.binarize(data.digits("test"))[4]


def negative_elbo(p):
    from nfwidgets.models.flowvae import FlowVAE
    return (p.log_q0 - p.sum_log_det - p.log_px_given_z - FlowVAE.log_prior(p.z_k)).mean()


def negative_elbo_numpy(p):  # a NumPy float from four means
    log_prior = -0.5 * (p.z_k ** 2).sum(1) - math.log(2 * math.pi)
    return np.mean((p.log_q0 - p.sum_log_det - p.log_px_given_z - log_prior).numpy())


def auc_loop(s_in, s_out):  # every pair, a tie counting one half
    wins = sum((float(b) > float(a)) + 0.5 * (float(b) == float(a)) for a in s_in for b in s_out)
    return wins / (len(s_in) * len(s_out))


def average_nll(flow, x):
    return -flow.log_prob(x).mean()


def average_nll_numpy(flow, x):
    return float(-np.mean(flow.log_prob(x).numpy()))


def coupling_inverse_engine(layer, x):
    return layer.inverse(x)[0]


def annealed_objective(log_q, u, beta):
    return (log_q + beta * u).mean()


def annealed_objective_sum(log_q, u, beta):
    return float(log_q.sum() + beta * u.sum()) / len(log_q)


def _scores(seed: int, shift: float) -> Callable[[], torch.Tensor]:
    return lambda: torch.randn(30, generator=torch.Generator().manual_seed(seed)) + shift


BPD_NLL = 92.5
JUDGED = {"judgement": CheckFailed}


def _basics(name: str, param: str) -> Spec:
    good, *others = sb.SOLUTIONS[name]
    return Spec(getattr(check, name), {param: arg(learner(*others), good),
                                       "seed": arg(SEED, 0)}, examples=1)


def once(factory: Callable[[], object]) -> Callable[[], object]:
    """``factory``'s object, built on first use and shared: the checks only read a widget,
    and building one per bad value would take minutes. Built with warnings off: a widget's
    construction (bqplot's own DeprecationWarnings) is the widgets' contract, not the check's."""
    made: list[object] = []

    def make() -> object:
        if not made:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                made.append(factory())
        return made[0]
    return make


SPECS: list[Spec] = [
    # lessons 00–04: the learner's function and a seed
    _basics("affine_log_prob", "my_log_prob"),
    _basics("density_at_image", "my_density_at_image"),
    _basics("planar_log_det", "my_log_det"),
    _basics("radial_log_det", "my_log_det"),
    Spec(check.single_affine, {
        "my_single_layer": arg(learner(*sb.SOLUTIONS["single_affine"][1:]),
                               sb.SOLUTIONS["single_affine"][0]),
        "flow": fresh(flow(Bad("a flow with a planar layer", lambda _g: Flow(
            [Planar([1.0, 0.0], [0.5, 0.0], 0.0)])), optional=True), _lesson_04_flow),
        "seed": arg(SEED, 0)}, examples=1),
    # assignments: the learner's functions only
    Spec(check.u_hat, {"u_hat_fn": arg(learner(engine_u_hat), sol.u_hat)},
         aliases={"u_hat_fn": ("u_hat",)}),
    Spec(check.planar_layer, {"u_hat_fn": arg(learner(engine_u_hat), sol.u_hat),
                              "planar_forward_fn": arg(learner(), sol.planar_forward)},
         aliases={"u_hat_fn": ("u_hat",), "planar_forward_fn": ("planar_forward",)}),
    Spec(check.preimage_radius, {"preimage_radius_fn": arg(learner(), sol.preimage_radius)},
         aliases={"preimage_radius_fn": ("preimage_radius",)}),
    Spec(check.radial_inverse, {"preimage_radius_fn": arg(learner(), sol.preimage_radius),
                                "radial_inverse_fn": arg(learner(), sol.radial_inverse)},
         aliases={"preimage_radius_fn": ("preimage_radius",),
                  "radial_inverse_fn": ("radial_inverse",)}),
    Spec(check.coupling_layer, {
        "coupling_forward": arg(learner(*[f for f, _ in sc.COUPLING_VARIANTS.values()]),
                                sc.coupling_forward),
        "coupling_inverse": arg(learner(*[g for _, g in sc.COUPLING_VARIANTS.values()]),
                                sc.coupling_inverse)}),
    Spec(check.free_energy, {"free_energy_fn": arg(learner(
        sc.free_energy_by_layers, sc.free_energy_global_rng, sc.free_energy_through_inverse),
        sc.free_energy)}, aliases={"free_energy_fn": ("free_energy",)}),
    Spec(check.annealing, {"beta_fn": arg(learner(*list(sc.BETA_VARIANTS.values())[1:]),
                                          sc.beta)}, aliases={"beta_fn": ("beta",)}),
    # a trained flow against the data's entropy: the flow is judged, target/margin are input
    Spec(check.fits_entropy_floor, {
        "flow": fresh(flow(), lambda: Flow([ElementwiseAffine([math.log(2.0)] * 2,
                                                                   [0.0, 0.0])])),
        "target": arg(choice(list(ENTROPY_FLOORS), spellings=[("upper case",
                                                               "EIGHT_GAUSSIANS")]),
                      "eight_gaussians"),
        "margin": arg(real(lo=0, lo_open=True), 3.0)}, examples=2),
    Spec(check.missed_mode, {
        "answer": arg(choice(["left lobe", "right lobe"], spellings=[
            ("capitalised", "Left lobe"), ("with 'the'", "the left lobe")]), "left"),
        "flow": fresh(flow(), _flow),
        "energy": arg(combined("target with modes", choice(["U1"]),
                               bad("a target without modes", "U2"),
                               spellings=[("an Energy", U1)]), "U1")},
         judged=("answer",), examples=2, **JUDGED),
    # lessons 05–08
    Spec(check.coupling_inverse, {"my_inverse": arg(learner(coupling_inverse_engine),
                                                    coupling_inverse_engine),
                                  "seed": arg(SEED, 0)}, examples=1),
    Spec(check.average_nll, {
        "average_nll": arg(learner(average_nll_numpy), average_nll),
        "flow": fresh(flow(optional=True), lambda: _flow()),
        "x": fresh(batch(2, nonfinite="reject", optional=True),
                   lambda: toy_data("checkerboard", 200, seed=1)),
        "seed": arg(SEED, 0)}, examples=1),
    Spec(check.annealed_objective, {"my_objective": arg(learner(annealed_objective_sum),
                                                        annealed_objective),
                                    "seed": arg(SEED, 0)}, examples=1),
    Spec(check.one_lobe_free_energy, {
        "expected_F": arg(answer(), math.log(2) - U1.log_z),
        "energy": arg(obj("energy", bad("a name, not an Energy", "U1")), U1),
        "flow": fresh(flow(optional=True), _flow)},
         judged=("expected_F",), examples=2, **JUDGED),
    # lessons 09–11
    Spec(check.negative_elbo, {
        "my_negative_elbo": arg(learner(negative_elbo_numpy), negative_elbo),
        "model": arg(obj("model", Bad("a flow, not a FlowVAE", lambda _g: _flow()),
                         optional=True), VAE),
        "x": fresh(PIXELS, DIGIT.clone),
        "seeds": arg(seeds(), (0,))}, examples=1),
    Spec(check.bits_per_dim, {"my_bpd": arg(answer(), float(data.bits_per_dim(BPD_NLL))),
                              "nll": arg(real(lo=-1e4, hi=1e4), BPD_NLL)},
         judged=("my_bpd",), examples=2, **JUDGED),
    Spec(check.pairwise_auc, {"my_auc": arg(learner(auc_loop), roc_auc),
                              "s_in": fresh(SCORES, _scores(1, 0.0)),
                              "s_out": fresh(SCORES, _scores(2, 1.0)),
                              "seed": arg(SEED, 0)}, examples=1),
    # widget tasks, lessons 01–04: the widget is input (its class), its state is judged
    Spec(check.pile_up, {"cov": fresh(widget("cov", "layer"), once(_pile_up)),
                         "target": arg(real(lo=-5, hi=5), 1.0),
                         "tolerance": arg(real(lo=0, lo_open=True), 0.2),
                         "height": arg(real(lo=0, hi=10, lo_open=True), 0.5)}, examples=1),
    Spec(check.fold_line, {"explorer": fresh(widget("explorer", "layer"), once(_fold_line)),
                           "level": arg(real(lo=-4, hi=4), 1.0),
                           "tolerance": arg(real(lo=0, lo_open=True), 0.1)}, examples=1),
    Spec(check.mass_pushed_out, {"explorer": fresh(widget("explorer", "layer"),
                                                   once(_mass_pushed_out)),
                                 "below": arg(real(lo=0, hi=1, lo_open=True), 0.9)},
         examples=1),
    Spec(check.area_kept, {"builder": fresh(widget("builder", "flow"), once(_area_kept)),
                           "layers": arg(count(lo=1, hi=20), 5),
                           "tolerance": arg(real(lo=0, lo_open=True), 0.011)}, examples=1),
    # widget tasks, lessons 05–08
    Spec(check.volume_preserving_coupling, {
        "explorer": fresh(widget("explorer", "layer"), once(_volume_preserving))}),
    Spec(check.near_entropy_floor, {
        "dashboard": fresh(widget("dashboard", "flow"), once(lambda: _dashboard(
            "eight_gaussians", Flow([ElementwiseAffine([math.log(2.0)] * 2, [0.0, 0.0])])))),
        "target": arg(choice(list(ENTROPY_FLOORS)), "eight_gaussians"),
        "margin": arg(real(lo=0, lo_open=True), 3.0)}, examples=1),
    Spec(check.both_lobes_covered, {
        "dashboard": fresh(widget("dashboard", "flow"), once(lambda: _dashboard(
            "U1", Flow([ElementwiseAffine([math.log(1.3), 0.0], [0.0, 0.0])])))),
        "share": arg(real(lo=0, hi=0.5), 0.3)}, examples=1),
    Spec(check.collapsed_onto_left_lobe, {
        "dashboard": fresh(widget("dashboard", "flow"), once(lambda: _dashboard(
            "U1", Flow([ElementwiseAffine([math.log(0.4)] * 2, [-2.0, 0.0])])))),
        "share": arg(real(lo=0.5, hi=1, lo_open=True), 0.9)}, examples=1),
]
for _spec in SPECS:  # CheckFailed is every check's verdict on the state it was given to judge
    _spec.judgement = CheckFailed
#: entry point → why it is not fuzzed
EXEMPT: dict[object, str] = {}
