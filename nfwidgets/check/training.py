r"""Checks for the exercises of lessons 05–08 (one checker per exercise).

Each runs the learner's function on several inputs (float64 and float32), compares it with the
reference engine and, when the answer is wrong, names the catalogued mistake that gives exactly
that answer (``nfwidgets.check._training_mistakes``). A number may be written any way: a Python
float or int, a NumPy scalar, a 0-d (or one-element) torch tensor.

- ``coupling_inverse(my_inverse)`` — lesson 05: ``my_inverse(layer, x) -> z`` (N, 2) for an
  ``AffineCoupling`` with mask ``[1, 0]`` and the ``exp`` rule (Dinh et al. 2017, eq. 8):
  :math:`z_1 = x_1,\ z_2 = (x_2 - t(x_1))\,e^{-\ell(x_1)}`.
- ``average_nll(average_nll)`` — lesson 06: ``average_nll(flow, x) -> number``,
  :math:`-\frac1N\sum_i \log q(x_i)` in nats (Papamakarios et al. 2021, sec. 2.3.1).
- ``annealed_objective(my_objective)`` — lesson 07: ``my_objective(log_q, u, beta) -> number``,
  the Monte Carlo estimate :math:`\frac1N\sum_i (\ln q(x_i) + \beta\,U(x_i))` of the annealed
  objective (Rezende & Mohamed 2015, sec. 6.1; at β = 1 it is the free energy F, eq. 15).
- ``one_lobe_free_energy(expected_F, energy, flow=None)`` — lesson 08: F of a flow that is
  exactly ``p`` restricted to one of U1's two equal lobes, :math:`\ln 2 - \ln Z`.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable

import torch
from torch import Tensor

from ..flows.affine import ElementwiseAffine
from ..flows.compose import Flow
from ..flows.conditioners import SimpleConditioner
from ..flows.coupling import AffineCoupling
from ._report import (
    Catalogue,
    CheckFailed,
    a_flow,
    an_integer,
    call,
    close,
    fmt,
    instance_of,
    learner_function,
    passed,
    refuse,
    to_tensor,
)
from ._training_mistakes import (
    ANNEALED_OBJECTIVE,
    AVERAGE_NLL,
    COUPLING_INVERSE,
    ONE_LOBE_FREE_ENERGY,
)

__all__ = ["annealed_objective", "as_number", "average_nll", "coupling_inverse",
           "one_lobe_free_energy"]

DTYPES = (torch.float64, torch.float32)


def as_number(value: object, where: str, what: str = "a number") -> float:
    """``value`` as a float: Python numbers, NumPy scalars and one-element tensors or arrays
    pass; anything else is a ``CheckFailed`` saying what came instead."""
    if value is Ellipsis:
        raise CheckFailed(f"{where} is not written yet: replace the ... with your code.")
    if value is None:
        raise CheckFailed(f"{where} gave None: did you forget the `return`?")
    if isinstance(value, bool) or isinstance(value, str):
        raise CheckFailed(f"{where} should be {what}; got {type(value).__name__} {value!r}")
    if isinstance(value, numbers.Real):
        return float(value)
    try:
        t = torch.as_tensor(value.detach() if isinstance(value, Tensor) else value)
    except (TypeError, ValueError, RuntimeError):
        raise CheckFailed(f"{where} should be {what}; got {type(value).__name__} "
                          f"{value!r:.80}") from None
    if t.numel() != 1:
        raise CheckFailed(f"{where} should be one number; got {t.numel()} values (shape "
                          f"{tuple(t.shape)}): average them.")
    if t.is_complex() or t.dtype == torch.bool:
        raise CheckFailed(f"{where} should be a real number; got dtype {t.dtype}")
    return float(t.reshape(()))


def _raised(fn: Callable, args: tuple) -> BaseException | None:
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            fn(*args)
    except Exception as err:  # the learner's error, to compare with the mistakes' errors
        return err
    return None


def _run(cat: Catalogue, target: str, fn: object, args: tuple, shown: str) -> object:
    """The learner's answer, or CheckFailed; a ``...`` left in the code is named as such."""
    try:
        return call(fn, target, args, shown)
    except CheckFailed:
        err = _raised(fn, args) if callable(fn) else None
        if err is not None and "ellipsis" in str(err).lower():
            raise CheckFailed(f"{target} is not written yet: replace every ... with your "
                              "code.") from None
        raise


