r"""Checks for the tasks done *with* a widget in lessons 05–08: the check reads the widget's state
(its layer, its flow, its target, its trainer) and says what it found.

Nothing here imports a widget module: a check makes sure it was given the lesson's widget (by
its class's name, ``_report.instance_of``), reads only the attributes named in its docstring and
measures with the engine (``flows``, ``targets``, ``diagnostics``). The task's numbers and names
(``target``, ``margin``, ``share``) are the lesson's: a wrong one is a ``ValueError``.

- ``volume_preserving_coupling(explorer)`` — lesson 05, ``CouplingExplorer``: a coupling layer
  that keeps every area, :math:`\log|\det J| = \ell(z_c) = 0` everywhere, and still bends the
  plane (the shift t depends on the conditioning coordinate) — NICE's additive coupling
  (Dinh et al. 2015, eq. 5), made with the sliders.
- ``near_entropy_floor(dashboard, target, margin)`` — lesson 06, ``TrainingDashboard``: a flow
  trained by maximum likelihood whose held-out NLL is within ``margin`` nats of the data's
  entropy :math:`H(p)`, the floor of :math:`\mathbb E_p[-\log q] = H(p) + \mathrm{KL}(p\|q)`.
- ``both_lobes_covered(dashboard, share)`` — lesson 07: a reverse-KL fit of U1, trained past
  the annealing (β = 1), with at least ``share`` of q's mass on each lobe.
- ``collapsed_onto_left_lobe(dashboard, share)`` — lesson 08: a reverse-KL fit of U1, past the
  annealing, with at least ``share`` of q's mass on the *left* lobe (which lobe a collapsing
  flow picks is decided by where it starts, not by p, which is symmetric).

``TASKS`` holds each task's catalogue of wrong states: key → ``WrongState`` (the message, a
template filled with the state found, and the steps that reach that state from the lesson's
widget, for the tests).
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import torch

from ..diagnostics import mode_masses
from ..targets import ENTROPY_FLOORS, entropy_floor, toy_data
from ._report import CheckFailed, a_number, instance_of, one_of, passed

__all__ = ["TASKS", "WrongState", "both_lobes_covered", "collapsed_onto_left_lobe",
           "near_entropy_floor", "volume_preserving_coupling"]

#: Held-out points for the NLL and samples for the mode masses (seeded apart from training).
HELD_OUT, HELD_OUT_SEED, MASS_SAMPLES, MASS_SEED = 20_000, 777, 20_000, 778


@dataclass(frozen=True)
class WrongState:
    """A typical wrong widget state: ``message`` is filled with what the check found;
    ``steps`` are ``(method, *args, kwargs)`` calls on the lesson's widget that reach it."""

    key: str
    message: str
    steps: tuple

    @property
    def marker(self) -> str:
        """The longest fixed piece of the message (how a test recognises it)."""
        return max((lit for lit, *_ in string.Formatter().parse(self.message)), key=len)


def _catalogue(*states: WrongState) -> dict[str, WrongState]:
    return {s.key: s for s in states}


_COUPLING = (("set", {"scale": "exp", "s_slope": 0.0, "s_shift": 0.0, "t_amplitude": 1.0,
                      "t_frequency": 1.5, "t_shift": 0.0}),)
