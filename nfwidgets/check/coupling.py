r"""Checks for the affine coupling exercise and for a trained flow: ``check.coupling_layer`` and
``check.fits_entropy_floor``.

**The coupling layer** (Dinh et al. 2017, RealNVP, arXiv:1605.08803, eq. 4–9), in the convention
of ``nfwidgets.flows.AffineCoupling`` with its ``"exp"`` scale rule. The learner writes

* ``coupling_forward(z, mask, conditioner) -> (x, log_det)`` and
* ``coupling_inverse(x, mask, conditioner) -> (z, log_det)``

with ``z``, ``x`` of shape (N, 2) and ``mask`` a tensor (2,) of 0.0/1.0 in the points' dtype.
**mask = 1 marks a coordinate that passes through unchanged and conditions the others; mask = 0
one that is scaled and shifted.** The conditioner is called *once, on the masked points*
``mask * z`` (shape (N, 2), the transformed coordinates zeroed), and returns
``(log_scale, shift)``, each (N, 2); only their entries where mask = 0 are used:

.. math:: x = b\odot z + (1-b)\odot\bigl(z\odot e^{s(b\odot z)} + t(b\odot z)\bigr), \qquad
          \ln\Bigl|\det\frac{\partial x}{\partial z}\Bigr| = \sum_j (1-b_j)\, s_j(b\odot z),

and the inverse recomputes ``s, t`` from ``b ⊙ x`` (which equals ``b ⊙ z``) and returns
``ln|det ∂z/∂x|``, the negative of the forward's. With a conditioner that only reads the masked
coordinates this is exactly ``AffineCoupling(mask, ·, scale="exp")``, the reference here (the
engine's conditioner receives the conditioning columns; an adapter hands it ``b ⊙ z``).

Inputs: both masks (1, 0) and (0, 1); three fixed conditioners (``conditioners()``): a small
random tanh MLP, the same kind with large log-scales (|s| up to about 5) and an affine map; all
of them read *both* of their input coordinates and give non-zero ``s`` and ``t`` at the masked
coordinates too, so a wrong mask, a conditioner fed the wrong half or a log-det summed over all
coordinates changes the answer. N = 7 points (random, the origin, a far point) and N = 1, in
float64 and float32. Outputs must be tensors (or NumPy arrays) of shapes (N, 2) and (N,);
float32 inputs, or float32 answers, are judged at float32 tolerance.

**The entropy floor**: ``fits_entropy_floor(flow, target, margin)`` draws fresh points of a toy
data set (``nfwidgets.targets.toy_data`` with the checker's own seed, never the training data)
and compares the flow's average negative log-likelihood on them with the data's entropy
``H(p)`` as the package computes it (``nfwidgets.targets.entropy_floor``): since
``E_p[−ln q] = H(p) + KL(p‖q)``, the gap is what the flow still gets wrong.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from nfwidgets.flows import AffineCoupling
from nfwidgets.targets import ENTROPY_FLOORS, entropy_floor, toy_data

from . import _coupling_mistakes
from ._report import (
    CheckFailed,
    Mistake,
    a_flow,
    a_number,
    call,
    close,
    fmt,
    learner_function,
    one_of,
    passed,
    quietly,
    to_tensor,
    tolerance,
)

__all__ = [
    "FixedConditioner",
    "conditioners",
    "coupling_layer",
    "fits_entropy_floor",
    "forward_cases",
    "inverse_cases",
]

CAT = _coupling_mistakes.CAT
MASKS = ((1.0, 0.0), (0.0, 1.0))
UNKNOWN = ("This is none of the typical mistakes we know: go through your code step by step "
           "against the maths for this one point.")


class FixedConditioner:
    """A fixed conditioner ``v (..., 2) -> (log_scale, shift)``, each ``(..., 2)``, computed in
    ``v``'s dtype: ``out = W₂ tanh(W₁ v + c₁) + c₂`` (or ``out = W v + c`` when ``hidden`` is
    0), ``log_scale = s_gain·out[..., :2]``, ``shift = out[..., 2:]``; weights from ``seed``."""

    def __init__(self, label: str, seed: int, hidden: int, s_gain: float) -> None:
        g = torch.Generator().manual_seed(seed)
        def draw(*shape: int) -> Tensor:
            return torch.randn(*shape, generator=g, dtype=torch.float64)
        self.label = label
        self.s_gain = s_gain
        sizes = [2, hidden, 4] if hidden else [2, 4]
        self.weights = [(0.7 * draw(b, a), 0.4 * draw(b)) for a, b in itertools.pairwise(sizes)]

    def __call__(self, v: object) -> tuple[Tensor, Tensor]:
        v = torch.as_tensor(v)
        if v.shape[-1:] != (2,) or not v.is_floating_point():
            raise ValueError(f"the conditioner takes the masked points mask * z, a float tensor "
                             f"of shape (N, 2); got dtype {v.dtype}, shape {tuple(v.shape)}")
        h = v
        for k, (w, c) in enumerate(self.weights):
            h = h @ w.to(v.dtype).T + c.to(v.dtype)
            if k < len(self.weights) - 1:
                h = torch.tanh(h)
        return self.s_gain * h[..., :2], h[..., 2:]

    def __repr__(self) -> str:
        return self.label


def conditioners() -> list[FixedConditioner]:
    """The conditioners every coupling check uses."""
    return [FixedConditioner("a small random MLP", 5, 8, 0.6),
            FixedConditioner("an MLP with large log-scales", 6, 8, 2.5),
            FixedConditioner("an affine map", 7, 0, 0.8)]


class _Adapter(nn.Module):
    """The engine hands its conditioner the conditioning columns; give it ``b ⊙ z`` instead
    and keep the transformed columns of ``(s, t)``."""

    def __init__(self, conditioner: Callable, mask: Tensor) -> None:
        super().__init__()
        self.conditioner = conditioner
        self.cond = torch.nonzero(mask == 1).flatten()
        self.trans = torch.nonzero(mask == 0).flatten()

    def forward(self, v_cond: Tensor) -> tuple[Tensor, Tensor]:
        full = v_cond.new_zeros(v_cond.shape[0], 2)
        full[:, self.cond] = v_cond
        s, t = self.conditioner(full)
        return s[:, self.trans], t[:, self.trans]


def reference_layer(mask: tuple[float, float], conditioner: Callable) -> AffineCoupling:
    """The engine's layer (float64) for this check's convention."""
    m = torch.tensor(mask, dtype=torch.float64)
    return AffineCoupling(m, _Adapter(conditioner, m), scale="exp")


@dataclass(frozen=True)
class Case:
    """One call ``fn(points, mask, conditioner)`` and the float64 answer it should give."""

    points: Tensor
    mask: tuple[float, float]
    conditioner: FixedConditioner
    want: tuple[Tensor, Tensor]

    @property
    def dtype(self) -> torch.dtype:
        return self.points.dtype

    def args(self) -> tuple:
        return (self.points.clone(), torch.tensor(self.mask, dtype=self.dtype), self.conditioner)

    def context(self) -> str:
        m = tuple(int(b) for b in self.mask)
        return (f"mask = {m}, conditioner = {self.conditioner} "
                f"({str(self.dtype).removeprefix('torch.')})")


def _points(seed: int, special: list[tuple[float, float]]) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    rest = 1.6 * torch.randn(7 - len(special), 2, generator=g, dtype=torch.float64)
    return torch.cat([torch.tensor(special, dtype=torch.float64), rest])


def _cases(points: Tensor, one: Tensor, inverse: bool) -> list[Case]:
    cases = []
    settings = [(dtype, mask, cond, points) for dtype in (torch.float64, torch.float32)
                for mask in MASKS for cond in conditioners()]
    conds = conditioners()
    settings += [(torch.float32, MASKS[1], conds[0], one), (torch.float64, MASKS[0], conds[1], one)]
    for dtype, mask, cond, v in settings:
        v = v.to(dtype)
        layer = reference_layer(mask, cond)
        with torch.no_grad():
            want = layer.inverse(v.double()) if inverse else layer(v.double())
        cases.append(Case(v, mask, cond, want))
    return cases


def forward_cases() -> list[Case]:
    """``coupling_forward``'s cases: base points z, both masks, every conditioner, two dtypes."""
    z = _points(17, [(0.0, 0.0), (2.8, -2.4), (-0.9, 1.7)])
    return _cases(z, torch.tensor([[1.3, -0.8]], dtype=torch.float64), inverse=False)


