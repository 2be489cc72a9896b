r"""Checks for variational inference with flows (reverse KL): ``check.free_energy``,
``check.annealing`` and ``check.missed_mode``.

**Free energy** (Rezende & Mohamed 2015, arXiv:1505.05770, eq. 15). The learner writes
``free_energy(flow, energy, n_samples, generator) -> F``, the Monte Carlo estimate

.. math:: \mathcal F = \frac1n\sum_{i=1}^n \bigl[\ln q(x_i) + U(x_i)\bigr], \qquad
          x_i = f(z_{0,i}),\ z_{0,i}\sim q_0, \qquad
          \ln q(x_i) = \ln q_0(z_{0,i}) - \sum_k \ln|\det J_k|,

of ``E_q[ln q + U] = KL(q‖p) − ln Z``, the reverse-KL training loss. **F must be a 0-d torch
tensor that carries gradients** (it is what ``loss.backward()`` trains), so the check compares
both its value and its gradient with respect to the flow's parameters with the engine's
(``flow.sample_and_log_prob``, the estimator of ``nfwidgets.diagnostics.variational_bound``).

Samples: ``flow.sample_and_log_prob(n, generator=g)`` draws ``z₀ = torch.randn(n, 2,
generator=g)`` in the flow's dtype and pushes it forward. The check seeds ``g`` *and* the global
RNG with the same seed before each call, so every usual route gives the reference's samples:
``sample_and_log_prob``, ``flow.base.sample`` + ``flow(z₀)``, ``torch.randn(…, generator=…)``,
``flow.sample`` + ``flow.log_prob`` (exact here: the check's flows are coupling layers with
closed-form inverses), or ignoring ``generator`` (the global RNG). An answer that is none of
the catalogued mistakes on those samples is then compared *statistically*: value and gradient
from ``N_BIG`` samples against the reference's from independent samples, within
``Z_VALUE`` (value) and ``Z_GRAD`` (each gradient entry) standard errors of the difference
(the standard errors estimated from the reference's samples).

**Annealing** (sec. 6.1): ``beta(step, n_steps) -> β_t = min(1, 0.01 + t/T)`` against
``nfwidgets.train.annealing_schedule``, at the start, along the ramp and well past it.

**Missed mode**: ``missed_mode(answer, flow, energy)`` judges a name with
``nfwidgets.diagnostics.mode_masses`` on ``N_MODES`` samples the checker draws from the flow
itself (seeded). A mode is *missed* when it holds less than ``MISSED_SHARE`` of its share of the
target's mass (``reference_mode_masses``). Names are matched leniently: case, spaces,
underscores, hyphens and a leading "the" are ignored, and a word that belongs to one mode's name
only is enough ("left", "Left lobe", "NE", "lower"). ``"none"`` is right when no mode is missed.
"""

from __future__ import annotations

import copy
import math
import re

import torch
from torch import Tensor

from nfwidgets.diagnostics import mode_masses, mode_names, reference_mode_masses
from nfwidgets.flows import AffineCoupling, Flow, MLPConditioner
from nfwidgets.targets import energy as named_energy
from nfwidgets.train import annealing_schedule

from .._checks import shown
from . import _reverse_kl_mistakes
from ._report import (
    CheckFailed,
    Mistake,
    a_flow,
    call,
    fmt,
    instance_of,
    learner_function,
    passed,
    quietly,
    refuse,
)

__all__ = ["annealing", "free_energy", "free_energy_cases", "missed_mode", "tiny_flow"]

FREE, ANNEAL = _reverse_kl_mistakes.FREE, _reverse_kl_mistakes.ANNEAL
N_BIG, N_CHUNKS, Z_VALUE, Z_GRAD = 100_000, 40, 4.0, 6.0
N_MODES, MODES_SEED, MISSED_SHARE = 4000, 707, 0.2
UNKNOWN = "This is none of the typical mistakes we know: compare your code with the formula."


