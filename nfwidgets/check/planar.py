"""Checks for the planar-layer exercise: ``check.u_hat(u_hat)`` and
``check.planar_layer(u_hat, planar_forward)``.

The learner writes ``u_hat(w, u) -> û`` (w, u of shape (2,)) and ``planar_forward(z, w, u, b)
-> (x, log_det)`` (z (N, 2), b a float, x (N, 2), log_det (N,) = ln|det ∂x/∂z|) for the planar
flow ``f(z) = z + û tanh(wᵀz + b)`` of Rezende & Mohamed (2015), eq. 10–12 and App. A.1. The
reference is the engine, ``nfwidgets.flows.Planar`` and ``nfwidgets.flows.planar.u_hat``.

Inputs (``layers()``, fixed and seeded, the same on every run) are chosen so that every
catalogued mistake changes the answer:

* ‖w‖ is kept away from 1 (there ‖w‖ and ‖w‖² agree) and ranges from 0.05 to 6;
* wᵀu runs from −5 (û ≠ u matters most) through ≈ 0 to +3, away from ln(e − 1) ≈ 0.541,
  where wᵀû = 0 (there a log-det of the wrong sign is still right); |wᵀu| ≤ 6 so that
  ``log(1 + exp(a))``, a correct way to write softplus, cannot overflow even in float32;
* every point has |wᵀz + b| ≥ 0.3 (at wᵀz + b = 0, tanh′ = 1 = 1 − tanh, which hides
  mistakes) and ≤ 2.2 (beyond, tanh′ ≈ 0 hides the log-det); |b| ≥ 0.4;
* N = 7 and N = 1 points, float64 and float32 copies of every layer. Outputs must be tensors
  (or NumPy arrays) in float32 or float64; an answer in float32, or to float32 inputs, is
  judged at float32 tolerance. w = 0 is never used (û is 0/0 there).
"""

from __future__ import annotations

import math

import torch

from nfwidgets.flows import Planar
from nfwidgets.flows.planar import u_hat as reference_u_hat

from . import _planar_mistakes
from ._cases import Case, Output, count, run
from ._report import fmt, learner_function, passed

__all__ = ["layers", "planar_forward_cases", "planar_layer", "u_hat", "u_hat_cases"]

CAT = _planar_mistakes.CAT

#: Hand-picked layers: (‖w‖, angle of w, wᵀu, u's part across w, b, N).
SPECS: tuple[tuple[float, float, float, float, float, int], ...] = (
    (1.6, 0.3, 0.8, 0.5, 0.7, 7),        # a typical layer
    (0.6, 2.0, -4.0, -0.8, -0.5, 7),     # wᵀu ≪ −1: û far from u
    (2.2, -1.1, 0.002, 1.1, 0.4, 7),     # wᵀu ≈ 0
    (6.0, 0.9, -2.5, 0.3, 1.3, 7),       # large ‖w‖
    (0.05, -2.5, -0.03, 0.7, -0.9, 7),   # tiny ‖w‖
    (1.4, 1.2, 3.0, -0.6, -1.1, 1),      # wᵀu > 0, one point
    (0.7, -0.4, -1.6, 1.3, 0.6, 1),      # wᵀu < −1, one point
)
N_RANDOM = 3
C_ZERO = math.log(math.e - 1)  # wᵀu where wᵀû = 0


def _random_spec(g: torch.Generator) -> tuple[float, float, float, float, float, int]:
    def uniform(lo: float, hi: float) -> float:
        return lo + (hi - lo) * float(torch.rand((), generator=g, dtype=torch.float64))
    while True:
        norm, wtu = math.exp(uniform(math.log(0.3), math.log(3.0))), uniform(-5.0, 3.0)
        b = math.copysign(uniform(0.4, 1.5), uniform(-1, 1))
        if abs(norm - 1) > 0.25 and abs(wtu - C_ZERO) > 0.2:
            return norm, uniform(-math.pi, math.pi), wtu, uniform(-1.5, 1.5), b, 7


def _layer(spec: tuple, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, float,
                                                      torch.Tensor]:
    """(w, u, b, z) in float64 for one spec; z's points have 0.3 ≤ |wᵀz + b| ≤ 2.2."""
    norm, angle, wtu, across, b, n = spec
    e = torch.tensor([math.cos(angle), math.sin(angle)], dtype=torch.float64)
    e_perp = torch.stack([-e[1], e[0]])
    w = norm * e
    u = (wtu / norm) * e + across * e_perp
    lo, hi = max(-2.2, b - 3 * norm), min(2.2, b + 3 * norm)
    rows = []
    while len(rows) < n:
        s = lo + (hi - lo) * float(torch.rand((), generator=g, dtype=torch.float64))
        if abs(s) < 0.3:
            continue
        t = 4 * float(torch.rand((), generator=g, dtype=torch.float64)) - 2
        rows.append(((s - b) / norm) * e + t * e_perp)
    return w, u, b, torch.stack(rows)