_PLANAR_U1 = (("set", {"target": "U1", "flow": "planar", "layers": 8, "seed": 0}),)
TASKS: dict[str, dict[str, WrongState]] = {
    "volume_preserving_coupling": _catalogue(
        WrongState("log_det_varies", "log|det J| runs from {lo:+.2f} to {hi:+.2f} across the "
                   "view (the stripes): the scale still depends on z_c (s slope = {slope:+.2f}"
                   "), so some areas grow and others shrink.",
                   (("set", {"s_slope": 0.5}),)),
        WrongState("uniform_scale", "log|det J| = {ld:+.3f} everywhere: every area is scaled "
                   "by the same factor e^{ld:+.3f} = {factor:.3f}, not kept.",
                   (_COUPLING[0], ("set", {"s_shift": 0.4}))),
        WrongState("not_bent", "Every area is kept, but the layer only slides the plane by "
                   "{shift:+.2f}: the shift is the same for every z_c, so nothing bends.",
                   (_COUPLING[0], ("set", {"t_amplitude": 0.0, "t_shift": 0.8}))),
        WrongState("identity", "Every area is kept, but nothing moves at all: the layer is the "
                   "identity.",
                   (_COUPLING[0], ("set", {"t_amplitude": 0.0}))),
    ),
    "near_entropy_floor": _catalogue(
        WrongState("other_target", "The dashboard fits {found}; this task is about {want} "
                   "(dashboard.set(target={want!r}) starts over).",
                   (("set", {"target": "two_moons"}),)),
        WrongState("untrained", "The flow has not been trained yet (step 0): press Play.",
                   (("reset", {}),)),
        WrongState("overfits", "On its {n_train} training points the NLL is {train:.3f} "
                   "nats, within {margin} of the floor {floor:.3f}, but on fresh points it is "
                   "{test:.3f}: part of the fit is to the training points themselves "
                   "(overfitting), not to p. A smaller learning rate (now {lr:.3g}) smooths "
                   "the fit.",
                   (("set", {"lr": 1e-2}), ("train", 750, {}))),
        WrongState("too_far", "After {steps} steps the held-out NLL is {test:.3f} nats, "
                   "{gap:.3f} above the floor {floor:.3f} (the task: within {margin}). Train "
                   "longer, or pause and lower the learning rate (now {lr:.3g}).",
                   (("train", 100, {}),)),
    ),
    "both_lobes_covered": _catalogue(
        WrongState("not_u1", "The dashboard fits {found}; this task is a reverse-KL fit of "
                   "U1 (dashboard.set(target='U1') starts over).",
                   (("set", {"target": "eight_gaussians"}), ("train", 5, {}))),
        WrongState("untrained", "The flow has not been trained yet (step 0): press Play.",
                   (_PLANAR_U1[0],)),
        WrongState("annealing", "Step {step}: β = {beta:.2f} < 1, the annealing is not over. "
                   "The energy is still scaled down, so q is not yet fitted to p itself: train "
                   "past step {full}.",
                   (_PLANAR_U1[0], ("train", 20, {}))),
        WrongState("collapsed", "q puts {low:.0%} of its mass on the {lobe}: it has "
                   "collapsed onto one lobe. {layers} {kind} layers cannot stretch one "
                   "Gaussian over both lobes, and reverse KL does not punish the missing mass. "
                   "Try another flow kind, more layers or another seed.",
                   (_PLANAR_U1[0], ("train", 400, {}))),
    ),
    "collapsed_onto_left_lobe": _catalogue(
        WrongState("not_u1", "The dashboard fits {found}; this task is a reverse-KL fit of "
                   "U1 (dashboard.set(target='U1') starts over).",
                   (("set", {"target": "eight_gaussians"}), ("train", 5, {}))),
        WrongState("untrained", "The flow has not been trained yet (step 0): press Play.",
                   (_PLANAR_U1[0],)),
        WrongState("annealing", "Step {step}: β = {beta:.2f} < 1, the annealing is not over: "
                   "train past step {full}, then see where q settled.",
                   (_PLANAR_U1[0], ("train", 20, {}))),
        WrongState("right_lobe", "q sits on the right lobe ({right:.0%} of its mass there). "
                   "Both lobes are equally good for reverse KL; which one q picks depends on "
                   "where the flow starts. Change only the seed.",
                   (_PLANAR_U1[0], ("train", 400, {}))),
        WrongState("covers_both", "q covers both lobes ({left:.0%} left, {right:.0%} right): "
                   "a good fit, but the task is to make the planar flow collapse onto the "
                   "left lobe. Go back to planar layers and change the seed.",
                   (("set", {"target": "U1", "flow": "coupling", "layers": 6, "seed": 0}),
                    ("train", 400, {}))),
    ),
}


