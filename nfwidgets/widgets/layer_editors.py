"""Slider editors for one 2-D layer of each kind, and new layers that start near the identity.

Used by ``FlowBuilder``: each editor's widgets are built (and observed) once; selecting a layer
loads that layer's values into them, and a moved slider writes into the selected layer. No maths
here beyond reading parameters the engine exposes (û, wᵀû, β̂).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ipywidgets as W
import torch

from ..flows.affine import ElementwiseAffine
from ..flows.base import Layer
from ..flows.conditioners import SimpleConditioner
from ..flows.coupling import SCALE_RULES, AffineCoupling
from ..flows.planar import Planar
from ..flows.radial import Radial
from .planar import slider

__all__ = ["KINDS", "SPLITS", "LayerEditor", "kind_of", "layer_label", "new_layer"]

#: Layer kinds the builder can add: key → label of the "add" dropdown.
KINDS: dict[str, str] = {
    "planar": "planar",
    "radial": "radial",
    "coupling": "coupling (SimpleConditioner)",
    "affine": "elementwise affine",
}

#: Coupling splits in 2-D: key → (mask, label). Mask 1 marks the conditioning coordinate.
SPLITS: dict[str, tuple[tuple[int, int], str]] = {
    "x1->x2": ((1, 0), "x₁ conditions x₂"),
    "x2->x1": ((0, 1), "x₂ conditions x₁"),
}

# ln(e - 1): softplus of it is 1, so a constrained planar layer with wᵀu = ln(e-1) has wᵀû = 0.
_LN_E_MINUS_1 = math.log(math.e - 1.0)


def kind_of(layer: Layer) -> str | None:
    """The builder kind of a 2-D layer (``None`` for a layer the builder has no editor for)."""
    if getattr(layer, "dim", None) != 2:
        return None
    if isinstance(layer, Planar):
        return "planar"
    if isinstance(layer, Radial):
        return "radial"
    if isinstance(layer, AffineCoupling):
        return "coupling"
    if isinstance(layer, ElementwiseAffine):
        return "affine"
    return None


def _split_of(layer: AffineCoupling) -> str:
    return "x1->x2" if int(layer.mask[0]) == 1 else "x2->x1"


def layer_label(layer: Layer) -> str:
    """Short name for the layer list: "Planar", "Coupling x₁→x₂", ..."""
    kind = kind_of(layer)
    if kind == "coupling":
        return "Coupling x₁→x₂" if _split_of(layer) == "x1->x2" else "Coupling x₂→x₁"
    if kind == "affine":
        return "Affine"
    return type(layer).__name__


def new_layer(kind: str, previous: Sequence[Layer] = ()) -> Layer:
    """A fresh 2-D layer of ``kind`` close to the identity (so adding it never jolts the picture).

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
        split = "x1->x2"
        for layer in reversed(list(previous)):
            if kind_of(layer) == "coupling":
                split = "x2->x1" if _split_of(layer) == "x1->x2" else "x1->x2"
                break
        return AffineCoupling(list(SPLITS[split][0]),
                              SimpleConditioner(t_amplitude=0.3, t_frequency=1.5), scale="tanh")
    if kind == "affine":
        return ElementwiseAffine([-0.1, 0.1], [0.0, 0.0])
    raise ValueError(f"layer kind must be one of {sorted(KINDS)}; got {kind!r}")


@dataclass(frozen=True)
class _Param:
    """One control of an editor: its widget, default range, and how it reads/writes a layer."""

    name: str
    widget: W.ValueWidget
    get: Callable[[Layer], object]
    set: Callable[[Layer, object], Layer | None]  # returns a replacement layer, if any
    span: tuple[float, float] | None = None  # the slider's default range


def _entry(attr: str, index: int | None) -> tuple[Callable, Callable]:
    """Getter and setter of ``layer.<attr>[index]`` (or of the scalar ``layer.<attr>``)."""
    def get(layer: Layer) -> float:
        t = getattr(layer, attr).detach()
        return float(t if index is None else t[index])

    def set_(layer: Layer, value: object) -> None:
        p = getattr(layer, attr)
        with torch.no_grad():
            if index is None:
                p.fill_(float(value))
            else:
                p[index] = float(value)

    return get, set_


def _conditioner_entry(name: str) -> tuple[Callable, Callable]:
    def get(layer: AffineCoupling) -> float:
        return float(getattr(layer.conditioner, name).detach())

    def set_(layer: AffineCoupling, value: object) -> None:
        with torch.no_grad():
            getattr(layer.conditioner, name).fill_(float(value))

    return get, set_