def layers() -> list[tuple[torch.Tensor, torch.Tensor, float, torch.Tensor]]:
    """The float64 layers and points every planar check uses: ``[(w, u, b, z), …]``."""
    g = torch.Generator().manual_seed(17)
    specs = list(SPECS) + [_random_spec(g) for _ in range(N_RANDOM)]
    return [_layer(spec, g) for spec in specs]


def u_hat_cases() -> list[Case]:
    """One case per layer and dtype: ``u_hat(w, u)``; the reference is computed in float64
    from the (possibly float32-rounded) inputs."""
    cases = []
    for dtype in (torch.float64, torch.float32):
        for w, u, _, _ in layers():
            w_d, u_d = w.to(dtype), u.to(dtype)
            want = reference_u_hat(w_d.double(), u_d.double())
            cases.append(Case((w_d, u_d), (want,), dtype, f"w = {fmt(w_d)}, u = {fmt(u_d)}"))
    return cases


def planar_forward_cases() -> list[Case]:
    """One case per layer and dtype: ``planar_forward(z, w, u, b)`` against ``Planar``."""
    cases = []
    for dtype in (torch.float64, torch.float32):
        for w, u, b, z in layers():
            w_d, u_d, z_d = w.to(dtype), u.to(dtype), z.to(dtype)
            with torch.no_grad():
                # b as a float64 tensor: a Python float would pass through float32 in Planar
                b64 = torch.tensor(b, dtype=torch.float64)
                x, log_det = Planar(w_d.double(), u_d.double(), b64)(z_d.double())
            context = f"w = {fmt(w_d)}, u = {fmt(u_d)}, b = {fmt(b)}"
            cases.append(Case((z_d, w_d, u_d, b), (x, log_det), dtype,
                              f"z of shape {tuple(z.shape)}, {context}",
                              point=lambda i, z_d=z_d: f"z[{i}] = {fmt(z_d[i])}",
                              context=context))
    return cases


def _check_u_hat(u_hat_fn: object) -> int:
    cases = u_hat_cases()
    run(u_hat_fn, "u_hat", "w, u", cases, [Output("û", per_point=False)], CAT, "u_hat")
    return len(cases)


def u_hat(u_hat_fn: object) -> None:
    """Check the learner's ``u_hat(w, u) -> û``: the reparametrised u of App. A.1 that makes
    the planar layer invertible. Prints one ✓ line or raises ``CheckFailed``."""
    learner_function(u_hat_fn, "u_hat", "u_hat", "u_hat(w, u)")
    n = _check_u_hat(u_hat_fn)
    wtu = [float(w @ u) for w, u, _, _ in layers()]
    norms = [float(w.norm()) for w, _, _, _ in layers()]
    passed(f"u_hat agrees with the reference on {n} (w, u) pairs, float64 and float32 "
           f"(wᵀu from {min(wtu):.2g} to {max(wtu):.2g}, ‖w‖ from {min(norms):.2g} to "
           f"{max(norms):.2g}).")


def planar_layer(u_hat_fn: object, planar_forward_fn: object) -> None:
    """Check ``u_hat`` first, then ``planar_forward(z, w, u, b) -> (x, log_det)``: x and
    ln|det ∂x/∂z| per point, on layers and points chosen so that every catalogued mistake
    shows. Prints one ✓ line or raises ``CheckFailed``."""
    learner_function(u_hat_fn, "planar_layer", "u_hat", "u_hat(w, u)")
    learner_function(planar_forward_fn, "planar_layer", "planar_forward",
                     "planar_forward(z, w, u, b)")
    n_pairs = _check_u_hat(u_hat_fn)
    cases = planar_forward_cases()
    run(planar_forward_fn, "planar_forward", "z, w, u, b", cases,
        [Output("x"), Output("log_det")], CAT, "planar_forward")
    n_layers, n_points = count(cases)
    passed(f"u_hat and planar_forward agree with the reference: û on {n_pairs} (w, u) pairs, "
           f"x and log_det at {n_points} points of {n_layers} layers (N = 1 and 7; float64 "
           "and float32).")