def inverse_cases() -> list[Case]:
    """``coupling_inverse``'s cases: data points x, as for ``forward_cases``."""
    x = _points(18, [(0.0, 0.0), (-3.1, 2.2), (1.4, 0.6)])
    return _cases(x, torch.tensor([[-0.7, 2.1]], dtype=torch.float64), inverse=True)


def _outputs(result: object, case: Case, where: str, names: tuple[str, str]
             ) -> tuple[Tensor, Tensor, torch.dtype]:
    """The learner's two outputs as float64 tensors, and the dtype whose tolerance applies."""
    if not isinstance(result, tuple | list) or len(result) != 2:
        got = (f"{len(result)} values" if isinstance(result, tuple | list)
               else f"one {type(result).__name__}")
        raise CheckFailed(f"{where}: should return two values, `return {', '.join(names)}`; "
                          f"got {got}")
    n = case.points.shape[0]
    out = to_tensor(result[0], what=names[0], shape=(n, 2), where=where)
    log_det = to_tensor(result[1], what="log_det", shape=(n,), where=where)
    dtype = case.dtype
    if any(getattr(r, "dtype", None) in (torch.float32, "float32") or
           str(getattr(r, "dtype", "")) == "float32" for r in result):
        dtype = torch.float32
    return out, log_det, dtype


