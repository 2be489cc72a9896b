"""``TrainingDashboard``: watch a flow learn — maximum likelihood on data, reverse KL on U1–U4."""

from __future__ import annotations

import asyncio
import copy
import html
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as W
import numpy as np
import torch

from .._allocator import tune_allocator
from ..diagnostics import (
    PlateauDetector,
    has_modes,
    mode_masses,
    reference_mode_masses,
    variational_bound,
)
from ..flows.compose import Flow
from ..grid import Bounds, check_bounds, density_grid
from ..plots import FieldPanel, colorbar, lines_mark, points_mark, set_lines, set_points
from ..targets import entropy_floor
from ..train import MaximumLikelihood, ReverseKL, Trainer
from ._training_loop import TrainingLoop
from ._training_plots import LossPanel, mode_mass_html
from ._training_setup import (
    DRAW,
    FLOW_KINDS,
    TARGETS,
    Target,
    blob,
    check_settings,
    energy_contours,
    make_flow,
    make_target,
    target_peak,
)
from .base import _descendants
from .builder import FlowBuilder
from .controls import ControlsMixin, set_note

__all__ = ["GIVEN", "TrainingDashboard", "TrainingFrame"]

#: The flow kind of a flow (or FlowBuilder stack) handed to the dashboard.
GIVEN = "given"
#: Batch sizes offered (a given size is added to them).
BATCH_SIZES = (16, 32, 64, 128, 256, 512, 1024, 2048)
#: Samples for the bound F and for the mode masses at each redraw.
BOUND_SAMPLES = 2048
MASS_SAMPLES = 1024
#: Data points shown over the density (a fixed subsample).
SHOWN_POINTS = 500
#: At most this many bound estimates are kept for the plot (older ones are thinned).
MAX_BOUND_POINTS = 300


