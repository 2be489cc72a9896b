"""Checks for the radial-inverse exercise: ``check.preimage_radius(preimage_radius)`` and
``check.radial_inverse(preimage_radius, radial_inverse)``.

The learner writes ``preimage_radius(rho, alpha, beta) -> r`` (rho (N,) ≥ 0, α > 0, β ≥ −α
floats; r ≥ 0 with r + βr/(α + r) = ρ) and ``radial_inverse(x, z0, alpha, beta) -> (z, log_det)``
(x (N, d), z0 (d,), log_det (N,) = ln|det ∂z/∂x|) for the radial flow
``f(z) = z + β h(r)(z − z0)``, ``h = 1/(α + r)``, of Rezende & Mohamed (2015), eq. 14 and
App. A.2. β is the already constrained β̂. The reference is the engine's exact inverse,
``nfwidgets.flows.Radial(z0, α, β, constrain=False).inverse`` and ``radius_of_preimage``.

Inputs (``layers()``, fixed and seeded) are chosen so that every catalogued mistake changes the
answer:

* contracting (−α < β < 0, down to β = −0.9α) and expanding (β > 0, up to 10α) layers,
  |β| ≥ 0.2 (β = 0 is the identity and hides everything);
* radii from 10⁻³ (next to z0) to 300; z0 ≠ 0;
* x = z0 is never used in ``radial_inverse``: writing z − z0 as r times the unit vector
  (x − z0)/ρ is correct but 0/0 there. ``preimage_radius`` does get ρ = 0 (the quadratic has
  no division by ρ; its answer is r = 0). β = −α exactly is never used;
* d = 2 and d = 3 (in 2-D, d − 1 = 1 hides a forgotten power), N = 7 and N = 1;
* float64 and float32 copies (the float32 copies of ``radial_inverse`` without the point next
  to z0, see ``FLOAT32_MIN_RADIUS``). Outputs must be tensors (or NumPy arrays); an answer in
  float32, or to float32 inputs, is judged at float32 tolerance.
"""

from __future__ import annotations

import math

import torch

from nfwidgets.flows import Radial

from . import _radial_mistakes
from ._cases import Case, Output, count, run
from ._report import fmt, learner_function, passed

__all__ = ["layers", "preimage_radius", "preimage_radius_cases", "radial_inverse",
           "radial_inverse_cases"]

CAT = _radial_mistakes.CAT

#: Hand-picked layers: (z0, α, β, N).
SPECS: tuple[tuple[tuple[float, ...], float, float, int], ...] = (
    ((0.7, -1.3), 1.0, 0.8, 7),            # expanding
    ((-0.4, 0.9), 0.5, -0.35, 7),          # contracting
    ((1.5, 0.2), 2.0, -1.8, 7),            # contracting, near the boundary β = −α
    ((-2.0, -0.5), 0.3, 3.0, 7),           # strongly expanding
    ((0.9, 0.4), 1.2, -0.5, 1),            # one point
    ((0.3, -0.8, 1.1), 1.5, -0.6, 7),      # 3-D, contracting
    ((-0.6, 0.4, 0.2), 0.7, 1.9, 7),       # 3-D, expanding
    ((1.0, -1.0, 0.5), 0.4, 0.9, 1),       # 3-D, one point
)
N_RANDOM = 2
#: float32 copies of ``radial_inverse`` keep no point nearer z0 than this: there the textbook
#: root (−q + √(q² + 4αρ))/2 of the quadratic loses most of float32's digits to cancellation,
#: and a correct log-det built on it misses float32 tolerance through no fault of the learner.
FLOAT32_MIN_RADIUS = 0.05
#: Radii of the N = 7 points (each jittered by up to ±20 %): next to z0 … far out.
RADII = (1e-3, 0.1, 0.6, 1.5, 4.0, 30.0, 300.0)


def _uniform(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g, dtype=torch.float64))


def _random_spec(g: torch.Generator) -> tuple[tuple[float, ...], float, float, int]:
    alpha = math.exp(_uniform(g, math.log(0.2), math.log(3.0)))
    while True:
        beta = _uniform(g, -0.9 * alpha, 3.0)
        if abs(beta) >= 0.2:
            return (_uniform(g, -2, 2), _uniform(g, -2, 2)), alpha, beta, 7


def layers() -> list[tuple[torch.Tensor, float, float, torch.Tensor]]:
    """The float64 layers and points every radial check uses: ``[(z0, α, β, x), …]``, x ≠ z0."""
    g = torch.Generator().manual_seed(14)
    specs = list(SPECS[:5]) + [_random_spec(g) for _ in range(N_RANDOM)] + list(SPECS[5:])
    out = []
    for z0, alpha, beta, n in specs:
        z0_t = torch.tensor(z0, dtype=torch.float64)
        radii = torch.tensor(RADII if n == 7 else (1.3,), dtype=torch.float64)
        radii = radii * (1 + 0.4 * (torch.rand(n, generator=g, dtype=torch.float64) - 0.5))
        direction = torch.randn(n, len(z0), generator=g, dtype=torch.float64)
        direction = direction / torch.linalg.vector_norm(direction, dim=1, keepdim=True)
        out.append((z0_t, alpha, beta, z0_t + radii[:, None] * direction))
    return out


