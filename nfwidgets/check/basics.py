r"""Checks for the exercises of lessons 00–04 (one checker per exercise).

Each runs the learner's function on random inputs (float64 and float32, points kept off every
line where a wrong formula happens to agree with the right one), compares with the reference
engine (``nfwidgets.flows``) and, when the answer is wrong, names the catalogued mistake that
gives exactly that answer (``nfwidgets.check._basics_mistakes``).

- ``affine_log_prob(my_log_prob)`` — lesson 00: ``my_log_prob(x, s, t) -> (N,)``, the exact
  log-density of ``x = z·eˢ + t``, ``z ~ N(0, I₂)``:
  :math:`\log p_x(x) = \log p_z\big((x - t)e^{-s}\big) - \sum_j s_j`.
- ``density_at_image(my_density_at_image)`` — lesson 01: ``my_density_at_image(z, w, u_hat, b)
  -> (N,)``, :math:`p_x(f(z)) = p_z(z)/|f'(z)|` for the 1-D planar map
  :math:`f(z) = z + \hat u\tanh(wz + b)`.
- ``planar_log_det(my_log_det)`` — lesson 02: ``my_log_det(layer, z) -> (N,)``,
  :math:`\log|1 + \tanh'(w^\top z + b)\,w^\top\hat u|` (Rezende & Mohamed 2015, eq. 12).
- ``radial_log_det(my_log_det)`` — lesson 03: ``my_log_det(layer, z) -> (N,)``,
  :math:`\log(1 + \hat\beta h) + \log(1 + \hat\beta h + \hat\beta h' r)` in 2-D (eq. 14 and
  appendix A.2).
- ``single_affine(my_single_layer, flow=None)`` — lesson 04: ``my_single_layer(flow)`` returns
  the one ``ElementwiseAffine`` equal to a stack of them (log-scales add; the shift is f(0)).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch import Tensor

from ..flows.affine import ElementwiseAffine
from ..flows.base import StandardNormal
from ..flows.compose import Flow
from ..flows.planar import Planar
from ..flows.radial import Radial
from ._basics_mistakes import (
    AFFINE_LOG_PROB,
    DENSITY_AT_IMAGE,
    PLANAR_LOG_DET,
    RADIAL_LOG_DET,
    SINGLE_AFFINE,
)
from ._report import (
    Catalogue,
    CheckFailed,
    a_flow,
    an_integer,
    call,
    close,
    fmt,
    learner_function,
    passed,
    refuse,
    to_tensor,
)

__all__ = ["affine_log_prob", "density_at_image", "planar_log_det", "radial_log_det",
           "single_affine"]

DTYPES = (torch.float64, torch.float32)


def _raised(fn: Callable, args: tuple) -> BaseException | None:
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            fn(*args)
    except Exception as err:  # the learner's error, to compare with the mistakes' errors
        return err
    return None


def _run(cat: Catalogue, target: str, fn: object, args: tuple, shown: str) -> object:
    """The learner's answer, or CheckFailed: an error a catalogued mistake raises too gets that
    mistake's message; a ``...`` left in the code is named as such."""
    try:
        return call(fn, target, args, shown)
    except CheckFailed as failed:
        err = _raised(fn, args) if callable(fn) else None
        if err is not None and "ellipsis" in str(err).lower():
            raise CheckFailed(f"{target} is not written yet: replace every ... with your "
                              "code.") from None
        if err is not None and not isinstance(err, NotImplementedError):
            for m in cat.for_target(target):
                mine = _raised(m.function, args)
                if type(mine) is type(err) and str(mine) == str(err):
                    raise CheckFailed(f"{failed}\n{m.message}") from None
        raise