@dataclass(frozen=True)
class TrainingFrame:
    """What one redraw of the dashboard showed.

    Attributes:
        step: the trainer's step count (0 before training).
        after_layer: k, the density is that of the first k layers (``flow.truncated(k)``).
        resolution: grid cells per side.
        density: exact density of ``flow.truncated(k)`` on the grid (rows = y), float32.
        mass: its mass inside the view (midpoint rule).
        peak: its largest value.
        loss: the moving average of the loss at ``step`` (``nan`` before training).
        bound: ``(F, standard error)`` of the bound for reverse KL, else ``None``.
        masses: mass of q per mode when the target has modes, else ``None``.
        hint: the plateau hint shown (or ``None``).
        compute_ms: time to compute the frame.
    """

    step: int
    after_layer: int
    resolution: int
    density: np.ndarray
    mass: float
    peak: float
    loss: float
    bound: tuple[float, float] | None
    masses: dict[str, float] | None
    hint: str | None
    compute_ms: float


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10ᵏ that is ≥ value."""
    if not (math.isfinite(value) and value > 0):
        return 1.0
    exp = math.floor(math.log10(value))
    for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * 10.0 ** exp >= value * (1 - 1e-9):
            return m * 10.0 ** exp
    return 10.0 ** (exp + 1)  # pragma: no cover - the loop always returns


def _button(label: str, icon: str, tip: str, width: str = "88px") -> W.Button:
    return W.Button(description=label, icon=icon, tooltip=tip, layout=W.Layout(width=width))


class TrainingDashboard(TrainingLoop, ControlsMixin, W.VBox):
    r"""Train a 2-D flow live and watch its density, loss and diagnostics.

    Two objectives, chosen by the target (Papamakarios et al. 2021, JMLR 22(57), sec. 2.3):

    - data (a toy data set, or points drawn by clicking the density plot): **maximum
      likelihood** (forward KL), ``L = -(1/B) Σ log q(x_i)``, whose expectation is
      ``H(p) + KL(p‖q) ≥ H(p)``: the data's entropy (``targets.entropy_floor``) is a floor
      drawn as the reference line when it is known;
    - an energy U1–U4: **reverse KL**, the free energy
      ``F = E_q[ln q(x) + U(x)] = KL(q‖p) - ln Z ≥ -ln Z`` (Rezende & Mohamed 2015, eq. 15),
      with annealing ``β_t = min(1, 0.01 + t/anneal_steps)``; the bound F (Monte Carlo, fresh
      samples apart from training) is plotted against the ``-ln Z`` line.

    Training runs in chunks as an asyncio task on the kernel's event loop (Play), so the
    notebook stays responsive: pause, change the learning rate or batch size, resume. Changing
    the target, the flow, the number of layers or the seed starts over (Reset). Training is
    deterministic for a seed: redraws never touch the trainer's random generator, so the
    parameters after N steps do not depend on how the steps were split (Play/Pause/Step) or on
    the redraw timing. A diverging step (non-finite loss or gradient) pauses training with the
    reason; the trainer has already rolled the parameters back to the last good step.

    Controls (``.controls``): ``"target"`` (a key of ``TARGETS``), ``"flow"`` (``"planar"``,
    ``"radial"``, ``"coupling"``, or ``"given"``), ``"layers"`` (K), ``"lr"`` (log slider),
    ``"batch_size"`` (mini-batch for data; samples per step for reverse KL), ``"seed"``,
    ``"steps"`` (Play stops there), ``"after_layer"`` (show the density of the first k layers),
    ``"show_target"`` (data points / the energy's contours over the density), and the buttons
    ``"play"``, ``"pause"``, ``"step"``, ``"reset"``, ``"clear_points"``.

    Figures (``.figures``): ``"density"`` (exact density of q via ``grid.density_grid``, with
    the target overlaid) and ``"loss"``. Mode masses (targets with modes) and the plateau hint
    appear beside them.

    Arguments:
        target: a key of ``TARGETS`` (toy data set name, ``"U1"``…``"U4"``, or ``"draw"``).
        flow: ``"planar"``, ``"radial"`` or ``"coupling"`` (K layers built from ``seed``); or a
            2-D ``Flow`` (trained in place; Reset restores its initial parameters); or a
            ``FlowBuilder`` (a copy of its stack is trained; the builder is left as it is).
        layers: K, the number of layers of a built flow.
        lr: Adam's learning rate.
        batch_size: mini-batch size (data) or samples per step (energy).
        seed: seeds the toy data, the flow's initial parameters and the trainer.
        steps: where Play stops (``train(n)`` and ``step(n)`` may go further).
        anneal_steps: length of the reverse-KL annealing ramp (0: none).
        n_data: number of toy data points.
        bounds: the view (the energies' box ``[-4, 4]²`` by default).
        resolution: grid cells per side of the density (at rest).
        coarse_resolution: grid while training runs (``None``: about 5/7 of ``resolution``);
            the full grid follows when training stops, as explorers do after a drag.
        redraw_every: seconds between redraws while training (Play and ``train``); on a slow
            machine the interval stretches so that redrawing takes at most ``redraw_share``
            of the time.
        redraw_share: the largest fraction of training time spent redrawing (0 < share ≤ 1).
        redraw_delay: seconds to gather a burst of control changes into one redraw when an
            event loop runs (0: redraw at once).
        chunk_seconds: Play trains this long between yields to the event loop.
        blob_size, blob_std: a click (or each row of ``add_points``) adds ``blob_size``
            points ``centre + blob_std·N(0, I)``.
        plateau_window: steps the plateau detector compares (``diagnostics.PlateauDetector``).
        panel_size: size of the density panel in pixels.
    """

    css_class = "nfw-training-dashboard"

    def __init__(self, target: str = "two_moons", flow: str | Flow | FlowBuilder = "coupling",
                 *, layers: int = 8, lr: float = 5e-3, batch_size: int = 256, seed: int = 0,
                 steps: int = 2000, anneal_steps: int = 500, n_data: int = 2000,
                 bounds: Bounds = ((-4.0, 4.0), (-4.0, 4.0)), resolution: int = 112,
                 coarse_resolution: int | None = None,
                 redraw_every: float = 0.4, redraw_share: float = 0.1,
                 redraw_delay: float = 0.03,
                 chunk_seconds: float = 0.05, blob_size: int = 40, blob_std: float = 0.25,
                 plateau_window: int = 200, panel_size: int = 300) -> None:
        super().__init__()
        tune_allocator()  # redraws allocate many 40k-float tensors: keep the heap warm
        self._closed = False
        check_settings(target=target, lr=lr, seed=seed, resolution=resolution,
                       coarse_resolution=coarse_resolution, redraw_share=redraw_share,
                       numbers=dict(redraw_every=redraw_every, redraw_delay=redraw_delay,
                                    chunk_seconds=chunk_seconds, blob_std=blob_std),
                       integers=dict(layers=(layers, 1), steps=(steps, 1),
                                     batch_size=(batch_size, 1), n_data=(n_data, 1),
                                     blob_size=(blob_size, 1), anneal_steps=(anneal_steps, 0),
                                     plateau_window=(plateau_window, 4)))
        self._given: Flow | None = None
        if isinstance(flow, FlowBuilder):
            self._given = copy.deepcopy(flow.flow)
            flow = GIVEN
        elif isinstance(flow, Flow):
            self._given = flow
            flow = GIVEN
        elif flow not in FLOW_KINDS:
            raise ValueError(f"flow must be one of {sorted(FLOW_KINDS)}, a 2-D Flow or a "
                             f"FlowBuilder; got {flow!r}")
        if self._given is not None:
            if self._given.dim != 2:
                raise ValueError(f"the dashboard trains 2-D flows; got dim={self._given.dim}")
            self._given_state = copy.deepcopy(self._given.state_dict())

        self.bounds = check_bounds(bounds)
        self.resolution = resolution
        self.coarse_resolution = (max(8, resolution * 5 // 7) if coarse_resolution is None
                                  else coarse_resolution)
        self.redraw_every = float(redraw_every)
        self.redraw_share = float(redraw_share)
        self.redraw_delay = float(redraw_delay)
        self.chunk_seconds = float(chunk_seconds)
        self.blob_size, self.blob_std = blob_size, float(blob_std)
        self.n_data, self.anneal_steps = n_data, anneal_steps
        self.plateau_window = plateau_window + plateau_window % 2  # the detector needs it even
        # Settings (mirrored by the controls).
        self._target_name, self._flow_kind = target, flow
        self._layers = len(self._given) if flow == GIVEN else layers
        self._lr, self._batch, self._seed, self._total = float(lr), batch_size, seed, steps
        self._after: int | None = None  # None: the whole flow
        self._drawn = torch.zeros(0, 2)
        self._n_blobs = 0
        # State.
        self.flow: Flow = None  # type: ignore[assignment]  # set by _rebuild
        self.trainer: Trainer | None = None
        self.target: Target = None  # type: ignore[assignment]
        self.controls: dict[str, W.Widget] = {}
        self.frame = 0
        self.last_frame: TrainingFrame | None = None
        self._plateau = PlateauDetector(self.plateau_window)
        self._fed = 0  # steps fed to the plateau detector
        self._bound_points: list[tuple[int, float]] = []
        self._rate: float | None = None
        self._play_token: object | None = None
        # Widget callbacks may arrive on another thread than the one training (ipykernel 7
        # handles some comm messages on a subshell thread): steps, redraws and control
        # changes take this lock, so none of them runs inside another.
        self._lock = threading.RLock()
        self._tasks: set[asyncio.Task] = set()
        self._quiet = False
        self._hint_plateau = False
        self._pending: asyncio.TimerHandle | None = None
        self._dirty = False
        self._diverged: str | None = None
        self._hint_text: str | None = None
        self._overlay_version = -1
        self._data_version = 0
        self._reference_masses: dict[str, float] | None = None

        self._build_widgets(panel_size)
        self._rebuild(new_target=True)
        self._update_buttons()
        self.redraw()

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
        self._control("layers", W.IntSlider(value=self._layers, min=1, max=32,
                                         description="layers K", continuous_update=False,
                                         disabled=self._flow_kind == GIVEN, style=style,
                                         layout=box(width="290px")),
                   self._set_layers)
        lo, hi = min(-4, math.floor(math.log10(self._lr))), max(0, math.ceil(math.log10(self._lr)))
        self._control("lr", W.FloatLogSlider(value=self._lr, base=10, min=lo, max=hi, step=0.1,
                                          description="learning rate", readout_format=".1e",
                                          continuous_update=False,
                                          style={"description_width": "90px"},
                                          layout=box(width="320px")),
                   self._set_lr)
        self._control("batch_size", W.Dropdown(options=batch_options, value=self._batch,
                                            description="batch", style=style,
                                            layout=box(width="170px")),
                   self._set_batch)
        self._control("seed", W.BoundedIntText(value=self._seed, min=0, max=2**31 - 1,
                                            description="seed", style={"description_width":
                                                                       "40px"},
                                            layout=box(width="140px")),
                   self._set_seed)
        self._control("steps", W.BoundedIntText(value=self._total, min=1, max=10**7,
                                             description="steps", style={"description_width":
                                                                         "40px"},
                                             layout=box(width="160px")),
                   self._set_total)
        self._control("after_layer", W.IntSlider(value=self._layers, min=0, max=self._layers,
                                              description="after layer",
                                              continuous_update=True, style=style,
                                              layout=box(width="300px")),
                   self._set_after)
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
            W.HBox([c["target"], c["flow"], c["layers"]]),
            W.HBox([c["lr"], c["batch_size"], c["seed"], c["steps"]]),
            W.HBox([c["play"], c["pause"], c["step"], c["reset"], c["clear_points"],
                    self.progress, self.rate], layout=box(align_items="center")),
            self.readout, self.hint, self.message,
            W.HBox([self.panel.widget, self.loss_panel.widget, self.modes],
                   layout=box(flex_flow="row wrap")),
            W.HBox([c["after_layer"], c["show_target"], self.status],
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

    # --- building the flow, the target and the trainer ------------------------------------
    def _new_flow(self) -> Flow:
        if self._flow_kind == GIVEN:
            assert self._given is not None
            self._given.load_state_dict(self._given_state)
            return self._given
        return make_flow(self._flow_kind, self._layers, self._seed)

    def _rebuild(self, new_target: bool = False) -> None:
        """Start over: a fresh flow (from the seed, or the given flow's initial parameters), a
        new trainer, empty history. With ``new_target`` the target is made again too."""
        self._stop()
        if new_target or self.target is None:
            self.target = make_target(self._target_name, self.n_data, self._seed,
                                      drawn=self._drawn)
            self._on_new_target()
        self.flow = self._new_flow()
        self._layers = len(self.flow)
        self._after = None
        scrub, k = self.controls["after_layer"], len(self.flow)
        with self._quietly(), scrub.hold_sync():
            scrub.max = k
            scrub.value = k
        self.trainer = self._new_trainer()
        self._plateau = PlateauDetector(self.plateau_window, floor=self._loss_floor())
        self._fed = 0
        self._bound_points = []
        self._rate = None
        self._diverged = None
        self._clear_error()

    def _new_trainer(self) -> Trainer | None:
        t = self.target
        if t.is_energy:
            return ReverseKL(self.flow, t.energy, n_samples=self._batch,
                             anneal_steps=self.anneal_steps, lr=self._lr, seed=self._seed)
        if t.data is None or t.data.shape[0] == 0:
            return None
        return MaximumLikelihood(self.flow, t.data, batch_size=self._batch, lr=self._lr,
                                 seed=self._seed)

    def _loss_floor(self) -> float | None:
        t = self.target
        if t.is_energy:
            return -t.energy.log_z
        return None if t.name == DRAW else entropy_floor(t.name)

    def _on_new_target(self) -> None:
        """Colour range, overlay and reference masses of a new target."""
        t = self.target
        self._data_version += 1
        self._reference_masses = None
        if has_modes(t.name):
            if t.is_energy:
                self._reference_masses = reference_mode_masses(t.name)
            elif t.data is not None and t.data.shape[0]:
                self._reference_masses = mode_masses(t.name, t.data)
        self._set_density_range(target_peak(t, self.bounds))
        controls = self.controls
        controls["clear_points"].disabled = t.name != DRAW

    def _set_density_range(self, peak: float) -> None:
        """A fixed colour range per target: [0, a round number above 1.2 × the target's peak],
        so q and the target share colours and nothing jumps while training."""
        vmax = min(max(_nice_ceiling(1.2 * peak), 0.02), 20.0)
        panel = self.panel
        if vmax == panel.vmax:
            return
        panel.vmax = vmax
        fresh = colorbar(panel.vmin, vmax, panel.cmap, "q", int(panel.figure.layout.height
                                                                .removesuffix("px")))
        panel.colorbar.value = fresh.value
        for model in (fresh.layout, fresh.style, fresh):  # a throwaway: close all it opened
            model.close()

    # --- drawing points ---------------------------------------------------------------------
    def add_points(self, xy: object) -> None:
        """Add a blob of ``blob_size`` points around each centre in ``xy`` (shape (2,) or
        (M, 2)), as clicks on the plot do; the target must be ``"draw"``. Training continues
        from the current flow with the new points (each blob is seeded from the seed and the
        number of blobs so far)."""
        if self._target_name != DRAW:
            raise ValueError(f"add_points: the target is {self._target_name!r}; choose the "
                             f"target {DRAW!r} first (set(target={DRAW!r}))")
        try:
            centres = torch.as_tensor(np.asarray(xy, dtype=np.float64),
                                      dtype=torch.float32).reshape(-1, 2)
        except (TypeError, ValueError) as err:
            raise ValueError(f"add_points: xy must be a point (x, y) or an array of shape "
                             f"(M, 2); got {xy!r}") from err
        if centres.shape[0] == 0 or not bool(torch.isfinite(centres).all()):
            raise ValueError(f"add_points: xy must hold at least one point, all finite; "
                             f"got {xy!r}")
        with self._lock:
            new = [blob(c, self.blob_size, self.blob_std,
                        seed=self._seed * 100_003 + self._n_blobs + k)
                   for k, c in enumerate(centres)]
            self._n_blobs += centres.shape[0]
            self._set_drawn(torch.cat([self._drawn, *new]))

    def clear_points(self) -> None:
        """Remove every drawn point and start over."""
        with self._lock:
            self._drawn = torch.zeros(0, 2)
            self._n_blobs = 0
            if self._target_name == DRAW:
                self._rebuild(new_target=True)
                self._hint(None)
                self.request_redraw()

    def _set_drawn(self, points: torch.Tensor) -> None:
        self._drawn = points
        old = self.trainer
        self.target = Target(DRAW, data=points)
        self._on_new_target()
        new = self._new_trainer()
        if old is not None and new is not None:
            # Same flow, same optimiser state and random stream: only the data grew.
            new.optimizer.load_state_dict(old.optimizer.state_dict())
            new.lr = self._lr
            new.generator.set_state(old.generator.get_state())
            new.step_count, new.history = old.step_count, old.history
        self.trainer = new
        self._hint(None)
        self.request_redraw()

    def _on_plot_click(self, _mark: object, content: dict) -> None:
        try:
            data = content.get("data", {})
            if self._target_name != DRAW:
                self._hint("To add points by clicking, choose the target “draw points”.")
                return
            with self._lock:
                self.add_points([float(data["click_x"]), float(data["click_y"])])
        except Exception as err:  # shown to the learner; state kept
            self._show_error(err)

    def reset(self) -> None:
        """Start over with the current settings: a fresh flow from the seed (or the given
        flow's initial parameters), a new trainer, no history."""
        with self._lock:
            self._rebuild()
            self._hint(None)
            self.redraw()

    # --- redraw -----------------------------------------------------------------------------
    def request_redraw(self) -> None:
        """Redraw soon: while playing at the next chunk, else after ``redraw_delay`` (at once
        with no event loop or a zero delay)."""
        if self._quiet:
            return
        if self.playing:
            self._dirty = True
            return
        loop = self._deferred_loop()
        if loop is None or self._pending is not None:
            return
        self._pending = loop.call_later(self.redraw_delay, self._on_pending)

    def _on_pending(self) -> None:
        self._pending = None
        if not self._closed:
            self.redraw()

    def redraw(self, resolution: int | None = None) -> None:
        """Recompute and draw now (synchronously) at ``resolution`` (default: the full grid);
        errors go to the message area."""
        with self._lock:
            self._dirty = False
            if self._pending is not None:
                self._pending.cancel()
                self._pending = None
            self._publish(lambda: self._compute(resolution or self.resolution),
                          lambda f: f"step {f.step} · {f.resolution}²")

    def _feed_plateau(self) -> None:
        """Give the detector the losses of the steps since the last redraw (β = 1 steps only:
        while reverse KL anneals, the loss rises by design)."""
        t = self.trainer
        if t is None:
            return
        history = t.history
        for s in range(self._fed + 1, len(history) + 1):
            if t.beta(s) >= 1.0:
                self._plateau.update(s, history[s - 1])
        self._fed = len(history)

    @torch.no_grad()
    def _compute(self, resolution: int) -> TrainingFrame:
        start = time.perf_counter()
        k = len(self.flow) if self._after is None else self._after
        shown = self.flow if self._after is None else self.flow.truncated(k)
        # No InverseCache: every layer changes at every step, and the fused Adam update does
        # not bump the tensors' version counters the cache relies on.
        dens = density_grid(shown, self.bounds, resolution)
        t = self.trainer
        step = 0 if t is None else t.step_count
        history = np.asarray(self.history, dtype=np.float64)
        window = max(10, history.size // 50)
        loss = float(history[-window:].mean()) if history.size else math.nan
        bound = None
        if self.target.is_energy:
            if not self._bound_points or self._bound_points[-1][0] != step:
                try:
                    bound = variational_bound(self.flow, self.target.energy, BOUND_SAMPLES)
                except ValueError:
                    bound = None  # non-finite samples: nothing to plot at this step
                if bound is not None:
                    self._bound_points.append((step, bound[0]))
                    if len(self._bound_points) > MAX_BOUND_POINTS:
                        self._bound_points = self._bound_points[::2]
            else:
                bound = self._last_bound()
        masses = None
        if has_modes(self.target.name):
            gen = torch.Generator().manual_seed(12345)  # fixed: never the trainer's stream
            samples = self.flow.sample(MASS_SAMPLES, generator=gen)
            try:
                masses = mode_masses(self.target.name, samples)
            except ValueError:
                masses = None
        self._feed_plateau()
        return TrainingFrame(step=step, after_layer=k, resolution=resolution,
                             density=dens.density, mass=dens.mass,
                             peak=float(dens.density.max()), loss=loss, bound=bound,
                             masses=masses, hint=self._plateau.hint,
                             compute_ms=(time.perf_counter() - start) * 1e3)

    def _last_bound(self) -> tuple[float, float] | None:
        last = self.last_frame
        return None if last is None else last.bound

    def _picture_digest(self) -> str:
        return self.panel.digest()

    def _draw(self, frame: TrainingFrame) -> None:
        K = len(self.flow)
        title = ("density q(x) (exact)" if frame.after_layer == K else
                 f"density after layer {frame.after_layer} of {K}")
        if self.panel.figure.title != title:
            self.panel.figure.title = title
        self.panel.update(frame.density)
        self._draw_overlay()
        t = self.target
        reference = self._loss_floor()
        label = ("−ln Z: no q goes below" if t.is_energy
                 else "entropy H(p): the NLL's floor")
        bsteps = [s for s, _ in self._bound_points]
        bvalues = [v for _, v in self._bound_points]
        self.loss_panel.update(np.asarray(self.history), self._total, reference, label,
                               bsteps, bvalues)
        self._draw_readout(frame)
        if frame.masses is not None:
            value = mode_mass_html(frame.masses, self._reference_masses,
                                   "mass of q per mode (| = target)")
        else:
            value = ""
        if self.modes.value != value:
            self.modes.value = value
        if self._hint_text is None or self._hint_plateau:
            self._hint(frame.hint, plateau=True)

    def _draw_readout(self, frame: TrainingFrame) -> None:
        t = self.trainer
        parts = [f"step <b>{frame.step}</b>"]
        if math.isfinite(frame.loss):
            parts.append(f"loss (moving average) <b>{frame.loss:.3f}</b>")
        if isinstance(t, ReverseKL):
            parts.append(f"β = {t.beta(max(frame.step, 1)):.2f}")
            if frame.bound is not None:
                parts.append(f"bound F = <b>{frame.bound[0]:.3f}</b> ± {frame.bound[1]:.3f} "
                             f"(−ln Z = {-self.target.energy.log_z:.3f})")
        elif isinstance(t, MaximumLikelihood):
            floor = self._loss_floor()
            parts.append(f"{t.data.shape[0]} points, batch {t.batch_size}")
            if floor is not None:
                parts.append(f"entropy floor H(p) = {floor:.3f}")
        elif self.target.name == DRAW:
            parts.append("no points yet: click on the plot")
        parts.append(f"mass in view {frame.mass:.3f}")
        value = " · ".join(parts)
        if self.readout.value != value:
            self.readout.value = value
        with self.progress.hold_sync():
            if self.progress.max != self._total:
                self.progress.max = self._total
            self.progress.value = min(frame.step, self._total)
        rate = ("" if self._rate is None else
                f"<span style='font-size:12px'>{self._rate:,.0f} steps/s</span>")
        if self.rate.value != rate:
            self.rate.value = rate

    def _draw_overlay(self, force: bool = False) -> None:
        """Data points or the energy's contours, redrawn only when the target changed."""
        if not force and self._overlay_version == self._data_version:
            return
        self._overlay_version = self._data_version
        show = bool(self.controls["show_target"].value)
        t = self.target
        if t.is_energy:
            self._points.visible = False
            set_lines(self._contours, *energy_contours(t.energy, self.bounds), show)
        else:
            self._contours.visible = False
            data = t.data if t.data is not None else torch.zeros(0, 2)
            if data.shape[0] > SHOWN_POINTS:
                data = data[:: math.ceil(data.shape[0] / SHOWN_POINTS)]
            set_points(self._points, data[:, 0].numpy(), data[:, 1].numpy())
            self._points.visible = show and data.shape[0] > 0

    def _hint(self, text: str | None, plateau: bool = False) -> None:
        """Show (``None``: hide) a hint; plateau hints are replaced at every redraw."""
        self._hint_text, self._hint_plateau = text, plateau
        set_note(self.hint, html.escape(text) if text else None)

    def _clear_error(self) -> None:
        if self._diverged is None:  # a divergence message stays until a good step or reset
            super()._clear_error()

    # --- lifetime ---------------------------------------------------------------------------
    def close(self) -> None:
        """Stop training and close every widget model the dashboard opened."""
        self._closed = True
        self._stop()
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        panel = getattr(self, "panel", None)
        if panel is not None:
            panel.close()
        loss_panel = getattr(self, "loss_panel", None)
        if loss_panel is not None:
            loss_panel.close()
        for widget in _descendants(self):
            widget.close()
        super().close()
