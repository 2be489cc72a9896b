"""``TrainingDashboard``: watch a flow learn — maximum likelihood on data, reverse KL on U1–U4."""

from __future__ import annotations

import asyncio
import copy
import html
import math
import threading

import ipywidgets as W
import torch

from .._checks import check_count, shown
from ..flows.compose import Flow
from ..grid import Bounds, check_bounds
from ..plots import colorbar, set_lines, set_points
from ..train import MaximumLikelihood, ReverseKL, Trainer
from ..training_setup import (
    DRAW,
    FLOW_KINDS,
    Target,
    check_settings,
    make_flow,
    make_target,
)
from ..training_view import Overlay, TrainingFrame, TrainingView
from ._lifetime import builds_widgets, close_built, is_built
from ._training_controls import GIVEN, MAX_LAYERS, TrainingControls
from ._training_loop import MAX_STEPS, TrainingLoop
from ._training_plots import mode_mass_html
from ._training_points import TrainingPoints
from .base import _descendants
from .builder import FlowBuilder
from .controls import ControlsMixin, set_note
from .scheduler import RedrawScheduler

__all__ = ["GIVEN", "TrainingDashboard", "TrainingFrame"]


class TrainingDashboard(TrainingLoop, TrainingControls, TrainingPoints,
                        ControlsMixin, W.VBox):
    r"""Train a 2-D flow live and watch its density, loss and diagnostics.

    Two objectives, chosen by the target (Papamakarios et al. 2021, JMLR 22(57), sec. 2.3):

    - data (a toy data set, or points drawn by clicking the density plot): **maximum
      likelihood** (forward KL), ``L = -(1/B) Σ log q(x_i)``, whose expectation is
      ``H(p) + KL(p‖q) ≥ H(p)``: the data's entropy (``targets.entropy_floor``) is a floor
      drawn as the reference line when it is known;
    - an energy U1–U4: **reverse KL**, the free energy
      ``F = E_q[ln q(x) + U(x)] = KL(q‖p) - ln Z ≥ -ln Z`` (Rezende & Mohamed 2015, eq. 15),
      with annealing ``β_t = min(1, 0.01 + t/anneal_steps)``. While β_t < 1 the loss is the
      annealed objective ``E_q[ln q + β_t U]``, which may lie below ``-ln Z`` (the curve is
      labelled so); only F at β = 1 obeys ``F ≥ -ln Z``. That F (Monte Carlo, fresh samples
      apart from training) is plotted against the ``-ln Z`` line.

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

    Figures (``.figures``): ``"density"`` (exact density of q, with the target overlaid) and
    ``"loss"``. Mode masses (targets with modes) and the plateau hint appear beside them. Every
    frame is computed by a torch-only ``nfwidgets.training_view.TrainingView`` (``.view``); the
    dashboard only displays it (``.last_frame`` is the last ``TrainingFrame``).

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

    @builds_widgets
    def __init__(self, target: str = "two_moons", flow: str | Flow | FlowBuilder = "coupling",
                 *, layers: int = 8, lr: float = 5e-3, batch_size: int = 256, seed: int = 0,
                 steps: int = 2000, anneal_steps: int = 500, n_data: int = 2000,
                 bounds: Bounds = ((-4.0, 4.0), (-4.0, 4.0)), resolution: int = 112,
                 coarse_resolution: int | None = None,
                 redraw_every: float = 0.4, redraw_share: float = 0.1,
                 redraw_delay: float = 0.03,
                 chunk_seconds: float = 0.05, blob_size: int = 40, blob_std: float = 0.25,
                 plateau_window: int = 200, panel_size: int = 300) -> None:
        # Every argument is checked before the first widget model opens.
        settings = check_settings(
            target=target, lr=lr, seed=seed, resolution=resolution,
            coarse_resolution=coarse_resolution, redraw_share=redraw_share,
            numbers=dict(redraw_every=(redraw_every, None),  # huge: never
                         redraw_delay=(redraw_delay, 60.0),
                         chunk_seconds=(chunk_seconds, 60.0),
                         blob_std=(blob_std, 10.0)),
            integers=dict(layers=(layers, 1, MAX_LAYERS),
                          steps=(steps, 1, MAX_STEPS),
                          batch_size=(batch_size, 1, 100_000),
                          n_data=(n_data, 1, 100_000),
                          blob_size=(blob_size, 1, 10_000),
                          anneal_steps=(anneal_steps, 0, MAX_STEPS),
                          plateau_window=(plateau_window, 4, 100_000),
                          panel_size=(panel_size, 80, 1200)))
        # From here on, the checked plain numbers (np.int64 → int, a 0-d tensor → float).
        layers, steps, batch_size, seed, n_data, blob_size, anneal_steps = (
            settings[k] for k in ("layers", "steps", "batch_size", "seed", "n_data",
                                  "blob_size", "anneal_steps"))
        plateau_window, panel_size, resolution, coarse_resolution, lr = (
            settings[k] for k in ("plateau_window", "panel_size", "resolution",
                                  "coarse_resolution", "lr"))
        redraw_every, redraw_share, redraw_delay, chunk_seconds, blob_std = (
            settings[k] for k in ("redraw_every", "redraw_share", "redraw_delay",
                                  "chunk_seconds", "blob_std"))
        self._given: Flow | None = None
        if isinstance(flow, FlowBuilder):
            self._given = copy.deepcopy(flow.flow)
            flow = GIVEN
        elif isinstance(flow, Flow):
            self._given = flow
            flow = GIVEN
        elif not isinstance(flow, str) or flow not in FLOW_KINDS:
            raise ValueError(f"flow must be one of {sorted(FLOW_KINDS)}, a 2-D Flow or a "
                             f"FlowBuilder; got {shown(flow)}")
        if self._given is not None:
            if self._given.dim != 2:
                raise ValueError(f"the dashboard trains 2-D flows; got a flow of "
                                 f"dim={self._given.dim}")
            self._given_state = copy.deepcopy(self._given.state_dict())
        bounds = check_bounds(bounds)
        super().__init__()
        self._closed = False

        self.bounds = bounds
        self.resolution = resolution
        self.coarse_resolution = (max(8, resolution * 5 // 7) if coarse_resolution is None
                                  else coarse_resolution)
        self.redraw_every, self.redraw_share = redraw_every, redraw_share
        self.redraw_delay, self.chunk_seconds = redraw_delay, chunk_seconds
        self.blob_size, self.blob_std = blob_size, blob_std
        self.n_data, self.anneal_steps = n_data, anneal_steps
        self.plateau_window = plateau_window + plateau_window % 2  # the detector needs it even
        # Settings (mirrored by the controls).
        self._target_name, self._flow_kind = target, flow
        self._layers = len(self._given) if flow == GIVEN else layers
        self._lr = lr
        self._batch, self._seed, self._total = batch_size, seed, steps
        self._after: int | None = None  # None: the whole flow
        self._drawn = torch.zeros(0, 2)
        self._n_blobs = 0
        # State: the run (target, flow, trainer) lives in the view model.
        self.view: TrainingView | None = None
        self.controls: dict[str, W.Widget] = {}
        # Control changes while paused: drawn at once, a burst coalesced (the shared scheduler);
        # while Play runs the training loop draws at its next chunk instead (``_dirty``).
        self.scheduler = RedrawScheduler(self._draw_now, redraw_delay=self.redraw_delay,
                                         settle=None)
        self._next_resolution: int | None = None
        self.last_frame: TrainingFrame | None = None
        self._rate: float | None = None
        self._play_token: object | None = None
        # Widget callbacks may arrive on another thread than the one training (ipykernel 7
        # handles some comm messages on a subshell thread): steps, redraws and control
        # changes take this lock, so none of them runs inside another.
        self._lock = threading.RLock()
        self._tasks: set[asyncio.Task] = set()
        self._quiet = False
        self._hint_plateau = False
        self._diverged: str | None = None
        self._hint_text: str | None = None
        self._overlay_shown: Overlay | None = None

        self._build_widgets(panel_size)
        self._rebuild(new_target=True)
        self._update_buttons()
        self.redraw()

    # --- the run: target, flow, trainer (held by the view model) -----------------------------
    @property
    def target(self) -> Target:
        """What is fitted: data points or an energy."""
        return self.view.target

    @property
    def flow(self) -> Flow:
        """The flow being trained."""
        return self.view.flow

    @property
    def trainer(self) -> Trainer | None:
        """Its trainer (``None`` while there are no points to train on)."""
        return None if self.view is None else self.view.trainer

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
        if new_target or self.view is None:
            target = make_target(self._target_name, self.n_data, self._seed, drawn=self._drawn)
        else:
            target = self.view.target
        flow = self._new_flow()
        self._layers = len(flow)
        self._after = None
        scrub, k = self.controls["after_layer"], len(flow)
        with self._quietly(), scrub.hold_sync():
            scrub.max = k
            scrub.value = k
        self._new_view(target, flow, self._new_trainer(target, flow))
        self._rate = None
        self._diverged = None
        self._clear_error()

    def _new_trainer(self, target: Target, flow: Flow) -> Trainer | None:
        if target.is_energy:
            return ReverseKL(flow, target.energy, n_samples=self._batch,
                             anneal_steps=self.anneal_steps, lr=self._lr, seed=self._seed)
        if target.data is None or target.data.shape[0] == 0:
            return None
        return MaximumLikelihood(flow, target.data, batch_size=self._batch, lr=self._lr,
                                 seed=self._seed)

    def _new_view(self, target: Target, flow: Flow, trainer: Trainer | None) -> None:
        self.view = TrainingView(target, flow, trainer, self.bounds,
                                 plateau_window=self.plateau_window)
        self._set_density_range(self.view.density_top)
        self.controls["clear_points"].disabled = target.name != DRAW

    def _set_density_range(self, vmax: float) -> None:
        """Show the colour range ``[0, vmax]`` (fixed per target)."""
        panel = self.panel
        if vmax == panel.vmax:
            return
        panel.vmax = vmax
        fresh = colorbar(panel.vmin, vmax, panel.cmap, "q", int(panel.figure.layout.height
                                                                .removesuffix("px")))
        panel.colorbar.value = fresh.value
        for model in (fresh.layout, fresh.style, fresh):  # a throwaway: close all it opened
            model.close()

    def reset(self) -> None:
        """Start over with the current settings: a fresh flow from the seed (or the given
        flow's initial parameters), a new trainer, no history."""
        with self._lock:
            self._rebuild()
            self._hint(None)
            self.redraw()

    # --- redraw -----------------------------------------------------------------------------
    def redraw(self, resolution: int | None = None) -> None:
        """Recompute and draw now (synchronously) at ``resolution`` (default: the full grid);
        errors go to the message area."""
        if resolution is not None:
            resolution = check_count("resolution", resolution, lo=8, hi=1024)
        with self._lock:
            self._next_resolution = resolution
            self.scheduler.now()

    def _engine_changed(self, layer: int | None = None) -> None:
        """A control changed the run: while Play runs, the loop draws at its next chunk;
        otherwise the scheduler draws (at once, or a burst once)."""
        if self.playing:
            self._dirty = True
        else:
            self.scheduler.request()

    def _draw_now(self, full: bool) -> bool:
        """The scheduler's callback: one frame from the view model, published."""
        with self._lock:
            self._dirty = False
            resolution = self._next_resolution or self.resolution
            self._next_resolution = None
            view = self.view
            return self._publish(lambda: view.frame(resolution, after_layer=self._after,
                                                    total_steps=self._total),
                                 lambda f: f"step {f.step} · {f.resolution}²")

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
        self.loss_panel.update(frame.curve)
        self._draw_readout(frame)
        value = ("" if frame.masses is None else
                 mode_mass_html(frame.masses, frame.reference_masses,
                                "mass of q per mode (| = target)"))
        if self.modes.value != value:
            self.modes.value = value
        if self._hint_text is None or self._hint_plateau:
            self._hint(frame.hint, plateau=True)

    def _draw_readout(self, frame: TrainingFrame) -> None:
        t, view = self.trainer, self.view
        parts = [f"step <b>{frame.step}</b>"]
        if math.isfinite(frame.loss):
            parts.append(f"loss (moving average) <b>{frame.loss:.3f}</b>")
        if frame.beta is not None:
            parts.append(f"β = {frame.beta:.2f}")
            if frame.bound is not None:
                parts.append(f"bound F (β = 1) = <b>{frame.bound[0]:.3f}</b> ± "
                             f"{frame.bound[1]:.3f} (−ln Z = {view.floor:.3f})")
        elif isinstance(t, MaximumLikelihood):
            parts.append(f"{t.data.shape[0]} points, batch {t.batch_size}")
            if view.floor is not None:
                parts.append(f"entropy floor H(p) = {view.floor:.3f}")
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
        overlay = self.view.overlay
        if not force and self._overlay_shown is overlay:
            return
        self._overlay_shown = overlay
        show = bool(self.controls["show_target"].value)
        if overlay.kind == "contours":
            self._points.visible = False
            set_lines(self._contours, overlay.x, overlay.y, show)
        else:
            self._contours.visible = False
            set_points(self._points, overlay.x, overlay.y)
            self._points.visible = show and overlay.x.shape[0] > 0

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
        if is_built(self):  # a refused constructor has closed what it opened
            self._closed = True
            self._stop()
            self.panel.close()
            self.loss_panel.close()
            for widget in _descendants(self):
                widget.close()
            close_built(self)
        super().close()