def _engine(z0: torch.Tensor, alpha: float, beta: float) -> Radial:
    # α, β as float64 tensors: Python floats would pass through float32 in Radial
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    return Radial(z0.double(), t(alpha), t(beta), constrain=False)


def _params(alpha: float, beta: float) -> str:
    return f"alpha = {fmt(alpha)}, beta = {fmt(beta)}"


def preimage_radius_cases() -> list[Case]:
    """One case per layer and dtype: ``preimage_radius(rho, alpha, beta)``, ρ = ‖x − z0‖ of the
    layer's points, with ρ = 0 added in front of every N = 7 list."""
    cases = []
    for dtype in (torch.float64, torch.float32):
        for z0, alpha, beta, x in layers():
            rho = torch.linalg.vector_norm(x - z0, dim=1)
            if len(rho) > 1:
                rho = torch.cat([torch.zeros(1, dtype=rho.dtype), rho])
            rho_d = rho.to(dtype)
            with torch.no_grad():
                want = _engine(z0, alpha, beta).radius_of_preimage(rho_d.double())
            context = _params(alpha, beta)
            cases.append(Case((rho_d, alpha, beta), (want,), dtype,
                              f"rho of shape {tuple(rho.shape)}, {context}",
                              point=lambda i, r=rho_d: f"rho[{i}] = {fmt(r[i])}",
                              context=context))
    return cases


def radial_inverse_cases() -> list[Case]:
    """One case per layer and dtype: ``radial_inverse(x, z0, alpha, beta)`` against
    ``Radial.inverse`` (2-D layers first, then 3-D)."""
    cases = []
    for dtype in (torch.float64, torch.float32):
        for z0, alpha, beta, x in layers():
            if dtype == torch.float32:  # see FLOAT32_MIN_RADIUS
                x = x[torch.linalg.vector_norm(x - z0, dim=1) >= FLOAT32_MIN_RADIUS]
            x_d, z0_d = x.to(dtype), z0.to(dtype)
            with torch.no_grad():
                z, log_det = _engine(z0_d, alpha, beta).inverse(x_d.double())
            context = f"z0 = {fmt(z0_d)}, {_params(alpha, beta)}"
            cases.append(Case((x_d, z0_d, alpha, beta), (z, log_det), dtype,
                              f"x of shape {tuple(x.shape)}, {context}",
                              point=lambda i, x_d=x_d: f"x[{i}] = {fmt(x_d[i])}",
                              context=context))
    return cases


def _check_preimage_radius(fn: object) -> int:
    cases = preimage_radius_cases()
    run(fn, "preimage_radius", "rho, alpha, beta", cases, [Output("r")], CAT, "preimage_radius")
    return count(cases)[1]


def preimage_radius(preimage_radius_fn: object) -> None:
    """Check the learner's ``preimage_radius(rho, alpha, beta) -> r``, the radius of the
    preimage under the radial map. Prints one ✓ line or raises ``CheckFailed``."""
    learner_function(preimage_radius_fn, "preimage_radius", "preimage_radius",
                     "preimage_radius(rho, alpha, beta)")
    n = _check_preimage_radius(preimage_radius_fn)
    top = max(float(c.args[0].max()) for c in preimage_radius_cases())
    passed(f"preimage_radius agrees with the reference at {n} radii from 0 to {top:.3g}, "
           "contracting and expanding layers, float64 and float32.")


def radial_inverse(preimage_radius_fn: object, radial_inverse_fn: object) -> None:
    """Check ``preimage_radius`` first, then ``radial_inverse(x, z0, alpha, beta) -> (z,
    log_det)``: z and ln|det ∂z/∂x| per point, in 2-D and 3-D. Prints one ✓ line or raises
    ``CheckFailed``."""
    learner_function(preimage_radius_fn, "radial_inverse", "preimage_radius",
                     "preimage_radius(rho, alpha, beta)")
    learner_function(radial_inverse_fn, "radial_inverse", "radial_inverse",
                     "radial_inverse(x, z0, alpha, beta)")
    n_radii = _check_preimage_radius(preimage_radius_fn)
    cases = radial_inverse_cases()
    run(radial_inverse_fn, "radial_inverse", "x, z0, alpha, beta", cases,
        [Output("z"), Output("log_det")], CAT, "radial_inverse")
    n_layers, n_points = count(cases)
    passed(f"preimage_radius and radial_inverse agree with the reference: r at {n_radii} "
           f"radii, z and log_det at {n_points} points of {n_layers} layers (2-D and 3-D, "
           "contracting and expanding, N = 1 and 7; float64 and float32).")
