r"""Checks for the tasks done *with* a widget in lessons 01–04: the check reads the widget's
state (its layer's parameters, its controls, its last frame) and says what it found.

Nothing here imports a widget module: a check makes sure it was given the lesson's widget (by
its class's name, ``_report.instance_of``) and reads only the attributes named in its docstring.
The task's numbers (``target``, ``tolerance``…) are the lesson's: a value that is not a number
in range is a ``ValueError``; the widget's state is what is judged.

- ``pile_up(cov)`` — lesson 01, ``ChangeOfVariables1D``: a planar 1-D map that piles p_x up at
  x = 1. The squeeze of :math:`f(z) = z + \hat u\tanh(wz + b)` is strongest on the line
  wz + b = 0, where :math:`f' = 1 + w\hat u` and f(z) = z; it needs :math:`w\hat u < 0`.
- ``fold_line(explorer)`` — lesson 02, ``PlanarExplorer``: an unconstrained planar layer that
  folds the plane along the line x₂ = 1 (Rezende & Mohamed 2015, appendix A.1: the layer is
  invertible iff wᵀû ≥ −1; the fold is centred on wᵀz + b = 0).
- ``mass_pushed_out(explorer)`` — lesson 03, ``RadialExplorer``: one invertible radial layer
  (β̂ ≥ −α, Rezende & Mohamed 2015, appendix A.2) that pushes enough mass out of the view
  to bring the mass in view below 0.9.
- ``area_kept(builder)`` — lesson 04, ``FlowBuilder`` on the five affine layers: log-scales
  edited so the stack keeps area, :math:`\log|\det J| = \sum_k\sum_j s_{kj} = 0`, with the
  whole stack shown.

``TASKS`` holds each task's catalogue of wrong states: key → ``WrongState`` (the message, a
template filled with the state found, and the control steps that reach that state from the
lesson's widget, for the tests).
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass

import numpy as np

from ._report import CheckFailed, a_number, an_integer, instance_of, passed

__all__ = ["TASKS", "WrongState", "area_kept", "fold_line", "mass_pushed_out", "pile_up"]


@dataclass(frozen=True)
class WrongState:
    """A typical wrong widget state: ``message`` is filled with what the check found;
    ``steps`` are ``(method, *args, kwargs)`` calls on the widget that reach it."""

    key: str
    message: str
    steps: tuple

    @property
    def marker(self) -> str:
        """The longest fixed piece of the message (how a test recognises it)."""
        return max((lit for lit, *_ in string.Formatter().parse(self.message)), key=len)


def _catalogue(*states: WrongState) -> dict[str, WrongState]:
    return {s.key: s for s in states}


TASKS: dict[str, dict[str, WrongState]] = {
    "pile_up": _catalogue(
        WrongState("not_planar", "The widget shows the {kind} map; this task is for the "
                   "planar 1-D map (choose it in the 'map' menu).",
                   (("set", {"kind": "affine", "log_scale": -0.5, "shift": 1.0}),)),
        WrongState("stretches", "wû = {c:+.3f} ≥ 0: the planar map stretches around "
                   "z = −b/w (|f′| ≥ 1 there), so p_x dips instead of piling up; a squeeze "
                   "needs wû < 0.",
                   (("set", {"kind": "planar", "w": 2.0, "u": 1.0, "b": -2.0}),)),
        WrongState("mirror", "The squeeze sits at z = −b/w = {zc:+.2f}, the mirror image of "
                   "z = 1 (p_x peaks at x = {xp:+.2f}): the sign of b decides the side.",
                   (("set", {"kind": "planar", "w": 2.0, "u": -1.0, "b": 2.0}),)),
        WrongState("wrong_place", "The squeeze sits at z = −b/w = {zc:+.2f} (p_x peaks at "
                   "x = {xp:+.2f}): the map squeezes most where wz + b = 0, and that point "
                   "stays where it is, f(z) = z.",
                   (("set", {"kind": "planar", "w": 2.0, "u": -1.0, "b": 0.0}),)),
        WrongState("too_weak", "The squeeze is at z = {zc:+.2f}, but |f′| is at least "
                   "{fmin:.2f} there: p_x only reaches {peak:.3f} (at x = {xp:+.2f}). Bring "
                   "wû = {c:+.3f} closer to −1.",
                   (("set", {"kind": "planar", "w": 2.0, "u": 0.0, "b": -2.0}),)),
    ),
    "fold_line": _catalogue(
        WrongState("constrained", "The constraint is on: wᵀû = {c:+.3f} > −1, and a "
                   "constrained planar layer never folds. Untick the constraint.",
                   (("set", {"w1": 0.0, "w2": 2.0, "u1": 0.0, "u2": -1.0, "b": -2.0}),)),
        WrongState("no_fold", "The constraint is off, but wᵀu = {c:+.3f} ≥ −1: the layer is "
                   "still one-to-one. It folds only when wᵀu < −1 (u pointing against w).",
                   (("set", {"constrain": False, "w1": 0.0, "w2": 2.0, "u1": 0.0,
                             "u2": -0.3, "b": -2.0}),)),
        WrongState("along_x1", "w = ({w1:+.2f}, {w2:+.2f}) points along x₁, so the fold runs "
                   "along the vertical line x₁ = {p1:+.2f}. The fold line wᵀz + b = 0 is "
                   "perpendicular to w: for a line x₂ = const, w must point along x₂.",
                   (("set", {"constrain": False, "w1": 2.0, "w2": 0.0, "u1": -1.0,
                             "u2": 0.0, "b": -2.0}),)),
        WrongState("tilted", "w = ({w1:+.2f}, {w2:+.2f}): the fold line wᵀz + b = 0 is "
                   "tilted; it is parallel to the x₁ axis only when w₁ = 0.",
                   (("set", {"constrain": False, "w1": 1.0, "w2": 2.0, "u1": -0.5,
                             "u2": -1.0, "b": -2.0}),)),
        WrongState("wrong_side", "The fold runs along x₂ = {p:+.2f}, the mirror image of "
                   "x₂ = 1: on the fold line w₂x₂ + b = 0, so the sign of b picks the side.",
                   (("set", {"constrain": False, "w1": 0.0, "w2": 2.0, "u1": 0.0,
                             "u2": -1.0, "b": 2.0}),)),
        WrongState("wrong_place", "The fold runs along x₂ = {p:+.2f}, not x₂ = 1: the fold "
                   "line is where w₂x₂ + b = 0.",
                   (("set", {"constrain": False, "w1": 0.0, "w2": 2.0, "u1": 0.0,
                             "u2": -1.0, "b": 0.0}),)),
    ),
    "mass_pushed_out": _catalogue(
        WrongState("fold", "The constraint is off and β̂ = {beta_hat:+.3f} < −α = "
                   "{neg_alpha:+.3f}: the layer folds, and the mass readout ({mass:.3f}) leaves "
                   "out the grey disc of points with three preimages, where the flow's density "
                   "formula does not hold. Turn the constraint on and push mass out of the view.",
                   (("set", {"alpha": 0.5, "beta": -3.0, "constrain": False}),)),
        WrongState("pulls_in", "β̂ = {beta_hat:+.3f} ≤ 0 pulls mass towards z₀ = {z0}: the "
                   "mass in view is {mass:.3f}. Mass leaves the view only when it is pushed "
                   "away from z₀, with β̂ > 0.",
                   (("set", {"alpha": 0.5, "beta": -2.0}),)),
        WrongState("too_weak", "β̂ = {beta_hat:+.3f} > 0 pushes mass away from z₀ = {z0}, "
                   "but the mass in view is still {mass:.3f}: push harder (a larger β), or put "
                   "z₀ where the mass is.",
                   (("set", {"alpha": 0.5, "beta": 1.0}),)),
    ),
    "area_kept": _catalogue(
        WrongState("stack_changed", "The stack has {n} layers ({kinds}): keep the five affine "
                   "layers of the lesson and edit the log-scales of the last one.",
                   (("set", {"preset": "mixed_8"}),)),
        WrongState("not_at_end", "The picture shows the density after layer {k} of {n}: move "
                   "'show after layer' to {n} to see what the whole stack does.",
                   (("edit_layer", 4, {"log_scale1": 0.2, "log_scale2": 0.2}),
                    ("set", {"after_layer": 3}))),
        WrongState("one_coordinate", "The log-scales now add up to {s1:+.2f} for x₁ and "
                   "{s2:+.2f} for x₂: one coordinate is back to its width, but det J multiplies "
                   "the stretches of both, so log|det J| = {total:+.2f} and the peak is "
                   "{peak:.4f}, not 1/2π ≈ 0.1592.",
                   (("edit_layer", 4, {"log_scale1": 0.7, "log_scale2": 0.1}),)),
        WrongState("area_changed", "log|det J| of the stack, the sum of all its log-scales, "
                   "is {total:+.2f} ≠ 0: the stack still changes area, and the peak is "
                   "{peak:.4f}, not 1/2π ≈ 0.1592.",
                   (("edit_layer", 4, {"log_scale1": 0.0, "log_scale2": 0.0}),)),
    ),
}


def _fail(task: str, key: str, **found: object) -> None:
    raise CheckFailed(TASKS[task][key].message.format(**found))


def _frame(widget: object, name: str) -> object:
    frame = getattr(widget, "last_frame", None)
    if frame is None:
        raise CheckFailed(f"{name} has not drawn anything yet (last_frame is None): display it "
                          "and move a slider, or call .set(...).")
    return frame


def _value(tensor: object) -> float:
    return float(tensor.detach() if hasattr(tensor, "detach") else tensor)


def _vector(tensor: object) -> list[float]:
    return [float(v) for v in (tensor.detach() if hasattr(tensor, "detach") else tensor)]


def pile_up(cov: object, target: float = 1.0, tolerance: float = 0.2,
            height: float = 0.5) -> None:
    """Lesson 01: ``cov`` (a ``ChangeOfVariables1D``) shows a planar 1-D map whose p_x peaks
    above ``height`` within ``tolerance`` of x = ``target``. Reads ``cov.kind``, ``cov.layer``
    (``w``, ``b``, ``wtu_hat``) and ``cov.last_frame`` (``x``, ``density``, ``abs_det``).
    ``target`` must lie in the widget's x range, ``tolerance`` be > 0, ``height`` in (0, 10]."""
    instance_of(cov, "pile_up", "cov", "ChangeOfVariables1D", "the lesson's")
    lo, hi = cov.x_range
    target = a_number(target, "pile_up", "target", lo=lo, hi=hi)
    tolerance = a_number(tolerance, "pile_up", "tolerance", lo=0, lo_open=True)
    height = a_number(height, "pile_up", "height", lo=0, hi=10, lo_open=True)
    frame = _frame(cov, "the widget")
    kind = getattr(cov, "kind", None)
    if kind != "planar":
        _fail("pile_up", "not_planar", kind=kind)
    layer = cov.layer
    w, b, c = _vector(layer.w)[0], _value(layer.b), _value(layer.wtu_hat)
    density = np.asarray(frame.density, dtype=np.float64)
    i = int(np.argmax(density))
    xp, peak = float(np.asarray(frame.x)[i]), float(density[i])
    if c >= 0:
        _fail("pile_up", "stretches", c=c)
    zc = -b / w
    if abs(zc - target) > tolerance:
        _fail("pile_up", "mirror" if abs(zc + target) <= tolerance else "wrong_place",
              zc=zc, xp=xp)
    if peak < height or abs(xp - target) > tolerance:
        _fail("pile_up", "too_weak", zc=zc, fmin=1 + c, peak=peak, xp=xp, c=c)
    passed(f"p_x piles up at x = {xp:+.2f} (peak {peak:.2f}): the planar map squeezes there, "
           f"|f′| = {1 + c:.2f} at z = {zc:+.2f}.")


