"""Contract specs of the widgets (``nfwidgets.widgets``, ``figure3_panel``), the plot builders
(``nfwidgets.plots``) and the stack presets (see README.md).

Widgets are slow to build, so constructors draw few random bad values (``examples``), build at
a small resolution, and the slowest widgets (dashboard, posterior, sample grid, comparison)
share one owner per spec for their methods. Every ``ControlsMixin.set`` spec takes its controls
from the widget's control table (``layer_controls.controls_for``) and its ranges from there.
"""

from __future__ import annotations

import functools

import bqplot
import ipywidgets as W
import numpy as np
import torch

import nfwidgets
from nfwidgets import plots
from nfwidgets.figure3 import Figure3Settings
from nfwidgets.flows import AffineCoupling, Flow, MLPConditioner, Planar, Radial
from nfwidgets.layer_controls import controls_for, read
from nfwidgets.models import load_pretrained
from nfwidgets.render import COLOR_MAPS
from nfwidgets.training_setup import FLOW_KINDS, TARGETS
from nfwidgets.widgets import (
    ChangeOfVariables1D,
    CouplingExplorer,
    Explorer,
    FlowBuilder,
    LayerComparison,
    PlanarExplorer,
    PosteriorExplorer,
    RadialExplorer,
    SampleGrid,
    TrainingDashboard,
    stack_presets,
)
from nfwidgets.widgets._training_controls import BATCH_SIZES
from nfwidgets.widgets.change_of_variables import MAP_LABELS_1D
from nfwidgets.widgets.controls import ControlsMixin

from .bad_values import (
    Bad,
    Kind,
    array,
    batch,
    bounds,
    choice,
    combined,
    control,
    count,
    counts,
    dtype,
    flag,
    flow,
    function,
    layer,
    lines,
    mark,
    names,
    obj,
    passed,
    real,
    scales,
    seed,
    text,
)
from .runner import Spec, arg, fresh

PASSED = passed()


# --- good values ------------------------------------------------------------------------------
FAST = dict(resolution=16, n_samples=10, redraw_delay=0.0)


def _planar() -> Planar:
    return Planar([1.5, 0.0], [1.0, 0.5], 0.0)


def _flow() -> Flow:
    return Flow([_planar()])


def _flow_1d() -> Flow:
    return Flow([Planar([1.0], [0.5], 0.0)])


def _mlp_coupling() -> AffineCoupling:
    return AffineCoupling([1, 0], MLPConditioner(1, 1, hidden=(4,)))


@functools.cache
def _vae() -> object:
    return load_pretrained("flowvae-digits")


@functools.cache
def _glow() -> object:
    return load_pretrained("glow-digits")


@functools.cache
def _dashboard() -> TrainingDashboard:
    """One small dashboard on the target "draw", shared by the method specs (slow to build)."""
    return TrainingDashboard("draw", "planar", layers=2, batch_size=16, resolution=16,
                             n_data=50, blob_size=5, redraw_delay=0.0, panel_size=120)


@functools.cache
def _posterior() -> PosteriorExplorer:
    return PosteriorExplorer(_vae(), resolution=16, redraw_delay=0.0, panel_size=120)


@functools.cache
def _sample_grid() -> SampleGrid:
    return SampleGrid(_glow(), redraw_delay=0.0, zoom=1)


@functools.cache
def _comparison() -> LayerComparison:
    return LayerComparison(_identity, _planar(), resolution=16, panel_size=120)