def _same(dtype: torch.dtype) -> Callable[[object, object], bool]:
    """Equality of two answers (numbers or tensors) at ``dtype``'s tolerance."""
    def compare(got: object, wrong: object) -> bool:
        g = torch.as_tensor(got.detach() if isinstance(got, Tensor) else got).double()
        w = torch.as_tensor(wrong.detach() if isinstance(wrong, Tensor) else wrong).double()
        if g.shape != w.shape:
            return False
        return close(g, w, dtype)
    return compare


def _fail(cat: Catalogue, target: str, text: str, got: object, args: tuple,
          dtype: torch.dtype, hint: str) -> None:
    m = cat.diagnose(target, got, args, _same(dtype))
    raise CheckFailed(f"{text}\n{m.message if m is not None else hint}")


# --- lesson 05 ---------------------------------------------------------------------------
def _coupling_cases(g: torch.Generator) -> list[tuple[AffineCoupling, Tensor]]:
    cases = []
    for dtype in (torch.float64, torch.float32, torch.float64):
        def u(lo: float, hi: float, signed: bool = True) -> float:
            v = lo + (hi - lo) * float(torch.rand((), generator=g))
            return -v if signed and float(torch.rand((), generator=g)) < 0.5 else v
        cond = SimpleConditioner(s_slope=u(0.3, 0.9), s_shift=u(0.2, 0.7),
                                 t_amplitude=u(0.5, 1.5, False), t_frequency=u(0.8, 2.5, False),
                                 t_shift=u(0.3, 1.0))
        layer = AffineCoupling([1, 0], cond, scale="exp").to(dtype)
        x = (torch.randn(6, 2, generator=g, dtype=torch.float64) * 1.5).to(dtype)
        cases.append((layer, x))
    return cases


def coupling_inverse(my_inverse: object, seed: int = 0) -> None:
    """Lesson 05: ``my_inverse(layer, x)`` for an ``AffineCoupling([1, 0], SimpleConditioner,
    scale="exp")`` and points x (N, 2) returns z (N, 2) with ``layer(z)[0] == x``."""
    learner_function(my_inverse, "coupling_inverse", "my_inverse", "my_inverse(layer, x)")
    g = torch.Generator().manual_seed(an_integer(seed, "coupling_inverse", "seed"))
    name = "my_inverse"
    for layer, x in _coupling_cases(g):
        c = {k: float(getattr(layer.conditioner, k).detach()) for k in
             ("s_slope", "s_shift", "t_amplitude", "t_frequency", "t_shift")}
        shown = (f"a layer with s(c) = {c['s_slope']:.3g}·c {c['s_shift']:+.3g}, "
                 f"t(c) = {c['t_amplitude']:.3g}·sin({c['t_frequency']:.3g}·c) "
                 f"{c['t_shift']:+.3g}, x of shape {tuple(x.shape)} ({x.dtype})")
        where = f"{name}({shown})"
        args = (layer, x)
        got = _run(COUPLING_INVERSE, name, my_inverse, args, shown)
        try:
            z = to_tensor(got, what="z", shape=tuple(x.shape), where=where)
        except CheckFailed as failed:
            m = COUPLING_INVERSE.diagnose(name, got, args, _same(x.dtype))
            raise CheckFailed(f"{failed}" + (f"\n{m.message}" if m else "")) from None
        with torch.no_grad():
            want = layer.inverse(x)[0].double()
        if close(z, want, x.dtype):
            continue
        i = int((z - want).abs().sum(-1).argmax())
        text = (f"{where}: at x = {fmt(x[i])} expected z = {fmt(want[i], 6)}, got "
                f"{fmt(z[i], 6)}.")
        _fail(COUPLING_INVERSE, name, text, got, args, x.dtype,
              "Start from the forward pass at the top of lesson 05 and undo its steps in "
              "reverse order; the conditioner only sees the half that passes unchanged.")
    passed("my_inverse undoes the coupling layer exactly on random conditioners (float64 and "
           "float32): pushing your z forward gives back x.")