def _fail(task: str, key: str, **found: object) -> None:
    raise CheckFailed(TASKS[task][key].message.format(**found))


def _drawn(widget: object, what: str) -> None:
    if getattr(widget, "last_frame", None) is None:
        raise CheckFailed(f"The {what} has not drawn anything yet: display it (put it last in "
                          "a cell) or call .redraw().")


# --- lesson 05 ---------------------------------------------------------------------------
@torch.no_grad()
def volume_preserving_coupling(explorer: object) -> None:
    """Lesson 05: ``explorer.layer`` (an ``AffineCoupling``: ``forward``, ``mask``,
    ``conditioner.s_slope``) after the learner's slider moves must have log|det J| = 0 at every
    point of a grid over [-3, 3]² and a shift that varies by more than 0.3 across it."""
    instance_of(explorer, "volume_preserving_coupling", "explorer", "CouplingExplorer",
                "the lesson's")
    _drawn(explorer, "explorer")
    task, layer = "volume_preserving_coupling", explorer.layer
    ticks = torch.linspace(-3.0, 3.0, 41)
    z = torch.cartesian_prod(ticks, ticks).to(next(iter(layer.buffers())).dtype)
    x, log_det = layer(z)
    lo, hi = float(log_det.min()), float(log_det.max())
    if hi - lo > 1e-3:
        slope = float(torch.as_tensor(getattr(layer.conditioner, "s_slope", float("nan")))
                      .detach())
        _fail(task, "log_det_varies", lo=lo, hi=hi, slope=slope)
    if max(abs(lo), abs(hi)) > 1e-3:
        ld = 0.5 * (lo + hi)
        _fail(task, "uniform_scale", ld=ld, factor=float(torch.tensor(ld).exp()))
    moved = (x - z).sum(-1)  # only the transformed coordinate moves
    if float(moved.abs().max()) < 1e-3:
        _fail(task, "identity")
    if float(moved.max() - moved.min()) < 0.3:
        _fail(task, "not_bent", shift=float(moved.mean()))
    passed(f"log|det J| = 0 everywhere and the layer bends the plane (the shift varies by "
           f"{float(moved.max() - moved.min()):.2f}): an additive, volume-preserving coupling, "
           "as in NICE.")


# --- lesson 06 ---------------------------------------------------------------------------
def _lr(dashboard: object) -> float:
    controls = getattr(dashboard, "controls", {})
    return float(controls["lr"].value) if "lr" in controls else float("nan")


@torch.no_grad()
def near_entropy_floor(dashboard: object, target: str = "eight_gaussians",
                       margin: float = 0.3) -> None:
    """Lesson 06: ``dashboard.target.name`` must be ``target``; the held-out NLL of
    ``dashboard.flow`` (20 000 fresh points of the target) within ``margin`` nats of
    ``targets.entropy_floor(target)``. Reads ``dashboard.trainer.step_count`` and
    ``.trainer.nll``, ``dashboard.target.data`` and the ``lr`` control. ``target`` is a
    toy data set with a known entropy, ``margin`` a number of nats > 0."""
    check = "near_entropy_floor"
    instance_of(dashboard, check, "dashboard", "TrainingDashboard", "the lesson's")
    target = one_of(target, check, "target", list(ENTROPY_FLOORS))
    margin = a_number(margin, check, "margin", lo=0, lo_open=True)
    _drawn(dashboard, "dashboard")
    task, found = "near_entropy_floor", dashboard.target.name
    if found != target:
        _fail(task, "other_target", found=found, want=target)
    trainer = dashboard.trainer
    if trainer is None or trainer.step_count == 0:
        _fail(task, "untrained")
    floor = entropy_floor(target)
    test = trainer.nll(toy_data(target, HELD_OUT, seed=HELD_OUT_SEED))
    if test - floor <= margin:
        passed(f"held-out NLL {test:.3f} nats after {trainer.step_count} steps: "
               f"{test - floor:.3f} above the floor H(p) = {floor:.3f}. That gap is KL(p‖q).")
        return
    data = dashboard.target.data
    train = trainer.nll(data)
    if train - floor <= margin:
        _fail(task, "overfits", n_train=data.shape[0], train=train, margin=margin, floor=floor,
              test=test, lr=_lr(dashboard))
    _fail(task, "too_far", steps=trainer.step_count, test=test, gap=test - floor, floor=floor,
          margin=margin, lr=_lr(dashboard))