def _set_alpha(layer: Radial, value: object) -> None:
    layer.alpha = float(value)  # the engine checks α > 0


def _set_constrain(layer: Layer, value: object) -> None:
    layer.constrain = bool(value)


def _set_scale(layer: AffineCoupling, value: object) -> None:
    if value not in SCALE_RULES:
        raise ValueError(f"scale rule must be one of {SCALE_RULES}; got {value!r}")
    layer.scale = str(value)


def _set_split(layer: AffineCoupling, value: object) -> AffineCoupling | None:
    """A coupling's mask fixes its index buffers: a new split means a new layer that shares the
    conditioner (its parameters, so the learner's slider values, carry over)."""
    if value not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}; got {value!r}")
    if value == _split_of(layer):
        return None
    new = AffineCoupling(list(SPLITS[value][0]), layer.conditioner, scale=layer.scale,
                         bound=layer.bound)
    return new.to(dtype=layer.mask.dtype, device=layer.mask.device)


def _wide(widget: W.FloatSlider, label_width: str = "80px") -> W.FloatSlider:
    widget.style.description_width = label_width
    widget.layout.width = "300px"
    return widget


def _params(kind: str) -> list[_Param]:
    """The controls of one kind (names without the ``layer.`` prefix)."""
    out: list[_Param] = []

    def add(name: str, widget: W.ValueWidget, getset: tuple[Callable, Callable],
            span: tuple[float, float] | None = None) -> None:
        out.append(_Param(name, widget, getset[0], getset[1], span))

    def add_slider(name: str, label: str, lo: float, hi: float, getset: tuple,
                   wide: bool = False) -> None:
        s = slider(label, 0.0 if lo <= 0 <= hi else lo, lo, hi)
        add(name, _wide(s) if wide else s, getset, (lo, hi))

    if kind == "planar":  # the ranges of PlanarExplorer
        for name, label, attr, i in (("w1", "w₁", "w", 0), ("w2", "w₂", "w", 1),
                                     ("u1", "u₁", "u", 0), ("u2", "u₂", "u", 1)):
            add_slider(name, label, -4, 4, _entry(attr, i))
        add_slider("b", "b", -3, 3, _entry("b", None))
        add("constrain", W.ToggleButton(value=True, description="constraint wᵀû ≥ −1",
                                        icon="lock", layout=W.Layout(width="200px")),
            (lambda layer: bool(layer.constrain), _set_constrain))
    elif kind == "radial":
        add_slider("z0_1", "z₀₁", -4, 4, _entry("z0", 0))
        add_slider("z0_2", "z₀₂", -4, 4, _entry("z0", 1))
        add_slider("alpha", "α", 0.05, 4, (lambda layer: float(layer.alpha.detach()),
                                           _set_alpha))
        add_slider("beta", "β", -3, 3, _entry("beta", None))
    elif kind == "coupling":
        add("split", W.Dropdown(options=[(label, key) for key, (_, label) in SPLITS.items()],
                                description="split", layout=W.Layout(width="260px"),
                                style={"description_width": "80px"}),
            (_split_of, _set_split))
        add("scale", W.Dropdown(options=list(SCALE_RULES), description="scale rule",
                                layout=W.Layout(width="260px"),
                                style={"description_width": "80px"}),
            (lambda layer: layer.scale, _set_scale))
        for name, lo, hi in (("s_slope", -2, 2), ("s_shift", -2, 2), ("t_amplitude", -3, 3),
                             ("t_frequency", 0, 4), ("t_shift", -3, 3)):
            add_slider(name, name.replace("_", " "), lo, hi, _conditioner_entry(name), True)
    elif kind == "affine":
        add_slider("log_scale1", "log s₁", -2, 2, _entry("log_scale", 0), True)
        add_slider("log_scale2", "log s₂", -2, 2, _entry("log_scale", 1), True)
        add_slider("shift1", "shift₁", -3, 3, _entry("shift", 0), True)
        add_slider("shift2", "shift₂", -3, 3, _entry("shift", 1), True)
    else:
        raise ValueError(f"layer kind must be one of {sorted(KINDS)}; got {kind!r}")
    return out