# --- lesson 06 ---------------------------------------------------------------------------
def _nll_cases(g: torch.Generator) -> list[tuple[Flow, Tensor]]:
    cases = []
    for dtype in DTYPES:
        affine = ElementwiseAffine(torch.rand(2, generator=g, dtype=torch.float64) - 0.5,
                                   torch.rand(2, generator=g, dtype=torch.float64) - 0.5)
        cond = SimpleConditioner(s_slope=0.4, s_shift=-0.3, t_amplitude=0.8, t_frequency=1.3,
                                 t_shift=0.2)
        flow = Flow([affine, AffineCoupling([1, 0], cond, scale="exp")]).to(dtype)
        x = (torch.randn(50, 2, generator=g, dtype=torch.float64) * 1.5).to(dtype)
        cases.append((flow, x))
    return cases


def _lesson_points(flow: Flow, x: object, check: str) -> tuple[Flow, Tensor]:
    """``(flow, x)`` with ``x`` as a batch (N ≥ 1, 2) in the flow's dtype at which the flow's
    log-density is finite."""
    try:
        t = torch.as_tensor(x.detach() if isinstance(x, Tensor) else x)
    except (TypeError, ValueError, RuntimeError):
        raise refuse(check, "x", x, "a tensor of points of shape (N, 2)") from None
    if t.ndim != 2 or t.shape[1] != 2 or t.shape[0] == 0 or t.is_complex() or \
            t.dtype == torch.bool:
        raise refuse(check, "x", x, f"a real tensor of points of shape (N, 2); shape "
                     f"{tuple(t.shape)}, dtype {t.dtype} is not")
    t = t.to(next((p.dtype for p in flow.parameters()), torch.get_default_dtype()))
    with torch.no_grad():
        finite = torch.isfinite(t).all(1) & torch.isfinite(flow.log_prob(t))
    if not bool(finite.all()):
        i = int((~finite).nonzero()[0])
        raise refuse(check, "x", x, f"points where the flow's log-density is finite; x[{i}] = "
                     f"{t[i].tolist()} is not")
    return flow, t


def average_nll(average_nll: object, flow: Flow | None = None, x: Tensor | None = None,
                seed: int = 0) -> None:
    """Lesson 06: ``average_nll(flow, x)`` returns ``-mean(log q(x))`` in nats (one number).
    Checked on small random flows, then on ``flow`` and ``x`` (the lesson's) if given: both
    or neither, a 2-D ``Flow`` and points (N, 2) at which it has a finite log-density. A NaN or
    inf in ``x`` is refused (``ValueError`` naming the row): no average of it can be judged."""
    check = "average_nll"
    learner_function(average_nll, check, "average_nll", "average_nll(flow, x)")
    if (flow is None) != (x is None):
        given = "flow" if x is None else "x"
        raise ValueError(f"check.{check}: give both flow and x, or neither; got only {given}")
    lesson = [] if flow is None else [_lesson_points(a_flow(flow, check, "flow"), x, check)]
    g = torch.Generator().manual_seed(an_integer(seed, check, "seed"))
    cases = _nll_cases(g) + lesson
    name = "average_nll"
    for fl, pts in cases:
        shown = f"a flow of {len(fl)} layers, x of shape {tuple(pts.shape)} ({pts.dtype})"
        args = (fl, pts)
        got = _run(AVERAGE_NLL, name, average_nll, args, shown)
        where = f"{name}({shown})"
        try:
            value = as_number(got, where)
        except CheckFailed as failed:
            m = AVERAGE_NLL.diagnose(name, got, args, _same(pts.dtype))
            raise CheckFailed(f"{failed}" + (f"\n{m.message}" if m else "")) from None
        with torch.no_grad():
            want = float(-fl.log_prob(pts).double().mean())
        if close(torch.tensor(value), torch.tensor(want), pts.dtype):
            continue
        _fail(AVERAGE_NLL, name, f"{where}: expected {want:.6g} nats, got {value:.6g}.",
              value, args, pts.dtype,
              "Follow the two TODOs of the exercise cell: the log-density of every point "
              "first, then one number in nats. Check the sign, and that it is an average.")
    passed("average_nll is the average negative log-likelihood in nats, on random flows"
           + (" and on the lesson's flow." if flow is not None else "."))


# --- lesson 07 ---------------------------------------------------------------------------
def _objective_cases(g: torch.Generator) -> list[tuple[Tensor, Tensor, float]]:
    cases = []
    for dtype, beta, n in ((torch.float64, 0.01, 40), (torch.float32, 0.37, 25),
                           (torch.float64, 1.0, 7), (torch.float32, 0.8, 64)):
        log_q = torch.randn(n, generator=g, dtype=torch.float64) - 2.0
        u = torch.rand(n, generator=g, dtype=torch.float64) * 6.0 + 0.5
        cases.append((log_q.to(dtype), u.to(dtype), beta))
    return cases