def _same(a: object, b: object) -> bool:
    """Two raw answers agree (part by part, float32 tolerance, NaN equal to NaN)."""
    try:
        if isinstance(a, tuple | list) and isinstance(b, tuple | list):
            return len(a) == len(b) and all(_same(p, q) for p, q in zip(a, b, strict=True))
        ta, tb = torch.as_tensor(a).double(), torch.as_tensor(b).double()
        rtol, atol = tolerance(torch.float32)
        return ta.shape == tb.shape and bool(torch.allclose(ta, tb, rtol=rtol, atol=atol,
                                                            equal_nan=True))
    except Exception:  # not comparable: not the same answer
        return False


def diagnose(fn: Callable, cases: list[Case], target: str) -> Mistake | None:
    """The catalogued mistake of ``target`` that gives the learner's answers on every case."""
    answers = []
    for case in cases:
        try:
            answers.append((case, quietly(fn, case.args())))
        except Exception:  # judged on the cases where the learner's code runs
            continue
    for m in CAT.for_target(target):
        try:
            if answers and all(_same(got, quietly(m.function, case.args()))
                               for case, got in answers):
                return m
        except Exception:  # a wrong formula may fail on these inputs
            continue
    return None


def _explain(mistake: Mistake | None) -> str:
    return UNKNOWN if mistake is None else f"Likely mistake: {mistake.message}"


def _judge(fn: object, name: str, arg: str, names: tuple[str, str], cases: list[Case]) -> None:
    signature = f"{arg}, mask, conditioner"
    for case in cases:
        where = f"{name}({signature}) with {arg} of shape {tuple(case.points.shape)}, " \
                f"{case.context()}"
        result = call(fn, name, case.args(), f"{arg} of shape "
                              f"{tuple(case.points.shape)}, {case.context()}")
        try:
            got = _outputs(result, case, where, names)
        except CheckFailed as failed:
            mistake = diagnose(fn, cases, name)
            raise CheckFailed(str(failed) if mistake is None
                              else f"{failed}\n{_explain(mistake)}") from None
        *parts, dtype = got
        for what, g, w in zip(names, parts, case.want, strict=True):
            if close(g, w.double(), dtype):
                continue
            rtol, atol = tolerance(dtype)
            excess = ((g - w) / (atol + rtol * w.abs())).abs()
            i = int((excess.amax(-1) if excess.ndim > 1 else excess).argmax())
            raise CheckFailed(
                f"{name}({signature}): {what} is wrong at {arg}[{i}] = {fmt(case.points[i])} "
                f"with {case.context()}: expected {fmt(w[i], 6)}, got {fmt(g[i], 6)}.\n"
                f"{_explain(diagnose(fn, cases, name))}")