def _same(dtype: torch.dtype) -> Callable[[object, object], bool]:
    """Equality of two answers at ``dtype``'s tolerance (NaN equal to NaN, shapes must agree)."""
    def compare(got: object, wrong: object) -> bool:
        g = torch.as_tensor(got).detach().to(torch.float64)
        w = torch.as_tensor(wrong).detach().to(torch.float64)
        if g.shape != w.shape:
            return False
        rtol, atol = (1e-4, 1e-5) if dtype == torch.float32 else (1e-7, 1e-9)
        return bool(torch.allclose(g, w, rtol=rtol, atol=atol, equal_nan=True))
    return compare


def _values(cat: Catalogue, target: str, got: object, args: tuple, n: int, what: str,
            where: str, dtype: torch.dtype) -> Tensor:
    """``got`` as an (n,) float64 tensor; a wrong shape or NaN that a mistake explains gets
    its message."""
    try:
        return to_tensor(got, what=what, shape=(n,), where=where)
    except CheckFailed as failed:
        m = cat.diagnose(target, got, args, _same(dtype))
        if m is not None:
            raise CheckFailed(f"{failed}\n{m.message}") from None
        raise


def _verdict(cat: Catalogue, target: str, got: Tensor, want: Tensor, args: tuple, where: str,
             point: Callable[[int], str], dtype: torch.dtype, hint: str) -> None:
    """Raise CheckFailed unless ``got`` matches ``want``; the text shows the worst point."""
    if close(got, want, dtype):
        return
    i = int((got - want).abs().argmax())
    text = (f"{where}: at {point(i)} expected {fmt(float(want[i]), 6)}, got "
            f"{fmt(float(got[i]), 6)}.")
    m = cat.diagnose(target, got, args, _same(dtype))
    raise CheckFailed(f"{text}\n{m.message if m is not None else hint}")


# --- lesson 00 ---------------------------------------------------------------------------
def _affine_cases(g: torch.Generator) -> list[tuple]:
    cases = []
    for dtype in DTYPES:
        s = (torch.rand(2, generator=g, dtype=torch.float64) * 1.2 + 0.2) * torch.tensor(
            [1.0, -1.0], dtype=torch.float64)
        t = torch.rand(2, generator=g, dtype=torch.float64) * 2 - 1
        x = torch.randn(5, 2, generator=g, dtype=torch.float64) * 1.5
        cases.append((x.to(dtype), s.to(dtype), t.to(dtype)))
    return cases


def affine_log_prob(my_log_prob: object, seed: int = 0) -> None:
    """Lesson 00: ``my_log_prob(x, s, t)``, x (N, 2), s and t (2,), returns log p_x(x) (N,) for
    one ``ElementwiseAffine(log_scale=s, shift=t)`` on a 2-D standard normal."""
    learner_function(my_log_prob, "affine_log_prob", "my_log_prob", "my_log_prob(x, s, t)")
    g = torch.Generator().manual_seed(an_integer(seed, "affine_log_prob", "seed"))
    for x, s, t in _affine_cases(g):
        args = (x, s, t)
        shown = f"x of shape {tuple(x.shape)} ({x.dtype}), s={fmt(s)}, t={fmt(t)}"
        where = f"my_log_prob({shown})"
        got = _run(AFFINE_LOG_PROB, "my_log_prob", my_log_prob, args, shown)
        got = _values(AFFINE_LOG_PROB, "my_log_prob", got, args, x.shape[0], "log p_x(x)",
                      where, x.dtype)
        with torch.no_grad():
            want = Flow([ElementwiseAffine(log_scale=s, shift=t)]).to(x.dtype).log_prob(x)
        _verdict(AFFINE_LOG_PROB, "my_log_prob", got, want.double(), args, where,
                 lambda i, x=x: f"x = {fmt(x[i])}", x.dtype,
                 "Three parts: z = f⁻¹(x), log p_z(z), and the log-determinant of the inverse.")
    passed("my_log_prob matches the engine's Flow.log_prob on random affine layers "
           "(float64 and float32).")