def tiny_flow(dtype: torch.dtype = torch.float32) -> Flow:
    """Two affine coupling layers (masks (1, 0), (0, 1); ``exp`` scale; MLP conditioners with a
    random, not zero, last layer so that every log-det matters), seeded; the global RNG is
    left as it was."""
    with torch.random.fork_rng():
        torch.manual_seed(1505)
        layers = [AffineCoupling(m, MLPConditioner(1, 1, hidden=(6,)), scale="exp")
                  for m in ([1, 0], [0, 1])]
        for layer in layers:
            torch.nn.init.normal_(layer.conditioner.net[-1].weight, std=0.5)
            torch.nn.init.normal_(layer.conditioner.net[-1].bias, std=0.3)
    return Flow(layers).to(dtype)


def bowl(x: Tensor) -> Tensor:
    """A Gaussian energy U(x) = ½‖(x − (1, −0.5)) / (0.8, 1.2)‖²."""
    c = torch.tensor([1.0, -0.5], dtype=x.dtype)
    s = torch.tensor([0.8, 1.2], dtype=x.dtype)
    return 0.5 * (((x - c) / s) ** 2).sum(-1)


def free_energy_cases() -> list[tuple[torch.dtype, str, object, int, int]]:
    """``(dtype, energy's name, energy, n_samples, seed)`` of every free-energy case."""
    u1 = named_energy("U1")
    bowl_name = "the bowl U(x) = ½‖(x − (1, −0.5))/(0.8, 1.2)‖²"
    return [(torch.float32, "U1", u1, 256, 11), (torch.float64, bowl_name, bowl, 256, 12),
            (torch.float32, bowl_name, bowl, 7, 13), (torch.float64, "U1", u1, 1, 14)]


