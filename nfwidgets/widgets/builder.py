"""``FlowBuilder``: build a stack of layers, edit each one with sliders, scrub "after layer k"."""

from __future__ import annotations

import html

import ipywidgets as W
import torch

from .._checks import is_integer, shown
from ..flows.base import StandardNormal
from ..flows.compose import Flow
from ..flows.planar import Planar
from ..grid import Bounds
from ..layer_controls import LAYER_KIND_LABELS, controls_for, kind_of, layer_label, new_layer
from ..view_2d import PrefixView
from ._lifetime import builds_widgets
from .base import Explorer
from .controls import control_row, typed_slider
from .layer_editors import LayerEditor
from .readouts import describe
from .slider_snap import is_display_snap
from .stack_presets import PRESET_LABELS, preset_layers, resolve_preset

__all__ = ["DEFAULT_PRESET", "FlowBuilder"]

#: The stack a ``FlowBuilder()`` opens with.
DEFAULT_PRESET = "mixed_8"


class FlowBuilder(Explorer):
    r"""Build a flow ``x = f_K ∘ … ∘ f_1(z)`` layer by layer and watch its exact density.

    .. math:: \log p_x(x) = \log p_z(z) - \sum_{k=1}^{K} \log|\det J_{f_k}(z_{k-1})|,
              \qquad z_k = f_k(z_{k-1}),

    (Rezende & Mohamed 2015, "Variational Inference with Normalizing Flows", arXiv:1505.05770,
    eq. 7). The "show after layer" scrubber draws the flow of the first k layers
    (``flow.truncated(k)``), so one can watch the density being built.

    Structural edits change ``self.flow.layers`` (an ``nn.ModuleList``) in place: ``self.flow``
    stays the same object, and the selected layer, the slider values and the scrubber are kept
    where that makes sense (a scrubber at the end follows the end).

    Controls (``.controls``):
        ``"layers"`` (Select: the stack, value = 0-based index of the selected layer),
        ``"add_kind"`` (Dropdown: ``"planar"``, ``"radial"``, ``"coupling"``, ``"affine"``),
        ``"add"`` (Button: insert a near-identity layer of that kind after the selection),
        ``"remove"``, ``"up"``, ``"down"`` (Buttons, on the selected layer),
        ``"after_layer"`` (IntSlider 0..K), ``"preset"`` (Dropdown: ``"custom"`` plus the keys
        of ``stack_presets.PRESETS``), and the selected layer's parameters, present only while a
        layer of that kind is selected:

        - planar: ``layer.w1``, ``layer.w2``, ``layer.u1``, ``layer.u2``, ``layer.b``,
          ``layer.constrain``;
        - radial: ``layer.z0_1``, ``layer.z0_2``, ``layer.alpha`` (> 0), ``layer.beta``
          (raw; β̂ = -α + softplus(β)), ``layer.constrain``;
        - coupling: ``layer.split`` (a ``layer_controls.SPLITS`` label), ``layer.scale``
          (a ``SCALE_RULES`` name) and, for a ``SimpleConditioner``, ``layer.s_slope``,
          ``layer.s_shift``, ``layer.t_amplitude``, ``layer.t_frequency``, ``layer.t_shift``;
        - affine: ``layer.log_scale1``, ``layer.log_scale2``, ``layer.shift1``, ``layer.shift2``.

        These are the controls of ``layer_controls.controls_for(kind)``, as in the explorers.

    One user action redraws once (selecting a layer, choosing the kind to add, or a button that
    cannot act, e.g. "up" on the first layer, redraws nothing). From code, ``set(**values)``
    (structural controls) and ``edit_layer(index, **values)`` (one layer's controls, named
    without the prefix) change several controls and redraw once, synchronously.

    Arguments:
        flow: a 2-D ``Flow`` to edit (converted to float32 in place); or
        preset: a preset key or label (default ``"mixed_8"``); give one of the two.
        **explorer_kwargs: passed to ``Explorer`` (bounds, resolution, redraw_delay, ...).
    """

    css_class = "nfw-flow-builder"

    @builds_widgets
    def __init__(self, flow: Flow | None = None, preset: str | None = None,
                 **explorer_kwargs: object) -> None:
        if flow is not None and (not isinstance(flow, Flow) or flow.dim != 2):
            raise ValueError(f"flow must be a 2-D nfwidgets Flow or None; got {shown(flow)}")
        preset_key = resolve_preset(preset) if preset is not None else None
        if flow is not None and preset is not None:
            raise ValueError("FlowBuilder: give a flow or a preset, not both; got "
                             f"flow={type(flow).__name__} and preset={preset!r}")
        if flow is None:
            preset_key = preset_key or DEFAULT_PRESET
            flow = Flow(preset_layers(preset_key), base=StandardNormal(2))
        else:
            preset_key = "custom"
        flow.to(torch.float32)
        self._selected: int | None = 0 if len(flow) else None
        self._listed: list = []  # the layer objects the list shows (set by _refresh)
        self._after = len(flow)
        super().__init__(flow, **explorer_kwargs)
        self.editors = {kind: LayerEditor(kind, self._on_layer_edit, self._show_error)
                        for kind in LAYER_KIND_LABELS}
        box = W.Layout
        self._bind("layers", W.Select(options=[], rows=9, layout=box(width="190px")),
                   self._on_select, redraw=False)
        self._bind("add_kind", W.Dropdown(options=[(v, k) for k, v in LAYER_KIND_LABELS.items()],
                                          value="planar", layout=box(width="190px")),
                   lambda _value: None, redraw=False)
        buttons = {"add": ("add", "plus", "insert a new layer (close to the identity) after "
                                          "the selected one"),
                   "remove": ("remove", "trash", "remove the selected layer"),
                   "up": ("up", "arrow-up", "move the selected layer one step earlier"),
                   "down": ("down", "arrow-down", "move the selected layer one step later")}
        actions = {"add": self._add, "remove": self._remove,
                   "up": lambda: self._move(-1), "down": lambda: self._move(+1)}
        for name, (label, icon, tip) in buttons.items():
            button = W.Button(description=label, icon=icon, tooltip=tip,
                              layout=box(width="92px"))
            self._bind(name, button, lambda _none, act=actions[name]: act(), redraw=False)
        self._bind("after_layer", typed_slider(W.IntSlider(
            value=self._after, min=0, max=len(flow), description="show after layer",
            continuous_update=True, style={"description_width": "110px"},
            layout=box(width="420px"))), self._on_after, redraw=False)
        options = [("custom stack", "custom")] + [(v, k) for k, v in PRESET_LABELS.items()]
        self._bind("preset", W.Dropdown(options=options, value=preset_key,
                                           description="preset",
                                           style={"description_width": "50px"},
                                           layout=box(width="300px")),
                   self._on_preset, redraw=False)
        self.editor_area = W.VBox(layout=box(border="1px solid #ddd", padding="4px",
                                             min_width="420px"))
        self.editor_area.add_class("nfw-layer-editor")
        self.params = W.HTML()
        self.params.add_class("nfw-params")
        c = self.controls
        structure = W.VBox([c["add_kind"], W.HBox([c["add"], c["remove"]]),
                            W.HBox([c["up"], c["down"]])])
        self._layout([W.HBox([c["layers"], structure, W.VBox([self.params, self.editor_area])]),
                      W.HBox([control_row(c["after_layer"]), c["preset"]])])
        self._refresh()
        self.redraw()

    # --- wiring ------------------------------------------------------------------------------
    def _make_view(self, flow: Flow, bounds: Bounds, resolution: int, n_samples: int,
                   seed: int) -> PrefixView:
        return PrefixView(flow, bounds, resolution, n_samples=n_samples, seed=seed)

    @property
    def selected_layer(self) -> int | None:
        """0-based index of the layer whose sliders are shown (``None`` for an empty stack)."""
        return self._selected

    @property
    def after_layer(self) -> int:
        """k: the plots show the flow of the first k layers."""
        return self._after

    def edit_layer(self, index: int, **values: object) -> None:
        """Select layer ``index`` (0-based) and set its controls, named without the ``layer.``
        prefix, then redraw once, synchronously: ``builder.edit_layer(2, t_amplitude=1.0)``.
        A refused value raises ``ValueError`` and changes nothing, not even the selection."""
        if not (is_integer(index) and 0 <= index < len(self.flow.layers)):
            raise ValueError(f"index must be an integer in [0, {len(self.flow.layers) - 1}]; "
                             f"got {shown(index)}")
        kind = kind_of(self.flow.layers[index])
        allowed = sorted(s.name for s in controls_for(kind)) if kind else []
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise ValueError(f"layer {index + 1} ({layer_label(self.flow.layers[index])}) "
                             f"has no control(s) {unknown}; it has {allowed}")
        selected = self.controls["layers"].value
        with self.scheduler.mute():  # set() below draws once
            self.controls["layers"].value = int(index)
        try:  # the values are checked (and refused with ValueError) as set() checks a control
            self.set(**{f"layer.{name}": value for name, value in values.items()})
        except ValueError:  # refused: nothing changed, so the selection does not move either
            with self.scheduler.mute():
                self.controls["layers"].value = selected
            raise

    # --- user actions ------------------------------------------------------------------------
    def _on_select(self, index: int | None) -> None:
        self._selected = index
        self._refresh()  # no redraw: the picture does not depend on the selection

    def _add(self) -> None:
        layers = self.flow.layers
        at = len(layers) if self._selected is None else self._selected + 1
        ref = self._reference()
        layer = new_layer(self.controls["add_kind"].value, previous=list(layers)[:at])
        layers.insert(at, layer.to(dtype=ref.dtype, device=ref.device))
        if self._after == len(layers) - 1 or at < self._after:
            self._after += 1  # at the end: follow it; else keep showing the same old layers
        self._selected = at
        self._structure_changed()

    def _remove(self) -> None:
        i = self._selected
        if i is None:
            return
        layers = self.flow.layers
        at_end = self._after == len(layers)
        del layers[i]
        if at_end or i < self._after:
            self._after -= 1
        self._selected = min(i, len(layers) - 1) if len(layers) else None
        self._structure_changed()

    def _move(self, step: int) -> None:
        i = self._selected
        if i is None or not 0 <= i + step < len(self.flow.layers):
            return
        layers = self.flow.layers
        j = i + step
        a, b = layers[i], layers[j]
        layers[i], layers[j] = b, a
        self._selected = j
        self._structure_changed()

    def _on_preset(self, key: str) -> None:
        if key == "custom":
            return
        layers = self.flow.layers
        ref = self._reference()
        del layers[:]
        layers.extend(layer.to(dtype=ref.dtype, device=ref.device)
                      for layer in preset_layers(key))
        self._selected = 0 if len(layers) else None
        self._after = len(layers)
        self._structure_changed(preset=key)

    def _on_after(self, value: int) -> None:
        self._after = int(value)
        self.scheduler.request()  # no parameter changed: the view shows another prefix

    def _on_layer_edit(self, kind: str, name: str, change: dict) -> None:
        if self._quiet or self._selected is None:
            return
        i = self._selected
        layer = self.flow.layers[i]
        editor = self.editors.get(kind_of(layer))
        if editor is None or editor.kind != kind or name not in editor.active(layer):
            return  # a late browser message from an editor that is no longer shown
        value = change["new"]
        if is_display_snap(change, editor.value(layer, name)):
            return  # the browser put the shown value on the slider's steps: not an edit
        try:
            replacement = editor.apply(layer, name, value)
        except Exception as err:  # shown to the learner; the control snaps back
            self._show_error(err)
            with self._quietly():
                editor.load(layer)
            return
        if replacement is not None:
            self.flow.layers[i] = replacement
            self._refresh()
        self._mark_custom()
        self._engine_changed(i)

    def _structure_changed(self, preset: str | None = None) -> None:
        self._refresh()
        if preset is None:
            self._mark_custom()
        self._engine_changed(None)  # layers moved: every cached stage may be stale

    def _mark_custom(self) -> None:
        with self._quietly():
            self.controls["preset"].value = "custom"

    def _reference(self) -> torch.Tensor:
        """A tensor in the flow's dtype and device (new layers are created to match)."""
        for t in (*self.flow.parameters(), *self.flow.buffers()):
            if t.is_floating_point():
                return t
        return torch.zeros((), dtype=torch.float32)

    # --- keeping the widgets in step with the stack ------------------------------------------
    def _refresh(self) -> None:
        """Show the current stack: list, scrubber, buttons, the selected layer's editor and the
        ``layer.*`` controls. Widget updates here are programmatic (no action, no redraw)."""
        layers = list(self.flow.layers)
        self._listed = layers  # the layer objects shown (a same-length swap is noticed too)
        n = len(layers)
        if self._selected is not None and not 0 <= self._selected < n:
            self._selected = n - 1 if n else None
        self._after = max(0, min(self._after, n))
        c = self.controls
        with self._quietly():
            options = [(f"{k + 1} · {layer_label(layer)}", k) for k, layer in enumerate(layers)]
            select = c["layers"]
            with select.hold_sync():
                if list(select.options) != options:
                    select.options = options
                select.value = self._selected
            scrub = c["after_layer"]
            with scrub.hold_sync():
                if scrub.max < self._after:
                    scrub.max, scrub.value = n, self._after
                else:
                    scrub.value, scrub.max = self._after, n
            i = self._selected
            c["remove"].disabled = i is None
            c["up"].disabled = i is None or i == 0
            c["down"].disabled = i is None or i == n - 1
            for name in [k for k in c if k.startswith("layer.")]:
                del c[name]
            layer = layers[i] if i is not None else None
            editor = self.editors.get(kind_of(layer)) if layer is not None else None
            if editor is not None:
                editor.load(layer)
                for name, widget in editor.active(layer).items():
                    c[f"layer.{name}"] = widget
                children = (editor.box,)
            else:
                children = ()
            if self.editor_area.children != children:
                self.editor_area.children = children
        self._update_params()

    def _update_params(self) -> None:
        i = self._selected
        n = len(self.flow.layers)
        if i is None:
            text = "The stack is empty: choose a kind of layer and press <b>add</b>."
        else:
            layer = self.flow.layers[i]
            editor = self.editors.get(kind_of(layer))
            head = f"<b>layer {i + 1} of {n}</b> · {html.escape(layer_label(layer))}"
            if editor is None:
                text = f"{head} · no sliders for this kind of layer"
            else:
                derived = (self.view.planar_parameters(layer) if isinstance(layer, Planar)
                           else None)  # the û and wᵀû the pictures use, derived once
                text = f"{head} · {describe(layer, derived)}"
        if self.params.value != text:
            self.params.value = text

    # --- hooks of Explorer -------------------------------------------------------------------
    def _before_redraw(self) -> None:
        if list(self.flow.layers) != self._listed:
            self._refresh()  # the stack was edited behind the widget's back (flow.layers...)
        self.view.after = self._after
        self._update_params()
        for k, layer in enumerate(list(self.flow.layers)[:self._after]):
            reason = layer.why_not_invertible()
            if reason is not None:
                self.show_warning(
                    f"⚠ layer {k + 1} ({html.escape(layer_label(layer))}) is <b>not "
                    f"invertible</b>: {html.escape(reason)}. Points with several preimages are "
                    "grey: the flow's formula, which follows one preimage back, does not "
                    "give p(x) there.")
                return
        self.show_warning(None)

    def _readout_extra(self) -> str:
        n = len(self.flow.layers)
        if self._after == n:
            return f"showing <b>all {n}</b> layers"
        return f"showing the first <b>{self._after}</b> of {n} layers"