def annealed_objective(my_objective: object, seed: int = 0) -> None:
    """Lesson 07: ``my_objective(log_q, u, beta)``, ``log_q`` and ``u`` (N,) at N samples of
    q, ``beta`` a float in (0, 1], returns the mean of ``ln q + β U`` (one number)."""
    learner_function(my_objective, "annealed_objective", "my_objective",
                     "my_objective(log_q, u, beta)")
    g = torch.Generator().manual_seed(an_integer(seed, "annealed_objective", "seed"))
    name = "my_objective"
    for log_q, u, beta in _objective_cases(g):
        shown = f"log_q and u of shape {tuple(log_q.shape)} ({log_q.dtype}), beta={beta}"
        where = f"{name}({shown})"
        args = (log_q, u, beta)
        got = _run(ANNEALED_OBJECTIVE, name, my_objective, args, shown)
        try:
            value = as_number(got, where)
        except CheckFailed as failed:
            m = ANNEALED_OBJECTIVE.diagnose(name, got, args, _same(log_q.dtype))
            raise CheckFailed(f"{failed}" + (f"\n{m.message}" if m else "")) from None
        want = float((log_q.double() + beta * u.double()).mean())
        if close(torch.tensor(value), torch.tensor(want), log_q.dtype):
            continue
        _fail(ANNEALED_OBJECTIVE, name, f"{where}: expected {want:.6g}, got {value:.6g}.",
              value, args, log_q.dtype,
              "Compare with E_q[ln q + β U] in the exercise text: which term does β scale, "
              "and is your estimate the mean over the N samples?")
    passed("my_objective is the annealed objective E_q[ln q + β·U] for β from 0.01 to 1 "
           "(float64 and float32).")


# --- lesson 08 ---------------------------------------------------------------------------
def one_lobe_free_energy(expected_F: object, energy: object, flow: Flow | None = None) -> None:
    """Lesson 08: ``expected_F`` is F = KL(q‖p) − ln Z of a q that equals p restricted to one
    of two equal lobes, renormalised (q = 2p there): ``ln 2 − ln Z`` with ``ln Z =
    energy.log_z``. With ``flow`` (the collapsed flow the lesson trained), the ✓ line also
    gives that flow's F (``diagnostics.variational_bound``, 20 000 samples). ``energy`` must
    be an ``Energy`` and ``flow`` a 2-D ``Flow`` (else ``ValueError``); ``expected_F`` is
    judged whatever it is."""
    check, where = "one_lobe_free_energy", "expected_F"
    instance_of(energy, check, "energy", "Energy", "an")
    if flow is not None:
        a_flow(flow, check, "flow")
    log_z = float(energy.log_z)
    value = as_number(expected_F, where, "a number (written from u1.log_z and math.log)")
    want = math.log(2) - log_z
    if not math.isfinite(value):
        raise CheckFailed(f"expected_F is {value}; the free energy of this q is finite.")
    if abs(value - want) > 1e-6 * (1 + abs(want)):
        m = ONE_LOBE_FREE_ENERGY.diagnose("expected_F", value, (log_z,),
                                          lambda a, b: abs(float(a) - float(b)) < 1e-6)
        text = f"expected_F = {value:.6g}; that is not the F of a q collapsed onto one lobe."
        if m is not None:
            raise CheckFailed(f"{text}\n{m.message}")
        if abs(value - want) < 0.02:
            raise CheckFailed(f"{text}\nClose: write it exactly, from u1.log_z and math.log, "
                              "instead of typing rounded digits.")
        raise CheckFailed(f"{text}\nOn the lobe, q = 2p: write ln q − ln p with that and see "
                          "what is left of it. Then F = KL(q‖p) − ln Z (the exercise text).")
    extra = ""
    if flow is not None:
        from ..diagnostics import variational_bound  # the one estimator of F

        trained, _ = variational_bound(flow, energy, n_samples=20000)
        extra = (f" Your trained flow has F = {trained:.3f}, {trained - want:+.2f} nats from "
                 f"a perfect one-lobe fit.")
    passed(f"F = ln 2 − ln Z = {want:.3f}: missing one of two equal lobes costs exactly "
           f"ln 2 = {math.log(2):.3f} nats above −ln Z.{extra}")