def _run(fn, flow: Flow, energy, n: int, seed: int, shown: str | None):
    """Call ``fn`` with gradients on, ``generator`` and the global RNG seeded with ``seed``;
    ``shown`` names the call for the learner's function (None: a catalogued mistake)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        args = (flow, energy, n, torch.Generator().manual_seed(seed))
        if shown is None:
            return quietly(fn, args, grad=True)
        return call(fn, "free_energy", args, shown, grad=True)


def _reference(flow: Flow, energy, n: int, seed: int) -> tuple[Tensor, Tensor]:
    """(per-sample ln q + U, the flow's parameters' gradient of their mean)."""
    with torch.enable_grad():
        x, log_q = flow.sample_and_log_prob(n, generator=torch.Generator().manual_seed(seed))
        terms = log_q + energy(x)
        return terms.detach().double(), _grad(terms.mean(), flow)


def _grad(value: Tensor, flow: Flow) -> Tensor:
    params = list(flow.parameters())
    grads = torch.autograd.grad(value, params, allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1).double()
                      for p, g in zip(params, grads, strict=True)])


def _kind(out: object, flow: Flow) -> tuple[str, float | None, Tensor | None]:
    """("tensor" | "no-grad" | "number" | "bad", value, gradient) of an answer F."""
    if isinstance(out, Tensor):
        if out.numel() != 1 or out.ndim != 0 or not out.is_floating_point():
            return "bad", None, None
        if not out.requires_grad:
            return "no-grad", float(out.detach()), None
        try:
            return "tensor", float(out.detach()), _grad(out, flow)
        except RuntimeError:  # e.g. backward() already called on F inside the function
            return "grad-error", float(out.detach()), None
    try:
        return "number", float(out), None
    except (TypeError, ValueError):
        return "bad", None, None


def _same(a: tuple, b: tuple) -> bool:
    """Two answers agree: same kind, values and gradients (float32 tolerance)."""
    if a[0] != b[0] or a[1] is None or b[1] is None or not math.isclose(a[1], b[1],
                                                                        rel_tol=1e-4,
                                                                        abs_tol=1e-5):
        return False
    return a[2] is None or bool((a[2] - b[2]).norm() <= 1e-3 * b[2].norm() + 1e-5)


def _diagnose(fn, cases, flows) -> Mistake | None:
    answers = []
    for dtype, _name, energy, n, seed in cases:
        try:
            answers.append(((flows[dtype], energy, n, seed),
                            _kind(_run(fn, flows[dtype], energy, n, seed, None), flows[dtype])))
        except Exception:  # judged where the learner's code runs
            continue
    for m in FREE.for_target("free_energy"):
        try:
            if answers and all(_same(got, _kind(_run(m.function, *a, None), a[0]))
                               for a, got in answers):
                return m
        except Exception:  # a wrong formula may fail on these inputs
            continue
    return None


def _fail(text: str, mistake: Mistake | None) -> CheckFailed:
    why = UNKNOWN if mistake is None else f"Likely mistake: {mistake.message}"
    return CheckFailed(f"{text}\n{why}")


def _statistical(fn, flow: Flow, energy, seed: int, shown: str) -> str | None:
    """Compare the learner's estimate from ``N_BIG`` samples with the reference's from
    independent ones; None if they agree, else what differs."""
    terms, _ = _reference(flow, energy, N_BIG, seed + 1)
    chunks = [_reference(flow, energy, N_BIG // N_CHUNKS, seed + 2 + k)[1]
              for k in range(N_CHUNKS)]
    g_ref = torch.stack(chunks).mean(0)
    g_se = torch.stack(chunks).std(0) / math.sqrt(N_CHUNKS)
    se = float(terms.std() / math.sqrt(N_BIG))
    kind, value, grad = _kind(_run(fn, flow, energy, N_BIG, seed, shown), flow)
    if kind != "tensor":
        return f"F is not a 0-d tensor with a gradient for n_samples = {N_BIG}"
    ref = float(terms.mean())
    if abs(value - ref) > Z_VALUE * math.sqrt(2) * se:
        return (f"from {N_BIG} samples F = {value:.4f}, the reference {ref:.4f} ± {se:.4f} "
                f"(beyond {Z_VALUE:g} standard errors of the difference)")
    z = ((grad - g_ref).abs() / (math.sqrt(2) * g_se + 1e-12)).max()
    if float(z) > Z_GRAD:
        return (f"from {N_BIG} samples F's value agrees with the reference, but its gradient "
                f"differs by up to {float(z):.1f} standard errors")
    return None


def free_energy(free_energy_fn: object) -> None:
    """Check ``free_energy(flow, energy, n_samples, generator) -> F`` (a 0-d tensor carrying
    gradients) on small coupling flows, U1 and a Gaussian bowl, float32 and float64, n = 256,
    7 and 1. Prints one ✓ line or raises ``CheckFailed``."""
    learner_function(free_energy_fn, "free_energy", "free_energy",
                     "free_energy(flow, energy, n_samples, generator)")
    flows = {dt: tiny_flow(dt) for dt in (torch.float32, torch.float64)}
    cases = free_energy_cases()
    statistical = 0
    for dtype, name, energy, n, seed in cases:
        flow = flows[dtype]
        shown = (f"a 2-layer coupling flow ({str(dtype).removeprefix('torch.')}), U = {name}, "
                 f"n_samples = {n}, a generator seeded with {seed}")
        where = f"free_energy({shown})"
        out = _run(free_energy_fn, flow, energy, n, seed, shown)
        kind, value, grad = _kind(out, flow)
        terms, g_ref = _reference(flow, energy, n, seed)
        want = float(terms.mean())
        if kind == "bad":
            got = (f"a tensor of shape {tuple(out.shape)}" if isinstance(out, Tensor)
                   else f"{type(out).__name__} {out!r:.60}")
            hint = " (one term per sample: average them)" if isinstance(out, Tensor) and \
                out.numel() == n > 1 else ""
            raise _fail(f"{where}: F should be one number, a 0-d tensor; got {got}{hint}",
                        _diagnose(free_energy_fn, cases, flows))
        if not math.isfinite(value):
            raise _fail(f"{where}: F is {value}; expected {want:.6g}",
                        _diagnose(free_energy_fn, cases, flows))
        if not math.isclose(value, want, rel_tol=1e-4 if dtype == torch.float32 else 1e-9,
                            abs_tol=1e-5 if dtype == torch.float32 else 1e-10):
            mistake = _diagnose(free_energy_fn, cases, flows)
            differs = None if mistake else _statistical(free_energy_fn, flow, energy, seed, shown)
            if mistake or differs:
                raise _fail(f"{where}: expected F = {want:.6g} on the generator's samples, got "
                            f"{value:.6g}" + (f"; {differs}" if differs else ""), mistake)
            statistical += 1
            continue
        if kind == "grad-error":
            raise CheckFailed(f"{where}: F = {value:.6g} is right, but its gradient cannot be "
                              "taken (did free_energy call backward() itself? Return F and let "
                              "the training loop do that).")
        if kind != "tensor":
            raise _fail(f"{where}: F = {value:.6g} is right, but it is "
                        f"{'a Python number' if kind == 'number' else 'a tensor without grad'}"
                        ": it must carry the gradient that trains the flow",
                        _diagnose(free_energy_fn, cases, flows))
        if float((grad - g_ref).norm()) > (1e-3 if dtype == torch.float32 else 1e-7) * \
                float(g_ref.norm()) + 1e-6:
            i = int((grad - g_ref).abs().argmax())
            raise _fail(f"{where}: F = {value:.6g} is right, but its gradient is not: entry "
                        f"{i} of the flattened parameters' gradient is {grad[i]:.6g}, expected "
                        f"{g_ref[i]:.6g}", _diagnose(free_energy_fn, cases, flows))
    note = (f" ({statistical} from samples other than the generator's, compared statistically)"
            if statistical else "")
    passed(f"free_energy: value and gradient agree with the engine in {len(cases)} cases (U1 and "
           f"a Gaussian bowl, n = 256, 7, 1, float32 and float64){note}.")


# ---- annealing ------------------------------------------------------------------------------

def annealing_cases() -> list[tuple[int, int]]:
    """``(step, n_steps)``: the start, along the ramp, its end and well past it."""
    cases = []
    for n_steps in (10_000, 100, 7, 1):
        steps = {0, 1, n_steps // 3, n_steps // 2, n_steps - 1, n_steps, n_steps + 1,
                 3 * n_steps}
        cases += [(t, n_steps) for t in sorted(steps)]
    return cases


def annealing(beta_fn: object) -> None:
    """Check ``beta(step, n_steps) -> β_t = min(1, 0.01 + t/T)`` (Rezende & Mohamed 2015,
    sec. 6.1) against ``nfwidgets.train.annealing_schedule``; a float, an int or a 0-d tensor
    is accepted (float32 precision suffices). Prints one ✓ line or raises ``CheckFailed``."""
    learner_function(beta_fn, "annealing", "beta", "beta(step, n_steps)")
    cases = annealing_cases()
    for step, n_steps in cases:
        shown = f"step={step}, n_steps={n_steps}"
        out = call(beta_fn, "beta", (step, n_steps), shown)
        want = annealing_schedule(step, n_steps)
        try:
            got = float(out.item() if isinstance(out, Tensor) and out.numel() == 1 else out)
        except (TypeError, ValueError, RuntimeError):
            raise CheckFailed(f"beta({shown}) should return one number; got "
                              f"{type(out).__name__} {out!r:.60}") from None
        if not math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-7):
            raise _fail(f"beta({shown}): expected {fmt(want, 6)}, got {fmt(got, 6)}",
                        _anneal_mistake(beta_fn, cases))
    passed(f"beta agrees with the paper's schedule at {len(cases)} steps (T = 10000, 100, 7, 1; "
           "the start, the ramp and past its end).")


def _anneal_mistake(beta_fn, cases) -> Mistake | None:
    def value(fn, t, n):
        out = quietly(fn, (t, n))
        return float(out.item() if isinstance(out, Tensor) else out)
    for m in ANNEAL.for_target("beta"):
        try:
            if all(math.isclose(value(beta_fn, t, n), value(m.function, t, n), abs_tol=1e-6)
                   for t, n in cases):
                return m
        except Exception:  # a wrong formula, or the learner's, may fail somewhere
            continue
    return None


# ---- missed mode ----------------------------------------------------------------------------

def _words(text: str) -> set[str]:
    text = re.sub(r"[_\-]", " ", text.lower())
    words = {w.strip("()[],.;:!?\"'") for w in text.split()}
    return {w for w in words if w and w not in ("the", "=", "<", "≥", "mode")}


def match_mode(answer: str, names: list[str]) -> str | None:
    """The mode ``answer`` names: the one whose own words (those no other name has) it uses,
    if exactly one; None otherwise."""
    words = {n: _words(n) for n in names}
    own = {n: w - set().union(*(words[o] for o in names if o != n)) for n, w in words.items()}
    said = _words(answer)
    hits = [n for n in names if said & own[n]]
    return hits[0] if len(hits) == 1 else None


def missed_mode(answer: object, flow: object, energy: object) -> None:
    """Check the learner's ``answer``, the name of the mode that ``flow`` missed on the target
    ``energy`` (an ``Energy`` or a name with modes). See the module docstring for what
    "missed" means and how names are matched. Prints one ✓ line or raises ``CheckFailed``;
    ``flow`` (a 2-D ``Flow`` that can be sampled) and ``energy`` are the assignment's, and
    anything else is a ``ValueError``. ``answer`` is judged whatever it is."""
    check = "missed_mode"
    a_flow(flow, check, "flow")
    if not isinstance(energy, str):
        instance_of(energy, check, "energy", "Energy", "a target's name or an")
    try:
        names = mode_names(energy)
    except ValueError as err:
        raise ValueError(f"check.{check}: energy {err}") from None
    listing = ", ".join(repr(n) for n in names)
    try:
        samples = copy.deepcopy(flow).sample(N_MODES, generator=torch.Generator().manual_seed(
            MODES_SEED))
        masses = mode_masses(energy, samples.detach())
    except Exception as err:  # not the answer: the flow the check reads
        raise refuse(check, "flow", flow, f"a flow that can be sampled ({type(err).__name__}: "
                     f"{err})") from None
    if answer is Ellipsis or not isinstance(answer, str):
        raise CheckFailed(f"missed_mode: the answer should be the name of a mode (a string), "
                          f"one of {listing}; got {shown(answer)}")
    ref = reference_mode_masses(energy)
    missed = [n for n in names if masses[n] < MISSED_SHARE * ref[n]]
    said = f"{N_MODES} samples drawn from the flow"
    if _words(answer) <= {"none", "no", "nothing"} and _words(answer):
        if missed:
            raise CheckFailed(f"missed_mode: {answer!r}, but on {said} one mode gets less than "
                              f"{MISSED_SHARE:g} of its share of p's mass: the flow misses it.")
        passed(f"right: the flow covers every mode ({said}).")
        return
    mode = match_mode(answer, names)
    if mode is None:
        raise CheckFailed(f"missed_mode: {answer!r} names none of the modes (or several); the "
                          f"modes are {listing}")
    if mode not in missed:
        extra = "" if missed else " (on these samples it misses none: answer 'none')"
        raise CheckFailed(f"missed_mode: {answer!r} is not missed: on {said} it holds "
                          f"{masses[mode]:.2f} of q's mass; p puts {ref[mode]:.2f} there{extra}.")
    passed(f"right: the flow missed the {mode}: {masses[mode]:.3f} of q's mass on {said}, "
           f"where p has {ref[mode]:.2f}.")