def fold_line(explorer: object, level: float = 1.0, tolerance: float = 0.1) -> None:
    """Lesson 02: ``explorer`` (a ``PlanarExplorer``) shows an unconstrained planar layer that
    folds the plane along the line x₂ = ``level``. Reads ``explorer.layer`` (``w``, ``u``,
    ``b``, ``constrain``, ``wtu_hat``) and ``explorer.last_frame.invertible``. ``level``
    must lie in the view's x₂ range, ``tolerance`` be > 0."""
    instance_of(explorer, "fold_line", "explorer", "PlanarExplorer", "the lesson's")
    lo, hi = explorer.bounds[1]
    level = a_number(level, "fold_line", "level", lo=lo, hi=hi)
    tolerance = a_number(tolerance, "fold_line", "tolerance", lo=0, lo_open=True)
    frame = _frame(explorer, "the explorer")
    layer = explorer.layer
    w1, w2 = _vector(layer.w)
    b, c = _value(layer.b), _value(layer.wtu_hat)
    if getattr(layer, "constrain", False):
        _fail("fold_line", "constrained", c=c)
    if c >= -1:
        _fail("fold_line", "no_fold", c=c)
    norm = math.hypot(w1, w2)
    if abs(w2) <= 0.05 * norm:
        _fail("fold_line", "along_x1", w1=w1, w2=w2, p1=-b / w1)
    if abs(w1) > 0.05 * norm:
        _fail("fold_line", "tilted", w1=w1, w2=w2)
    p = -b / w2
    if abs(p - level) > tolerance:
        _fail("fold_line", "wrong_side" if abs(p + level) <= tolerance else "wrong_place", p=p)
    if frame.invertible:
        raise CheckFailed("The parameters fold the plane, but the picture shows no fold yet: "
                          "let the explorer redraw (or call explorer.set(...)).")
    passed(f"The layer folds the plane along x₂ = {p:+.2f}: wᵀu = {c:+.2f} < −1, and the grey "
           "band of points with three preimages lies around that line.")


