"""The controls of each layer kind, in one table, and how a control reads and writes a layer.

Every widget that edits a layer builds its controls from ``controls_for(kind, dim)``: the
explorers (``PlanarExplorer``, ``RadialExplorer``, ``CouplingExplorer``), ``FlowBuilder``'s
layer editors and ``ChangeOfVariables1D``'s 1-D maps, so names, ranges, steps and readouts agree
everywhere. Torch only (no widgets): ``read`` and ``write`` go through the engine's parameters
and properties, so the engine's own checks (α > 0, a known scale rule) apply.

Ranges are teaching ranges. Radial β spans −5..5 and α 0.05..4: with the constraint off, β < −α
is reachable for every α on its slider (the fold can always be shown), and with it on,
β̂ = −α + softplus(β) comes within 0.01 of its limit −α at β = −5 (softplus(−5) ≈ 0.007).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ._checks import shown
from .flows.affine import ElementwiseAffine
from .flows.base import Layer
from .flows.conditioners import SimpleConditioner
from .flows.coupling import SCALE_RULES, AffineCoupling
from .flows.planar import Planar
from .flows.radial import Radial

__all__ = ["LAYER_KIND_LABELS", "SPLITS", "ControlSpec", "controls_for", "kind_of",
           "layer_label", "new_layer", "read", "split_of", "write"]

#: Layer kinds with controls: kind → the label a learner sees (FlowBuilder's "add" menu).
LAYER_KIND_LABELS: dict[str, str] = {
    "planar": "planar",
    "radial": "radial",
    "coupling": "coupling (SimpleConditioner)",
    "affine": "elementwise affine",
}

#: A 2-D coupling's split: the label a learner sees → mask (1 marks the conditioning coordinate).
SPLITS: dict[str, tuple[int, int]] = {"x₁ conditions x₂": (1, 0), "x₂ conditions x₁": (0, 1)}

_SUB = "₁₂₃₄₅₆₇₈₉"


@dataclass(frozen=True)
class ControlSpec:
    """One control of a layer.

    Attributes:
        name: the control's name (``FlowBuilder`` shows it as ``"layer." + name``).
        label: what the learner reads next to it.
        target: the layer attribute it edits (``"conditioner.s_slope"`` for a conditioner's).
        index: the entry of a vector parameter (``None``: the attribute itself).
        widget: ``"slider"``, ``"log_slider"`` (positive values, logarithmic steps),
            ``"toggle"`` (a bool) or ``"choice"`` (one of ``options``).
        lo, hi: the slider's range (it widens to hold a layer's value outside it).
        step: the slider's step (of the exponent for a log slider).
        readout: format of the shown value.
        options: the values of a choice.
        axis: for a point the learner can also drag on the plot: the view axis (0: x, 1: y)
            whose bounds replace ``lo, hi``.
    """

    name: str
    label: str
    target: str
    index: int | None = None
    widget: str = "slider"
    lo: float = 0.0
    hi: float = 1.0
    step: float = 0.05
    readout: str = ".2f"
    options: tuple[str, ...] = ()
    axis: int | None = None

    def span(self, value: float | None = None,
             bounds: Sequence[Sequence[float]] | None = None) -> tuple[float, float]:
        """The slider's range: ``lo, hi`` (or the view's axis), widened to hold ``value``."""
        lo, hi = (float(bounds[self.axis][0]), float(bounds[self.axis][1])) if (
            self.axis is not None and bounds is not None) else (self.lo, self.hi)
        if value is not None and math.isfinite(value):
            lo, hi = min(lo, value), max(hi, value)
        return lo, hi


def _vector(param: str, label: str, dim: int, lo: float, hi: float, *,
            point: bool = False) -> list[ControlSpec]:
    """One slider per entry: ``w`` in 1-D, ``w1, w2`` in 2-D (``z0_1``: a digit needs a "_")."""
    if dim == 1:
        return [ControlSpec(param, label, param, 0, lo=lo, hi=hi, axis=0 if point else None)]
    sep = "_" if param[-1].isdigit() else ""
    return [ControlSpec(f"{param}{sep}{i + 1}", label + _SUB[i], param, i, lo=lo, hi=hi,
                        axis=i if point else None) for i in range(dim)]


def _constrain(text: str) -> ControlSpec:
    return ControlSpec("constrain", f"constraint {text}", "constrain", widget="toggle")


def controls_for(kind: str, dim: int = 2) -> tuple[ControlSpec, ...]:
    """The controls of a ``dim``-D layer of ``kind`` (a key of ``LAYER_KIND_LABELS``)."""
    if kind not in LAYER_KIND_LABELS:
        raise ValueError(f"layer kind must be one of {sorted(LAYER_KIND_LABELS)}"
                         f"; got {shown(kind)}")
    if not (isinstance(dim, int) and 1 <= dim <= len(_SUB)):
        raise ValueError(f"dim must be an integer in [1, {len(_SUB)}]; got {shown(dim)}")
    if kind == "planar":
        return (*_vector("w", "w", dim, -4.0, 4.0), *_vector("u", "u", dim, -4.0, 4.0),
                ControlSpec("b", "b", "b", lo=-3.0, hi=3.0), _constrain("wᵀû ≥ −1"))
    if kind == "radial":
        return (*_vector("z0", "z₀", dim, -4.0, 4.0, point=True),
                ControlSpec("alpha", "α", "alpha", widget="log_slider", lo=0.05, hi=4.0,
                            step=0.01, readout=".3g"),
                ControlSpec("beta", "β", "beta", lo=-5.0, hi=5.0), _constrain("β̂ ≥ −α"))
    if kind == "affine":
        return (*_vector("log_scale", "s", dim, -2.0, 2.0),
                *_vector("shift", "t", dim, -3.0, 3.0))
    if dim != 2:
        raise ValueError(f"coupling controls exist for 2-D layers only; got dim={dim!r}")
    return (ControlSpec("split", "split", "split", widget="choice", options=tuple(SPLITS)),
            ControlSpec("scale", "scale rule", "scale", widget="choice", options=SCALE_RULES),
            *(ControlSpec(name, name.replace("_", " "), f"conditioner.{name}", lo=lo, hi=hi)
              for name, lo, hi in (("s_slope", -2.0, 2.0), ("s_shift", -2.0, 2.0),
                                   ("t_amplitude", -3.0, 3.0), ("t_frequency", 0.0, 4.0),
                                   ("t_shift", -3.0, 3.0))))


def kind_of(layer: Layer) -> str | None:
    """The kind of a 2-D layer (``None`` for a layer without controls)."""
    if getattr(layer, "dim", None) != 2:
        return None
    for kind, cls in (("planar", Planar), ("radial", Radial), ("coupling", AffineCoupling),
                      ("affine", ElementwiseAffine)):
        if isinstance(layer, cls):
            return kind
    return None


def layer_label(layer: Layer) -> str:
    """Short name for a list of layers: "Planar", "Coupling x₁→x₂", "Affine", ..."""
    kind = kind_of(layer)
    if kind == "coupling":
        return "Coupling x₁→x₂" if split_of(layer) == next(iter(SPLITS)) else "Coupling x₂→x₁"
    if kind == "affine":
        return "Affine"
    return type(layer).__name__


def split_of(layer: AffineCoupling) -> str:
    """The ``SPLITS`` label of a 2-D coupling layer."""
    mask = tuple(int(v) for v in layer.mask.tolist())
    return next(label for label, m in SPLITS.items() if m == mask)


def _owner(layer: Layer, spec: ControlSpec) -> tuple[object, str]:
    head, _, attr = spec.target.rpartition(".")
    return (getattr(layer, head) if head else layer), attr


def read(layer: Layer, spec: ControlSpec) -> object:
    """The value control ``spec`` shows for ``layer``."""
    if spec.target == "split":
        return split_of(layer)
    owner, attr = _owner(layer, spec)
    value = getattr(owner, attr)
    if not isinstance(value, torch.Tensor):
        return value
    value = value.detach()
    return float(value if spec.index is None else value[spec.index])


def write(layer: Layer, spec: ControlSpec, value: object) -> Layer | None:
    """Write ``value`` into ``layer``; returns a new layer when the change needs one (a
    coupling's split fixes its index buffers), else ``None``. Bad values raise ValueError."""
    if spec.widget == "choice" and value not in spec.options:
        raise ValueError(f"{spec.name} must be one of {list(spec.options)}; got {shown(value)}")
    if spec.target == "split":
        if value == split_of(layer):
            return None
        new = AffineCoupling(list(SPLITS[value]), layer.conditioner, scale=layer.scale,
                             bound=layer.bound)  # shares the conditioner: its values carry over
        return new.to(dtype=layer.mask.dtype, device=layer.mask.device)
    owner, attr = _owner(layer, spec)
    if spec.widget == "toggle":
        setattr(owner, attr, bool(value))
    elif spec.widget == "choice" or isinstance(getattr(type(owner), attr, None), property):
        setattr(owner, attr, value if spec.widget == "choice" else float(value))  # checked
    else:
        p = getattr(owner, attr)
        with torch.no_grad():
            if spec.index is None:
                p.fill_(float(value))
            else:
                p[spec.index] = float(value)
    return None


def new_layer(kind: str, previous: Sequence[Layer] = ()) -> Layer:
    """A fresh 2-D layer of ``kind`` close to the identity (float32), to add to a stack.

    planar: w = (1, 0), u = (0.75, 0.25): û = (0.14, 0.25), log|det J| ≤ 0.14.
    radial: z₀ = 0, α = 1, β = 0.7: β̂ = softplus(0.7) - 1 ≈ 0.10.
    coupling: a sine bend of amplitude 0.3, scale 1; its split is the opposite of the nearest
    coupling in ``previous`` (stacked couplings must alternate), else x₁ conditions x₂.
    affine: log-scales (-0.1, 0.1), no shift.
    """
    if kind == "planar":
        return Planar([1.0, 0.0], [0.75, 0.25], 0.0)
    if kind == "radial":
        return Radial([0.0, 0.0], alpha=1.0, beta=0.7)
    if kind == "coupling":
        first, second = SPLITS
        split = first
        for layer in reversed(list(previous)):
            if kind_of(layer) == "coupling":
                split = second if split_of(layer) == first else first
                break
        return AffineCoupling(list(SPLITS[split]),
                              SimpleConditioner(t_amplitude=0.3, t_frequency=1.5), scale="tanh")
    if kind == "affine":
        return ElementwiseAffine([-0.1, 0.1], [0.0, 0.0])
    raise ValueError(f"layer kind must be one of {sorted(LAYER_KIND_LABELS)}; got {shown(kind)}")