# --- lesson 01 ---------------------------------------------------------------------------
def _planar_1d_cases(g: torch.Generator) -> list[tuple]:
    cases = []
    for k, dtype in enumerate((torch.float64, torch.float32, torch.float64)):
        w = (0.8 + 2.0 * float(torch.rand((), generator=g))) * (-1) ** k
        c = (-0.85, 1.7, -0.6)[k]  # wû: squeezing and stretching, always > -1
        b = (0.4 + 0.6 * float(torch.rand((), generator=g))) * (-1) ** (k // 2)
        z = torch.linspace(-2.0, 2.0, 9, dtype=torch.float64) + 0.1 * torch.rand(
            9, generator=g, dtype=torch.float64)
        z = z[(w * z + b).abs() > 0.15]  # off the line wz + b = 0, where tanh′ = 1
        cases.append((z.to(dtype), w, c / w, b))
    return cases


def density_at_image(my_density_at_image: object, seed: int = 0) -> None:
    """Lesson 01: ``my_density_at_image(z, w, u_hat, b)``, z (N,), w, u_hat, b floats with
    wû > -1, returns p_x(f(z)) (N,) for ``f(z) = z + û tanh(wz + b)``, z ~ N(0, 1)."""
    learner_function(my_density_at_image, "density_at_image", "my_density_at_image",
                     "my_density_at_image(z, w, u_hat, b)")
    g = torch.Generator().manual_seed(an_integer(seed, "density_at_image", "seed"))
    name = "my_density_at_image"
    for z, w, u_hat, b in _planar_1d_cases(g):
        args = (z, w, u_hat, b)
        shown = f"z of shape {tuple(z.shape)} ({z.dtype}), w={w:.4g}, u_hat={u_hat:.4g}, b={b:.4g}"
        where = f"{name}({shown})"
        got = _run(DENSITY_AT_IMAGE, name, my_density_at_image, args, shown)
        got = _values(DENSITY_AT_IMAGE, name, got, args, z.shape[0], "p_x(f(z))", where,
                      z.dtype)
        f64 = {"dtype": torch.float64}
        layer = Planar(torch.tensor([w], **f64), torch.tensor([u_hat], **f64),
                       torch.tensor(b, **f64), constrain=False)
        with torch.no_grad():  # the engine: log p_z(z) − log|f′(z)| from the forward pass
            zd = z.double()[:, None]
            want = (StandardNormal(1).double().log_prob(zd) - layer(zd)[1]).exp()
        _verdict(DENSITY_AT_IMAGE, name, got, want, args, where,
                 lambda i, z=z: f"z = {fmt(float(z[i]), 6)}", z.dtype,
                 "The density at x = f(z) is p_z(z) divided by the stretch |f′(z)|; check f′.")
    passed("my_density_at_image is the engine's exact density at x = f(z) (float64, float32).")


# --- lessons 02 and 03 -------------------------------------------------------------------
def _off_line(g: torch.Generator, w: Tensor, b: float, n: int) -> Tensor:
    """n points with |wᵀz + b| > 0.3 (tanh′ = 1 on the line itself)."""
    z = torch.randn(4 * n, 2, generator=g, dtype=torch.float64) * 1.5
    return z[(z @ w + b).abs() > 0.3][:n]


def _planar_cases(g: torch.Generator) -> list[tuple]:
    cases = []
    specs = ((True, torch.float64, 0.8), (True, torch.float32, -2.5),
             (False, torch.float64, -2.0), (False, torch.float32, 0.6))
    for constrain, dtype, wtu in specs:  # wᵀu off -0.54, where m(wᵀu) = wᵀu and û = u
        w = torch.randn(2, generator=g, dtype=torch.float64)
        w = w / w.norm() * (1.0 + float(torch.rand((), generator=g)))
        u = w * wtu / (w @ w) + 0.7 * torch.stack([-w[1], w[0]]) / w.norm()
        b = 0.5 * float(torch.rand((), generator=g)) + 0.2
        layer = Planar(w, u, b, constrain=constrain).to(dtype)
        cases.append((layer, _off_line(g, w, b, 6).to(dtype)))
    return cases


def _layer_check(cat: Catalogue, fn: object, cases: list[tuple], describe: Callable,
                 hint: str) -> None:
    for layer, z in cases:
        args = (layer, z)
        shown = f"{describe(layer)}, z of shape {tuple(z.shape)} ({z.dtype})"
        where = f"my_log_det({shown})"
        got = _run(cat, "my_log_det", fn, args, shown)
        got = _values(cat, "my_log_det", got, args, z.shape[0], "log|det J|", where, z.dtype)
        with torch.no_grad():
            want = layer(z)[1].double()
        _verdict(cat, "my_log_det", got, want, args, where,
                 lambda i, z=z: f"z = {fmt(z[i])}", z.dtype, hint)


def planar_log_det(my_log_det: object, seed: int = 0) -> None:
    """Lesson 02: ``my_log_det(layer, z)`` for a ``Planar`` layer (constrained or not) and z
    (N, 2), returns log|det J_f(z)| (N,)."""
    learner_function(my_log_det, "planar_log_det", "my_log_det", "my_log_det(layer, z)")
    g = torch.Generator().manual_seed(an_integer(seed, "planar_log_det", "seed"))

    def describe(layer: Planar) -> str:
        return (f"Planar(w={fmt(layer.w)}, u={fmt(layer.u)}, b={fmt(float(layer.b.detach()))}, "
                f"constrain={layer.constrain})")

    _layer_check(PLANAR_LOG_DET, my_log_det, _planar_cases(g), describe,
                 "Compare each part of yours with the determinant in lesson 02's 'Why the "
                 "constraint?' cell: which û the layer really uses (layer.u_hat), where tanh′ "
                 "is evaluated, and what happens where det J < 0.")
    passed("my_log_det is the planar layer's log|det J| on random layers and points, folding "
           "ones included (float64, float32).")


def _radial_cases(g: torch.Generator) -> list[tuple]:
    cases = []
    specs = ((True, torch.float64, 1.5), (True, torch.float32, -1.5),
             (True, torch.float64, 0.3), (False, torch.float32, 0.8))
    for constrain, dtype, beta in specs:
        z0 = torch.rand(2, generator=g, dtype=torch.float64) * 2 - 1
        alpha = 0.3 + float(torch.rand((), generator=g))
        layer = Radial(z0, alpha=alpha, beta=beta, constrain=constrain).to(dtype)
        z = z0 + torch.randn(6, 2, generator=g, dtype=torch.float64) * 1.5
        z = z[(z - z0).norm(dim=-1) > 0.2]  # away from z₀, where r = 0 hides a wrong r
        cases.append((layer, z.to(dtype)))
    return cases


def radial_log_det(my_log_det: object, seed: int = 0) -> None:
    """Lesson 03: ``my_log_det(layer, z)`` for a 2-D ``Radial`` layer (β̂ ≥ -α) and z (N, 2),
    returns log|det J_f(z)| (N,)."""
    learner_function(my_log_det, "radial_log_det", "my_log_det", "my_log_det(layer, z)")
    g = torch.Generator().manual_seed(an_integer(seed, "radial_log_det", "seed"))

    def describe(layer: Radial) -> str:
        return (f"Radial(z0={fmt(layer.z0)}, alpha={fmt(float(layer.alpha.detach()))}, "
                f"beta={fmt(float(layer.beta.detach()))}, constrain={layer.constrain})")

    _layer_check(RADIAL_LOG_DET, my_log_det, _radial_cases(g), describe,
                 "Two stretches, as in the formula at the top of lesson 03: across the ray and "
                 "along it. Check each one on its own, with the β̂ the layer uses "
                 "(layer.beta_hat).")
    passed("my_log_det is the radial layer's log|det J| on random layers and points "
           "(float64, float32).")


# --- lesson 04 ---------------------------------------------------------------------------
def _stack(g: torch.Generator, k: int) -> Flow:
    layers = [ElementwiseAffine(torch.rand(2, generator=g, dtype=torch.float64) * 1.2 - 0.6,
                                torch.rand(2, generator=g, dtype=torch.float64) * 2 - 1)
              for _ in range(k)]
    return Flow(layers).double()


def _layer_params(layer: object, where: str) -> tuple[Tensor, Tensor]:
    if not (hasattr(layer, "log_scale") and hasattr(layer, "shift")):
        raise CheckFailed(f"{where} should return an ElementwiseAffine(log_scale=s, shift=t); "
                          f"got {type(layer).__name__} {layer!r:.80}")
    s = to_tensor(layer.log_scale, what="its log_scale", shape=(2,), where=where)
    t = to_tensor(layer.shift, what="its shift", shape=(2,), where=where)
    return s, t


def _same_layer(got: object, wrong: object) -> bool:
    return all(close(torch.as_tensor(getattr(got, n)).detach().double(),
                     torch.as_tensor(getattr(wrong, n)).detach().double())
               for n in ("log_scale", "shift"))


def single_affine(my_single_layer: object, flow: Flow | None = None, seed: int = 0) -> None:
    """Lesson 04: ``my_single_layer(flow)`` for a ``Flow`` of 2-D ``ElementwiseAffine`` layers
    returns one ``ElementwiseAffine`` equal to the stack. Checked on random stacks of 2–4
    layers, then on ``flow`` (the lesson's) if given: a ``ValueError`` when it is not a
    ``Flow`` of 2-D ``ElementwiseAffine`` layers."""
    learner_function(my_single_layer, "single_affine", "my_single_layer",
                     "my_single_layer(flow)")
    if flow is not None and not all(isinstance(ly, ElementwiseAffine) for ly in a_flow(
            flow, "single_affine", "flow").layers):
        raise refuse("single_affine", "flow", flow, "a Flow of ElementwiseAffine layers only")
    g = torch.Generator().manual_seed(an_integer(seed, "single_affine", "seed"))
    stacks = [_stack(g, k) for k in (3, 2, 4)] + ([flow] if flow is not None else [])
    name = "my_single_layer"
    for stack in stacks:
        args = (stack,)
        shown = f"a stack of {len(stack.layers)} affine layers"
        where = f"{name}({shown})"
        layer = _run(SINGLE_AFFINE, name, my_single_layer, args, shown)
        s, t = _layer_params(layer, where)
        layers = list(stack.layers)
        want_s = sum(torch.as_tensor(ly.log_scale).detach().double() for ly in layers)
        with torch.no_grad():
            dtype = layers[0].log_scale.dtype  # the lesson's flow may be float32
            want_t = stack(torch.zeros(1, 2, dtype=dtype))[0][0].double()
        m = SINGLE_AFFINE.diagnose(name, layer, args, _same_layer)
        if not close(s, want_s, dtype):
            text = (f"{where}: the stack's log|det J| is Σ of all log-scales = "
                    f"{fmt(float(want_s.sum()), 6)}; your layer's log-scales {fmt(s)} differ "
                    f"from the stack's per-coordinate ones {fmt(want_s)}.")
            raise CheckFailed(f"{text}\n" + (m.message if m else
                              "Follow one coordinate through the stack: each layer rescales "
                              "it in turn. What does that do to its log-scale?"))
        if not close(t, want_t, dtype):
            text = (f"{where}: the log-scales are right; the stack moves the origin to "
                    f"{fmt(want_t)}, your layer to {fmt(t)}.")
            raise CheckFailed(f"{text}\n" + (m.message if m else
                              "Compare where the stack and your layer send one point, "
                              "e.g. z = 0."))
    passed("my_single_layer gives one affine layer equal to the whole stack (random stacks"
           + (" and the lesson's)." if flow is not None else ")."))