def mass_pushed_out(explorer: object, below: float = 0.9) -> None:
    """Lesson 03: ``explorer`` (a ``RadialExplorer``) shows one invertible radial layer
    (β̂ ≥ −α) with mass in view below ``below``, pushed out (β̂ > 0). Reads ``explorer.layer``
    (``z0``, ``alpha``, ``beta_hat``) and ``explorer.last_frame`` (``mass``, ``invertible``).
    With the constraint on, β̂ → −α never brings the readout below 0.9, so a pull cannot
    pass by a spike the grid undercounts. ``below`` is a share of the mass, in (0, 1]."""
    instance_of(explorer, "mass_pushed_out", "explorer", "RadialExplorer", "the lesson's")
    below = a_number(below, "mass_pushed_out", "below", lo=0, hi=1, lo_open=True)
    frame = _frame(explorer, "the explorer")
    layer = explorer.layer
    beta_hat, alpha = _value(layer.beta_hat), _value(layer.alpha)
    z0 = "(" + ", ".join(f"{v:+.2f}" for v in _vector(layer.z0)) + ")"
    mass = float(frame.mass)
    found = {"beta_hat": beta_hat, "neg_alpha": -alpha, "z0": z0, "mass": mass}
    if beta_hat < -alpha or not frame.invertible:
        _fail("mass_pushed_out", "fold", **found)
    if mass >= below or beta_hat <= 0:
        _fail("mass_pushed_out", "pulls_in" if beta_hat <= 0 else "too_weak", **found)
    passed(f"Mass in view {mass:.3f} < {below}: β̂ = {beta_hat:+.3f} > 0 pushes mass from "
           f"z₀ = {z0} out of the view.")