class LayerEditor:
    """The controls of one layer kind, built once and re-used for every layer of that kind.

    Arguments:
        kind: one of ``KINDS``.
        on_edit: called as ``on_edit(kind, name, change)`` (``change`` is the traitlets change
            dict) when a control changes; the owner decides whether to apply it (it ignores the
            changes made by ``load`` and the browser's snapping, see ``slider_snap``).
    """

    def __init__(self, kind: str, on_edit: Callable[[str, str, dict], None]) -> None:
        self.kind = kind
        self.params = {p.name: p for p in _params(kind)}
        self.widgets: dict[str, W.ValueWidget] = {n: p.widget for n, p in self.params.items()}
        for name, widget in self.widgets.items():
            widget.add_class(f"nfw-control-layer-{name}")
            widget.observe(lambda change, name=name: on_edit(kind, name, change), "value")
        self.note = W.HTML()
        w = self.widgets
        if kind == "planar":
            rows = [W.HBox([W.VBox([w["w1"], w["w2"]]), W.VBox([w["u1"], w["u2"]])]),
                    W.HBox([w["b"], w["constrain"]])]
        elif kind == "radial":
            rows = [W.HBox([W.VBox([w["z0_1"], w["z0_2"]]), W.VBox([w["alpha"], w["beta"]])])]
        elif kind == "coupling":
            self._sliders = W.VBox([w[n] for n in SimpleConditioner.PARAMETERS])
            rows = [W.HBox([w["split"], w["scale"]]), self._sliders]
        else:
            rows = [W.HBox([W.VBox([w["log_scale1"], w["log_scale2"]]),
                            W.VBox([w["shift1"], w["shift2"]])])]
        self.box = W.VBox([*rows, self.note])

    def active(self, layer: Layer) -> dict[str, W.ValueWidget]:
        """The controls that apply to ``layer`` (a coupling with an MLP conditioner has no
        conditioner sliders)."""
        if self.kind == "coupling" and not isinstance(layer.conditioner, SimpleConditioner):
            return {n: self.widgets[n] for n in ("split", "scale")}
        return dict(self.widgets)

    def load(self, layer: Layer) -> None:
        """Show ``layer``'s values (a slider's range widens to hold a value outside it)."""
        active = self.active(layer)
        for name, widget in active.items():
            p = self.params[name]
            value = p.get(layer)
            if p.span is None:
                widget.value = value
                continue
            lo, hi = p.span
            if math.isfinite(value):
                lo, hi = min(lo, value), max(hi, value)
            else:
                value = widget.value
            with widget.hold_sync():
                if lo > widget.max:
                    widget.max, widget.min = hi, lo
                else:
                    widget.min, widget.max = lo, hi
                widget.value = value
        if self.kind == "coupling":
            mlp = len(active) < len(self.widgets)
            self._sliders.layout.display = "none" if mlp else None
            self.note.value = ("<i>This coupling's conditioner is a neural network: its "
                               "weights have no sliders (train it instead).</i>" if mlp else "")

    def apply(self, layer: Layer, name: str, value: object) -> Layer | None:
        """Write control ``name`` into ``layer``; returns a replacement layer when the change
        needs a new layer object (a coupling's split), else ``None``."""
        if name not in self.active(layer):
            raise ValueError(f"{self.kind} layer has no control {name!r}; allowed: "
                             f"{sorted(self.active(layer))}")
        return self.params[name].set(layer, value)

    def describe(self, layer: Layer) -> str:
        """One line of derived values for the readout (engine properties, no maths)."""
        if self.kind == "planar":
            u_hat = layer.u_hat.detach().tolist()
            c = float(layer.wtu_hat.detach())
            return (f"û = ({u_hat[0]:+.3f}, {u_hat[1]:+.3f}) · wᵀû = <b>{c:+.3f}</b>"
                    + ("" if layer.constrain else " · constraint <b>off</b>"))
        if self.kind == "radial":
            a, b = float(layer.alpha.detach()), float(layer.beta_hat.detach())
            return f"α = {a:.3f} · β̂ = <b>{b:+.3f}</b> (β̂ ≥ −α keeps it invertible)"
        if self.kind == "coupling":
            mask = SPLITS[_split_of(layer)][1]
            return f"{mask} · scale rule <b>{layer.scale}</b> (bound {layer.bound:g})"
        ref = layer.log_scale
        with torch.no_grad():  # the engine's log-det (constant for this layer)
            _, log_det = layer(torch.zeros(1, 2, dtype=ref.dtype, device=ref.device))
        s = ref.detach().tolist()
        return (f"log-scales s = ({s[0]:+.3f}, {s[1]:+.3f}) · "
                f"log|det J| = Σ s = <b>{float(log_det[0]):+.3f}</b>")