def coupling_layer(coupling_forward: object, coupling_inverse: object) -> None:
    """Check ``coupling_forward(z, mask, conditioner) -> (x, log_det)`` and then
    ``coupling_inverse(x, mask, conditioner) -> (z, log_det)`` against
    ``nfwidgets.flows.AffineCoupling`` (see the module docstring for the convention). Prints one
    ✓ line or raises ``CheckFailed`` naming the point, the expected and the got value and the
    typical mistake that gives exactly this answer."""
    learner_function(coupling_forward, "coupling_layer", "coupling_forward",
                     "coupling_forward(z, mask, conditioner)")
    learner_function(coupling_inverse, "coupling_layer", "coupling_inverse",
                     "coupling_inverse(x, mask, conditioner)")
    fwd, inv = forward_cases(), inverse_cases()
    _judge(coupling_forward, "coupling_forward", "z", ("x", "log_det"), fwd)
    _judge(coupling_inverse, "coupling_inverse", "x", ("z", "log_det"), inv)
    n = sum(c.points.shape[0] for c in fwd + inv)
    passed(f"coupling_forward and coupling_inverse agree with AffineCoupling at {n} points: "
           f"masks (1, 0) and (0, 1), {len(conditioners())} conditioners, float64 and float32.")


# ---- a trained flow against the data's entropy ----------------------------------------------

#: Held-out points: drawn with this seed (training code in the package uses small seeds).
HELD_OUT_SEED = 2_017_017
HELD_OUT_N = 4000


def _flow_dtype(flow: object) -> torch.dtype:
    for t in (*flow.parameters(), *flow.buffers()):  # type: ignore[attr-defined]
        if t.is_floating_point():
            return t.dtype
    return torch.float32


def fits_entropy_floor(flow: object, target: str, margin: float) -> None:
    r"""Check that ``flow`` (trained by maximum likelihood on the toy data set ``target``) has
    an average negative log-likelihood within ``margin`` nats of the data's entropy on
    ``HELD_OUT_N`` fresh points the checker draws itself (seed ``HELD_OUT_SEED``):

    .. math:: \widehat{\mathrm{NLL}} = -\frac1n\sum_i \ln q(x_i)
              \approx H(p) + \mathrm{KL}(p\,\|\,q),

    so ``NLL − H(p)`` estimates ``KL(p‖q)`` (standard error ``sd(ln q)/√n``, reported).
    ``H(p)`` is ``nfwidgets.targets.entropy_floor(target)``. An NLL more than 5 standard
    errors *below* the floor is impossible for a normalised density and fails too.

    Raises:
        ValueError: ``flow`` is not a 2-D nfwidgets ``Flow``, ``target`` has no known entropy
            or ``margin`` is not a number > 0 (the exercise's author passes these).
        CheckFailed: the flow cannot be evaluated, or is too far from the floor.
    """
    a_flow(flow, "fits_entropy_floor", "flow")
    target = one_of(target, "fits_entropy_floor", "target", list(ENTROPY_FLOORS))
    margin = a_number(margin, "fits_entropy_floor", "margin", lo=0, lo_open=True)
    floor = entropy_floor(target)
    x = toy_data(target, HELD_OUT_N, seed=HELD_OUT_SEED, dtype=_flow_dtype(flow))
    log_q = call(flow.log_prob, "flow.log_prob", (x,),
                         f"{HELD_OUT_N} fresh {target} points")
    log_q = to_tensor(log_q, what="log q", shape=(HELD_OUT_N,),
                      where=f"flow.log_prob on {HELD_OUT_N} fresh {target} points")
    nll = float(-log_q.mean())
    se = float(log_q.std() / math.sqrt(HELD_OUT_N))
    gap = nll - floor
    said = (f"held-out NLL on {HELD_OUT_N} fresh {target} points: {nll:.3f} ± {se:.3f} nats; "
            f"the entropy floor H(p) = {floor:.3f}")
    if gap < -5 * se:
        raise CheckFailed(f"{said}: the flow is {-gap:.3f} nats *below* the floor, which no "
                          "normalised density can be. Its log_prob is not a log density: check "
                          "the sign of every log-det (ln q(x) = ln p_z(z) + ln|det ∂z/∂x|).")
    if gap > margin:
        raise CheckFailed(
            f"{said}: {gap:.3f} nats above it, more than the margin of {margin:g}. "
            "Those nats are KL(p‖q), what the flow still gets wrong. If the training loss was "
            "still falling, train for more steps; if it flattened early, try a larger learning "
            "rate (a smaller one if it jumped about); if it flattened near this value, give the "
            "flow more layers or wider conditioners.")
    passed(f"{said}: {gap:.3f} nats above it, within the margin of {margin:g}.")