def area_kept(builder: object, layers: int = 5, tolerance: float = 0.011) -> None:
    """Lesson 04: ``builder`` (a ``FlowBuilder``) holds ``layers`` elementwise affine layers
    whose log-scales add up to 0 (so log|det J| = 0 and the peak is back at 1/2π), shown after
    the last layer. Reads ``builder.flow.layers`` (``log_scale``), ``builder.after_layer`` and
    ``builder.last_frame.peak``. ``layers`` is a count from 1 to 20, ``tolerance`` > 0."""
    instance_of(builder, "area_kept", "builder", "FlowBuilder", "the lesson's")
    layers = an_integer(layers, "area_kept", "layers", lo=1, hi=20)
    tolerance = a_number(tolerance, "area_kept", "tolerance", lo=0, lo_open=True)
    frame = _frame(builder, "the builder")
    stack = list(builder.flow.layers)
    if len(stack) != layers or not all(hasattr(ly, "log_scale") for ly in stack):
        _fail("area_kept", "stack_changed", n=len(stack),
              kinds=", ".join(type(ly).__name__ for ly in stack) or "none")
    k = int(builder.after_layer)
    if k < len(stack):
        _fail("area_kept", "not_at_end", k=k, n=len(stack))
    s1 = sum(_vector(ly.log_scale)[0] for ly in stack)
    s2 = sum(_vector(ly.log_scale)[1] for ly in stack)
    total, peak = s1 + s2, float(frame.peak)
    if abs(total) > tolerance:
        key = "one_coordinate" if min(abs(s1), abs(s2)) <= tolerance else "area_changed"
        _fail("area_kept", key, s1=s1, s2=s2, total=total, peak=peak)
    passed(f"The stack keeps area: its log-scales add up to {total:+.2f}, so log|det J| = 0, "
           f"and the peak is {peak:.4f} ≈ 1/2π.")
