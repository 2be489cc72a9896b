"""The TrainingDashboard's controls: building its widgets and what each control does."""

from __future__ import annotations

import math
from collections.abc import Callable

import ipywidgets as W

from ..plots import FieldPanel, lines_mark, points_mark
from ..train import MaximumLikelihood, ReverseKL
from ..training_setup import FLOW_KINDS, TARGETS
from ._training_loop import MAX_STEPS
from ._training_plots import LossPanel
from .controls import control_row, typed_slider

__all__ = ["GIVEN", "MAX_LAYERS", "MAX_STEPS", "TrainingControls"]

#: The flow kind of a flow (or FlowBuilder stack) handed to the dashboard.
GIVEN = "given"
#: Batch sizes offered (a given size is added to them).
BATCH_SIZES = (16, 32, 64, 128, 256, 512, 1024, 2048)
#: Largest K of a built flow (the "layers" slider's end).
MAX_LAYERS = 32


def _button(label: str, icon: str, tip: str, width: str = "88px") -> W.Button:
    return W.Button(description=label, icon=icon, tooltip=tip, layout=W.Layout(width=width))


class TrainingControls:
    """Mixin of ``TrainingDashboard``: builds the controls, figures and readouts
    (``_build_widgets``) and applies control changes (``_set_*``); the dashboard provides the
    settings, ``_rebuild``, ``_draw_overlay``, ``_lock`` and the ``ControlsMixin`` methods."""

    # --- widgets ---------------------------------------------------------------------------
    def _build_widgets(self, panel_size: int) -> None:
        self.panel = FieldPanel("density q(x) (exact)", self.bounds, 0.0, 0.25, "viridis", "q",
                                panel_size, "nfw-figure-density")
        sc = self.panel.scales
        self._contours = lines_mark(sc, color="white", width=1.0, opacity=0.75)
        self._points = points_mark(sc, color="white", size=5, opacity=0.45)
        self._points.visible = False
        self.panel.add_marks(self._contours, self._points)
        self.panel.mark.on_element_click(self._on_plot_click)
        self.loss_panel = LossPanel(width=400, height=panel_size)
        self.figures = {"density": self.panel.figure, "loss": self.loss_panel.figure}

        box = W.Layout
        style = {"description_width": "70px"}
        flow_options = [(label, key) for key, label in FLOW_KINDS.items()]
        if self._given is not None:
            flow_options.insert(0, (f"given flow ({len(self._given)} layers)", GIVEN))
        batch_options = sorted({*BATCH_SIZES, self._batch})
        self._control("target", W.Dropdown(options=[(v, k) for k, v in TARGETS.items()],
                                        value=self._target_name, description="target",
                                        style=style, layout=box(width="290px")),
                   self._set_target)
        self._control("flow", W.Dropdown(options=flow_options, value=self._flow_kind,
                                      description="flow", style=style, layout=box(width="290px")),
                   self._set_flow)
        self._control("layers", typed_slider(W.IntSlider(
            value=self._layers, min=1, max=MAX_LAYERS, description="layers K",
            continuous_update=False, disabled=self._flow_kind == GIVEN, style=style,
            layout=box(width="290px"))), self._set_layers)
        lo, hi = min(-4, math.floor(math.log10(self._lr))), max(0, math.ceil(math.log10(self._lr)))
        self._control("lr", typed_slider(W.FloatLogSlider(
            value=self._lr, base=10, min=lo, max=hi, step=0.1, description="learning rate",
            continuous_update=False, style={"description_width": "90px"},
            layout=box(width="320px")), ".1e"), self._set_lr)
        self._control("batch_size", W.Dropdown(options=batch_options, value=self._batch,
                                            description="batch", style=style,
                                            layout=box(width="170px")),
                   self._set_batch)
        self._control("seed", W.BoundedIntText(value=self._seed, min=0, max=2**31 - 1,
                                            description="seed", style={"description_width":
                                                                       "40px"},
                                            layout=box(width="140px")),
                   self._set_seed)
        self._control("steps", W.BoundedIntText(value=self._total, min=1, max=MAX_STEPS,
                                             description="steps", style={"description_width":
                                                                         "40px"},
                                             layout=box(width="160px")),
                   self._set_total)
        self._control("after_layer", typed_slider(W.IntSlider(
            value=self._layers, min=0, max=self._layers, description="after layer",
            continuous_update=True, style=style, layout=box(width="300px"))), self._set_after)
        self._control("show_target", W.Checkbox(value=True, description="show target",
                                             indent=False, layout=box(width="110px")),
                   lambda _v: self._draw_overlay(force=True))
        buttons = {
            "play": (_button("Play", "play", "train in the background until 'steps'"),
                     self.play),
            "pause": (_button("Pause", "pause", "pause training"), self.pause),
            "step": (_button("Step", "step-forward", "one training step"), self.step),
            "reset": (_button("Reset", "refresh", "start over: new flow from the seed"),
                      self.reset),
            "clear_points": (_button("clear points", "eraser", "remove the drawn points",
                                     "120px"), self.clear_points),
        }
        for name, (button, action) in buttons.items():
            self._button(name, button, action)

        self.progress = W.IntProgress(value=0, min=0, max=self._total,
                                      layout=box(width="220px"))
        self.progress.add_class("nfw-progress")
        self.rate = W.HTML()
        self.rate.add_class("nfw-rate")
        self.readout = W.HTML()
        self.readout.add_class("nfw-readout")
        self.modes = W.HTML(layout=box(min_width="330px"))
        self.modes.add_class("nfw-modes")
        self.hint = W.HTML(layout=box(display="none"))
        self.hint.add_class("nfw-hint")
        self.message = W.HTML(layout=box(display="none"))
        self.message.add_class("nfw-message")
        self.status = W.HTML()
        self.status.add_class("nfw-status")
        self.add_class(self.css_class)

        c = self.controls
        self.children = [
            W.HBox([c["target"], c["flow"], control_row(c["layers"])]),
            W.HBox([control_row(c["lr"]), c["batch_size"], c["seed"], c["steps"]]),
            W.HBox([c["play"], c["pause"], c["step"], c["reset"], c["clear_points"],
                    self.progress, self.rate], layout=box(align_items="center")),
            self.readout, self.hint, self.message,
            W.HBox([self.panel.widget, self.loss_panel.widget, self.modes],
                   layout=box(flex_flow="row wrap")),
            W.HBox([control_row(c["after_layer"]), c["show_target"], self.status],
                   layout=box(align_items="center")),
        ]

    def _control(self, name: str, widget: W.ValueWidget, apply: Callable[[object], None]
                 ) -> None:
        """Bind a value control (``ControlsMixin._bind``); programmatic updates made inside
        ``_quietly()`` are not user actions."""

        def run(value: object) -> None:
            if not self._quiet:
                with self._lock:
                    apply(value)

        self._bind(name, widget, run)

    def _button(self, name: str, button: W.Button, action: Callable[[], None]) -> None:
        button.add_class(f"nfw-control-{name.replace('_', '-')}")

        def on_click(_button: W.Button) -> None:
            try:
                with self._lock:
                    action()
            except Exception as err:  # shown to the learner; state kept
                self._show_error(err)

        button.on_click(on_click)
        self.controls[name] = button

    # --- control actions (each followed by a redraw request from _bind) ----------------------
    def _set_target(self, value: str) -> None:
        if value not in TARGETS:
            raise ValueError(f"unknown target {value!r}; choose one of {list(TARGETS)}")
        self._target_name = value
        self._rebuild(new_target=True)

    def _set_flow(self, value: str) -> None:
        if value == GIVEN and self._given is None:
            raise ValueError("no flow was given to this dashboard")
        self._flow_kind = value
        self.controls["layers"].disabled = value == GIVEN
        self._rebuild()

    def _set_layers(self, value: int) -> None:
        if self._flow_kind == GIVEN:
            with self._quietly():  # the slider snaps back
                self.controls["layers"].value = len(self.flow)
            raise ValueError(f"the given flow has {len(self.flow)} layers; choose a built flow "
                             f"(planar, radial, coupling) to set the number of layers")
        self._layers = int(value)
        self._rebuild()

    def _set_lr(self, value: float) -> None:
        self._lr = float(value)
        if self.trainer is not None:
            self.trainer.lr = self._lr

    def _set_batch(self, value: int) -> None:
        self._batch = int(value)
        self._apply_batch()

    def _set_seed(self, value: int) -> None:
        self._seed = int(value)
        self._rebuild(new_target=True)

    def _set_total(self, value: int) -> None:
        self._total = int(value)

    def _set_after(self, value: int) -> None:
        self._after = None if int(value) >= len(self.flow) else int(value)

    def _apply_batch(self) -> None:
        t = self.trainer
        if isinstance(t, MaximumLikelihood):
            t.batch_size = min(self._batch, t.data.shape[0])
        elif isinstance(t, ReverseKL):
            t.n_samples = self._batch

