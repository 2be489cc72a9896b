"""``LayerEditor``: the controls of one layer kind in ``FlowBuilder``, from the spec table.

Each editor's widgets are built (and observed) once from ``layer_controls.controls_for(kind)``,
the table the explorers use too; selecting a layer loads that layer's values into them, and a
moved control writes into the selected layer (``layer_controls.write``). No maths here.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as W

from ..flows.base import Layer
from ..flows.conditioners import SimpleConditioner
from ..layer_controls import ControlSpec, controls_for, read, write
from .controls import controls_box, make_control, show_value

__all__ = ["LayerEditor"]


class LayerEditor:
    """The controls of one layer kind, built once and re-used for every layer of that kind.

    Arguments:
        kind: a key of ``layer_controls.LAYER_KIND_LABELS``.
        on_edit: called as ``on_edit(kind, name, change)`` (``change`` is the traitlets change
            dict) when a control changes; the owner decides whether to apply it (it ignores the
            changes made by ``load`` and the browser's snapping, see ``slider_snap``).
        on_error: called with the ``ValueError`` of a value typed into a slider's text box
            that the slider cannot take (the owner shows it).

    Attributes:
        specs: control name (without ``FlowBuilder``'s ``layer.`` prefix) → ``ControlSpec``.
        widgets: control name → widget; their CSS class is ``control_class("layer." + name)``.
        box: the editor's layout.
    """

    def __init__(self, kind: str, on_edit: Callable[[str, str, dict], None],
                 on_error: Callable[[BaseException], None] | None = None) -> None:
        self.kind = kind
        self.specs: dict[str, ControlSpec] = {s.name: s for s in controls_for(kind, 2)}
        self.widgets: dict[str, W.ValueWidget] = {}
        for name, spec in self.specs.items():
            start = (spec.options[0] if spec.options else True if spec.widget == "toggle"
                     else min(max(1.0 if spec.widget == "log_slider" else 0.0, spec.lo),
                              spec.hi))  # until a layer is loaded
            widget = make_control(spec, start, name=f"layer.{name}", on_error=on_error)
            widget.observe(lambda change, name=name: on_edit(kind, name, change), "value")
            self.widgets[name] = widget
        self.note = W.HTML()
        self.box = controls_box(list(self.specs.values()), self.widgets)
        if kind == "coupling":  # the conditioner's sliders hide for an MLP conditioner
            self._sliders = self.box.children[-1]
        self.box.children = (*self.box.children, self.note)

    def active(self, layer: Layer) -> dict[str, W.ValueWidget]:
        """The controls that apply to ``layer`` (a coupling with an MLP conditioner has no
        conditioner sliders)."""
        if self.kind == "coupling" and not isinstance(layer.conditioner, SimpleConditioner):
            return {n: w for n, w in self.widgets.items()
                    if not self.specs[n].target.startswith("conditioner.")}
        return dict(self.widgets)

    def value(self, layer: Layer, name: str) -> object:
        """What control ``name`` shows for ``layer``."""
        return read(layer, self.specs[name])

    def load(self, layer: Layer) -> None:
        """Show ``layer``'s values (a slider's range widens to hold a value outside it)."""
        active = self.active(layer)
        for name, widget in active.items():
            show_value(widget, self.specs[name], self.value(layer, name))
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
        return write(layer, self.specs[name], value)