def _identity(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return z, torch.zeros(z.shape[0], dtype=z.dtype)


def _field() -> np.ndarray:
    return np.linspace(0.0, 0.2, 64, dtype=np.float32).reshape(8, 8)


def _panel() -> plots.FieldPanel:
    return plots.FieldPanel("p", ((-4.0, 4.0), (-4.0, 4.0)), 0.0, 0.25, "viridis", "p", 120)


def _drawn_panel() -> plots.FieldPanel:
    panel = _panel()
    panel.update(_field())
    return panel


def _scales() -> dict[str, bqplot.Scale]:
    return {"x": bqplot.LinearScale(min=-4.0, max=4.0), "y": bqplot.LinearScale(min=-4.0,
                                                                                 max=4.0)}


def _close_panel(panel: object) -> None:
    if isinstance(panel, plots.FieldPanel):
        panel.close()
        panel.figure.close()


def _close_widget(thing: object) -> None:
    if isinstance(thing, W.Widget):
        thing.close()
    elif isinstance(thing, tuple) and thing and isinstance(thing[0], W.Widget):
        thing[0].close()  # square_figure's (figure, scales)


_SETTINGS = Figure3Settings(steps=2, n_samples=16, lr_planar=0.01,
                                              lr_nice=0.01, anneal_steps=1, hidden=4,
                                              eval_samples=32, grid=16)


# --- set(): one spec per widget, its controls from the control table ------------------------
def _control_args(specs: object, good: object, view: tuple | None = None,
                  prefix: str = "") -> dict:
    return {prefix + s.name: arg(control(s, view), read(good, s)) for s in specs}


def _snapshot(widget: ControlsMixin) -> tuple:
    """Every control's value (buttons have none) and the frame counter."""
    values = {}
    for name, box in widget.controls.items():
        if isinstance(box, W.Button):
            continue
        value = box.value
        values[name] = value.tolist() if isinstance(value, np.ndarray) else value
    return values, widget.frame


def _close(w: object) -> None:
    if isinstance(w, W.Widget):  # not a method's result (a bool, None)
        w.close()


def _keep(_w: object) -> None:
    """A shared owner stays open for the next call."""


VIEW = ((-4.0, 4.0), (-4.0, 4.0))
#: Test digits of ``data.digits("test")`` and amortised layers of the pretrained FlowVAE.
TEST_DIGITS, VAE_LAYERS = 360, 8


def _set_spec(widget: str, owner: object, args: dict, *, shared: bool = False,
              **extra: object) -> Spec:
    return Spec(ControlsMixin.set, args, owner=owner, state=_snapshot,
                cleanup=_keep if shared else _close, examples=1,
                name=f"nfwidgets.widgets.controls.ControlsMixin.set[{widget}]", **extra)


def _set_specs() -> list[Spec]:
    planar, radial = _planar(), Radial([1.0, 0.5], alpha=0.5, beta=1.0)
    from nfwidgets.flows import SimpleConditioner
    coupling = AffineCoupling([1, 0], SimpleConditioner(s_slope=0.5, t_amplitude=1.0,
                                                        t_frequency=1.5), scale="tanh")
    from nfwidgets.widgets.coupling import PROBE_CONTROLS

    def planar_explorer() -> PlanarExplorer:
        return PlanarExplorer(**FAST)

    def radial_explorer() -> RadialExplorer:
        return RadialExplorer(**FAST)

    def coupling_explorer() -> CouplingExplorer:
        return CouplingExplorer(**FAST)

    def builder() -> FlowBuilder:
        return FlowBuilder(preset="radial_x3", **FAST)

    def change_of_variables() -> ChangeOfVariables1D:
        return ChangeOfVariables1D(n_points=40, n_samples=50, bins=10, redraw_delay=0.0)

    cov_args = {"kind": arg(choice(tuple(MAP_LABELS_1D)), "affine"),
                "samples": arg(flag(), True)}
    from nfwidgets.widgets.change_of_variables import _START
    for kind, make in _START.items():
        layer = make()
        cov_args.update(_control_args([s for s in controls_for(kind, 1)
                                       if s.widget != "toggle"], layer, ((-5.0, 5.0),)))
    first = stack_presets.preset_layers("radial_x3")[0]
    builder_args = {"layers": arg(count(lo=0, hi=2), 0),
                    "add_kind": arg(choice(("planar", "radial", "coupling", "affine")), "planar"),
                    "after_layer": arg(count(lo=0, hi=3), 3),
                    "preset": arg(choice(("custom", *stack_presets.PRESETS)), "radial_x3"),
                    **_control_args(controls_for("radial"), first, VIEW, prefix="layer.")}
    probe = {s.name: arg(real(lo=-4.0, hi=4.0), 1.0) for s in PROBE_CONTROLS}
    dashboard = {"target": arg(choice(tuple(TARGETS)), "draw"),
                 "flow": arg(choice(tuple(FLOW_KINDS)), "planar"),
                 "layers": arg(count(lo=1, hi=32), 2),
                 "lr": arg(real(lo=1e-4, hi=1.0), 0.005),
                 "batch_size": arg(choice(BATCH_SIZES), 16),
                 "seed": arg(seed(hi=2**31 - 1), 0),
                 "steps": arg(count(lo=1, hi=10**7), 2000),
                 "after_layer": arg(count(lo=0, hi=2), 2),
                 "show_target": arg(flag(), True)}
    posterior = {"index": arg(count(lo=0, hi=TEST_DIGITS - 1), 0),
                 "k": arg(count(lo=0, hi=VAE_LAYERS), 1)}
    sample_grid = {"temperature": arg(real(lo=0.0, hi=1.2), 0.7),
                   "first": arg(count(lo=0, hi=TEST_DIGITS - 1), 0),
                   "second": arg(count(lo=0, hi=TEST_DIGITS - 1), 1)}
    return [
        _set_spec("PlanarExplorer", planar_explorer,
                  _control_args(controls_for("planar"), planar, VIEW)),
        _set_spec("RadialExplorer", radial_explorer,
                  _control_args(controls_for("radial"), radial, VIEW),
                  aliases={"alpha": ("α",), "beta": ("β",)}),
        _set_spec("CouplingExplorer", coupling_explorer,
                  {**_control_args(controls_for("coupling"), coupling, VIEW), **probe}),
        _set_spec("FlowBuilder", builder, builder_args),
        _set_spec("ChangeOfVariables1D", change_of_variables, cov_args),
        _set_spec("TrainingDashboard", _dashboard, dashboard, shared=True),
        _set_spec("PosteriorExplorer", _posterior, posterior, shared=True),
        _set_spec("SampleGrid", _sample_grid, sample_grid, shared=True),
        # no controls: set() takes nothing (the spec covers the widget's set() all the same)
        _set_spec("LayerComparison", _comparison, {}, shared=True),
    ]


# --- constructors and methods ----------------------------------------------------------------
def _explorer_spec(cls: type, good: object, kind: Kind) -> Spec:
    return Spec(cls, {"layer": fresh(kind, good), **{k: arg(PASSED, v) for k, v in FAST.items()}},
                cleanup=_close, examples=1)


SPECS: list[Spec] = [
    Spec(Explorer, {"flow": fresh(flow(), _flow), "bounds": arg(bounds(), VIEW),
                    "resolution": arg(count(lo=8, hi=1024), 16),
                    "coarse_resolution": arg(count(lo=8, hi=1024, optional=True), 8),
                    "redraw_delay": arg(real(lo=0), 0.0),
                    "density_max": arg(real(lo=0, lo_open=True, hi=1e6), 0.25),
                    "n_samples": arg(count(lo=0, hi=100_000), 10),
                    "seed": arg(seed(), 0),
                    "panel_size": arg(count(lo=80, hi=1200), 120)},
         cleanup=_close, examples=1),
    _explorer_spec(PlanarExplorer, _planar, layer(Planar, optional=True)),
    _explorer_spec(RadialExplorer, lambda: Radial([1.0, 0.5], alpha=0.5, beta=1.0),
                   layer(Radial, optional=True)),
    _explorer_spec(CouplingExplorer, lambda: None,
                   layer(AffineCoupling, Bad("MLP conditioner", lambda _g: _mlp_coupling()),
                         optional=True)),
    Spec(FlowBuilder, {"flow": arg(flow(optional=True), None),
                       "preset": arg(choice(tuple(stack_presets.PRESETS), optional=True),
                                     "radial_x3"),
                       **{k: arg(PASSED, v) for k, v in FAST.items()}},
         cleanup=_close, examples=1),
    Spec(FlowBuilder.edit_layer, {"index": arg(count(lo=0, hi=2), 0),
                                  **_control_args(controls_for("radial"),
                                                  stack_presets.preset_layers("radial_x3")[0],
                                                  VIEW)},
         owner=lambda: FlowBuilder(preset="radial_x3", **FAST), state=_snapshot,
         cleanup=_close, examples=1),
    Spec(ChangeOfVariables1D, {"kind": arg(choice(tuple(MAP_LABELS_1D)), "planar"),
                               "x_range": arg(bounds(dim=1), (-5.0, 5.0)),
                               "n_points": arg(count(lo=8, hi=100_000), 40),
                               "n_samples": arg(count(lo=1, hi=100_000), 50),
                               "bins": arg(count(lo=1, hi=100_000), 10),
                               "seed": arg(seed(), 0),
                               "density_max": arg(real(lo=0, lo_open=True, hi=1e6), 0.8),
                               "redraw_delay": arg(real(lo=0), 0.0)},
         cleanup=_close, examples=1),
    Spec(ChangeOfVariables1D.spike_unresolved,
         {"frame": arg(obj("Frame1D", optional=True), None)},
         owner=lambda: ChangeOfVariables1D(n_points=40, n_samples=50, bins=10,
                                           redraw_delay=0.0), cleanup=_close, examples=1),
    Spec(TrainingDashboard, {
        "target": arg(choice(tuple(TARGETS)), "draw"),
        "flow": arg(combined("flow", choice(tuple(FLOW_KINDS)),
                             Bad("1-D flow", lambda _g: _flow_1d())), "planar"),
        "layers": arg(count(lo=1, hi=32), 2), "lr": arg(real(lo=0, lo_open=True, hi=10), 5e-3),
        "batch_size": arg(count(lo=1, hi=100_000), 16),
        "seed": arg(seed(hi=2**31 - 1), 0), "steps": arg(count(lo=1, hi=10**7), 100),
        "anneal_steps": arg(count(lo=0, hi=10**7), 10),
        "n_data": arg(count(lo=1, hi=100_000), 50), "bounds": arg(bounds(), VIEW),
        "resolution": arg(count(lo=8, hi=1024), 16),
        "coarse_resolution": arg(count(lo=8, hi=1024, optional=True), 8),
        "redraw_every": arg(real(lo=0), 0.4),
        "redraw_share": arg(real(lo=0, lo_open=True, hi=1), 0.1),
        "redraw_delay": arg(real(lo=0, hi=60), 0.0),
        "chunk_seconds": arg(real(lo=0, hi=60), 0.05),
        "blob_size": arg(count(lo=1, hi=10_000), 5), "blob_std": arg(real(lo=0, hi=10), 0.25),
        "plateau_window": arg(count(lo=4, hi=100_000), 200),
        "panel_size": arg(count(lo=80, hi=1200), 120)}, cleanup=_close, examples=1),
    Spec(TrainingDashboard.step, {"n": arg(count(lo=1, hi=10**7), 1)}, owner=_dashboard,
         cleanup=_keep, examples=2),
    Spec(TrainingDashboard.train, {"n": arg(count(lo=1, hi=10**7), 1)}, owner=_dashboard,
         cleanup=_keep, examples=2),
    Spec(TrainingDashboard.add_points,
         {"xy": fresh(batch(2, nonfinite="reject"),
                      lambda: torch.tensor([[0.0, 1.0], [1.0, -1.0], [-1.0, 0.5]]))},
         owner=_dashboard, cleanup=_keep),
    Spec(TrainingDashboard.redraw, {"resolution": arg(count(lo=8, hi=1024, optional=True), 16)},
         owner=_dashboard, cleanup=_keep, examples=2),
    Spec(PosteriorExplorer, {"vae": fresh(obj("FlowVAE", optional=True), _vae),
                             "index": arg(count(lo=0, hi=TEST_DIGITS - 1), 0),
                             "k": arg(count(lo=0, hi=VAE_LAYERS, optional=True), 1),
                             "bounds": arg(bounds(), VIEW),
                             "resolution": arg(count(lo=8, hi=1024), 16),
                             "coarse_resolution": arg(count(lo=8, hi=1024, optional=True), 8),
                             "redraw_delay": arg(real(lo=0), 0.0),
                             "panel_size": arg(count(lo=80, hi=1200), 120)},
         cleanup=_close, examples=1),
    Spec(PosteriorExplorer.show_decoded, {"z1": arg(real(lo=-4.0, hi=4.0), 0.5),
                                          "z2": arg(real(lo=-4.0, hi=4.0), -0.5)},
         owner=_posterior, cleanup=_keep, examples=2),
    Spec(SampleGrid, {"model": fresh(obj("Glow", optional=True), _glow),
                      "seed": arg(seed(), 0),
                      "temperature": arg(real(lo=0.0, hi=1.2), 0.7),
                      "pair": arg(counts(lo=0, hi=TEST_DIGITS - 1, length=2), (0, 1)),
                      "redraw_delay": arg(real(lo=0), 0.0),
                      "zoom": arg(count(lo=1, hi=8), 1)}, cleanup=_close, examples=1),
    Spec(LayerComparison, {"student": arg(function(), _identity),
                           "reference": fresh(layer(), _planar),
                           "direction": arg(choice(("forward", "inverse")), "forward"),
                           "bounds": arg(bounds(), VIEW),
                           "resolution": arg(count(lo=8, hi=512), 16),
                           "density_max": arg(real(lo=0, lo_open=True, hi=1e6), 0.25),
                           "panel_size": arg(count(lo=80, hi=1200), 120),
                           "redraw_delay": arg(real(lo=0), 0.0)}, cleanup=_close, examples=1),
    Spec(LayerComparison.update, {"student": arg(function(), _identity)}, owner=_comparison,
         cleanup=_keep),
    Spec(Explorer.show_warning, {"text": arg(text(optional=True), "a warning")},
         owner=lambda: PlanarExplorer(**FAST), cleanup=_close, state=_snapshot),
    # --- figure 3 ---
    Spec(nfwidgets.figure3_panel, {"energies": arg(names(("U1", "U2", "U3", "U4")),
                                                   ("U1",)),
                                   "ks": arg(counts(lo=1, hi=128), (2,)),
                                   "full": arg(flag(), False),
                                   "seed": arg(seed(), 0),
                                   "settings": arg(obj("Figure3Settings", optional=True),
                                                   _SETTINGS),
                                   "kinds": arg(names(("planar", "nice")), ("planar",)),
                                   "size": arg(count(lo=80, hi=600), 100)},
         cleanup=lambda p: p.close(), examples=1),
    # --- plots ---
    Spec(plots.FieldPanel, {"title": arg(text(), "p"), "bounds": arg(bounds(), VIEW),
                            "vmin": arg(real(), 0.0), "vmax": arg(real(), 0.25),
                            "cmap": arg(choice(tuple(COLOR_MAPS)), "viridis"),
                            "label": arg(text(), "p"),
                            "size": arg(count(lo=80, hi=1200), 120),
                            "css_class": arg(text(), "nfw-figure")},
         cleanup=_close_panel, examples=2),
    Spec(plots.FieldPanel.update, {"field": fresh(array(2), _field),
                                   "mask": fresh(array(2, optional=True),
                                                 lambda: _field() > 0.1),
                                   "lines": arg(lines(), None)},
         owner=_panel, cleanup=_close_panel),
    Spec(plots.FieldPanel.show_lines,
         {"lines": arg(lines(), (np.linspace(-4, 4, 5), np.zeros(5)))},
         owner=_drawn_panel, cleanup=_close_panel),
    Spec(plots.FieldPanel.line_width, {"columns": arg(count(lo=1, hi=100_000), 64)},
         owner=_panel, cleanup=_close_panel),
    Spec(plots.FieldPanel.add_marks,
         {"*marks": fresh(obj("a bqplot mark"), lambda: plots.points_mark(_scales()))},
         owner=_panel, cleanup=_close_panel, aliases={"*marks": ("marks",)}),
    Spec(plots.colorbar, {"vmin": arg(real(), 0.0), "vmax": arg(real(), 1.0),
                          "cmap": arg(choice(tuple(COLOR_MAPS)), "viridis"),
                          "label": arg(text(), "p"),
                          "height": arg(count(lo=80, hi=1200), 120)},
         cleanup=_close_widget),
    Spec(plots.join_rows, {"x": fresh(array(2), lambda: np.zeros((2, 3))),
                           "y": fresh(array(2), lambda: np.ones((2, 3)))}),
    Spec(plots.lines_mark, {"scales": fresh(scales(), _scales),
                            "color": arg(text(), "white"),
                            "width": arg(real(lo=0, hi=100), 1.0),
                            "opacity": arg(real(lo=0, hi=1), 0.8),
                            "dashed": arg(flag(), False)}, cleanup=_close_widget),
    Spec(plots.points_mark, {"scales": fresh(scales(), _scales),
                             "color": arg(text(), "white"),
                             "size": arg(count(lo=0, hi=10_000), 8),
                             "opacity": arg(real(lo=0, hi=1), 0.6)}, cleanup=_close_widget),
    Spec(plots.set_lines, {"mark": fresh(mark(plots.Polylines),
                                         lambda: plots.lines_mark(_scales())),
                           "x": fresh(array(2), lambda: np.zeros((2, 3))),
                           "y": fresh(array(2), lambda: np.ones((2, 3))),
                           "visible": arg(flag(), True)}),
    Spec(plots.set_points, {"mark": fresh(mark(bqplot.Scatter),
                                          lambda: plots.points_mark(_scales())),
                            "x": fresh(array(1), lambda: np.zeros(4)),
                            "y": fresh(array(1), lambda: np.ones(4))}),
    Spec(plots.square_figure, {"title": arg(text(), "p"), "bounds": arg(bounds(), VIEW),
                               "size": arg(count(lo=80, hi=1200), 120),
                               "css_class": arg(text(), "nfw-figure")},
         cleanup=_close_widget),
    # --- stack presets ---
    Spec(stack_presets.preset_layers, {"name": arg(choice(tuple(stack_presets.PRESETS)),
                                                   "planar_x4"),
                                       "dtype": arg(dtype(), torch.float32)},
         aliases={"name": ("preset",)}),
    Spec(stack_presets.resolve_preset, {"name": arg(choice(tuple(stack_presets.PRESETS)),
                                                    "planar_x4")},
         aliases={"name": ("preset",)}),
    *_set_specs(),
]

#: entry point → why it is not fuzzed
EXEMPT: dict[object, str] = {
    plots.Polylines: "a bqplot.Lines subclass built by lines_mark (fuzzed there); its keyword "
                     "arguments are bqplot's own traits",
}