# --- lessons 07 and 08 ---------------------------------------------------------------------
def _u1_masses(task: str, dashboard: object) -> dict[str, float]:
    """The mode masses of a U1 fit past the annealing, or the catalogued wrong state."""
    _drawn(dashboard, "dashboard")
    found = dashboard.target.name
    if found != "U1":
        _fail(task, "not_u1", found=found)
    trainer = dashboard.trainer
    step = 0 if trainer is None else trainer.step_count
    if step == 0:
        _fail(task, "untrained")
    if trainer.beta(step) < 1.0:
        full = next(t for t in range(step, step + 10**7) if trainer.beta(t) >= 1.0)
        _fail(task, "annealing", step=step, beta=trainer.beta(step), full=full)
    gen = torch.Generator().manual_seed(MASS_SEED)
    with torch.no_grad():
        samples = dashboard.flow.sample(MASS_SAMPLES, generator=gen)
    masses = mode_masses("U1", samples)
    return {name.split(" (")[0]: share for name, share in masses.items()}


def _kind(flow: object) -> tuple[int, str]:
    layers = list(getattr(flow, "layers", []))
    kinds = sorted({type(ly).__name__ for ly in layers})
    return len(layers), "/".join(kinds) or "no"


def both_lobes_covered(dashboard: object, share: float = 0.3) -> None:
    """Lesson 07: a reverse-KL fit of U1 (``dashboard.target.name``), trained past the
    annealing (``dashboard.trainer.beta(step) == 1``), with at least ``share`` of the mass of
    ``dashboard.flow`` (20 000 samples) on each lobe (``diagnostics.mode_masses``);
    ``share`` in [0, 0.5]."""
    instance_of(dashboard, "both_lobes_covered", "dashboard", "TrainingDashboard",
                "the lesson's")
    share = a_number(share, "both_lobes_covered", "share", lo=0, hi=0.5)
    task = "both_lobes_covered"
    masses = _u1_masses(task, dashboard)
    lobe, low = min(masses.items(), key=lambda kv: kv[1])
    if low < share:
        layers, kind = _kind(dashboard.flow)
        _fail(task, "collapsed", low=low, lobe=lobe, layers=layers, kind=kind)
    shares = ", ".join(f"{v:.0%} on the {k}" for k, v in masses.items())
    passed(f"q covers both lobes ({shares}) after {dashboard.trainer.step_count} steps of "
           "reverse KL.")


def collapsed_onto_left_lobe(dashboard: object, share: float = 0.9) -> None:
    """Lesson 08: a reverse-KL fit of U1 past the annealing with at least ``share`` of the
    mass of ``dashboard.flow`` on the left lobe (z₁ < 0); ``share`` in (0.5, 1]."""
    instance_of(dashboard, "collapsed_onto_left_lobe", "dashboard", "TrainingDashboard",
                "the lesson's")
    share = a_number(share, "collapsed_onto_left_lobe", "share", lo=0.5, hi=1, lo_open=True)
    task = "collapsed_onto_left_lobe"
    masses = _u1_masses(task, dashboard)
    left, right = masses["left lobe"], masses["right lobe"]
    if left >= share:
        passed(f"q collapsed onto the left lobe ({left:.0%} of its mass): same energy, same "
               "flow kind, another start, another mode.")
        return
    if min(left, right) >= 0.3:
        _fail(task, "covers_both", left=left, right=right)
    if right > left:
        _fail(task, "right_lobe", right=right)
    raise CheckFailed(f"q puts {left:.0%} of its mass on the left lobe, {right:.0%} on the "
                      f"right; the task asks for at least {share:.0%} on the left: train on.")
