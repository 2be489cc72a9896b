"""Figure 3 of Rezende & Mohamed (2015) reproduced: planar vs NICE flows fitted to U1–U4.

``fit_figure3`` trains the flows (pure torch); ``figure3_panel`` trains them and lays out the
true densities, the fitted densities and the bound against K as bqplot figures.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import bqplot
import ipywidgets
import numpy as np
import torch
from torch import Tensor, nn

from .diagnostics import variational_bound
from .flows.affine import ElementwiseAffine
from .flows.compose import Flow
from .flows.coupling import AffineCoupling
from .flows.planar import Planar
from .grid import density_grid, grid_points
from .plots import FieldPanel
from .targets import ENERGY_NAMES, Energy, energy
from .train import ReverseKL, TrainingDiverged

__all__ = [
    "FAST",
    "FLOW_KINDS",
    "FULL",
    "AdditiveConditioner",
    "Figure3Panel",
    "Figure3Result",
    "Figure3Settings",
    "figure3_panel",
    "fit_figure3",
    "nice_flow",
    "planar_flow",
]

#: The two flow families compared in the paper's Figure 3.
FLOW_KINDS: tuple[str, ...] = ("planar", "nice")


@dataclass(frozen=True)
class Figure3Settings:
    """How the flows of Figure 3 are trained and shown.

    Attributes:
        steps: Adam steps per flow.
        n_samples: Monte Carlo samples per step (the reverse-KL estimate of each step).
        lr_planar, lr_nice: Adam learning rates of the planar and the NICE flows.
        anneal_steps: length of the annealing ramp ``β_t = min(1, 0.01 + t/anneal_steps)``.
        hidden: width of the two hidden layers of each NICE coupling's MLP.
        envelope: width of the wall added outside the box (``Energy.confined``).
        eval_samples: samples for the final bound estimate.
        grid: resolution of the density panels (``grid × grid``).
        grad_clip: optional bound on the global gradient norm (``Trainer``'s ``grad_clip``).
    """

    steps: int
    n_samples: int
    lr_planar: float
    lr_nice: float
    anneal_steps: int
    hidden: int
    envelope: float = 0.2
    eval_samples: int = 4096
    grid: int = 100
    grad_clip: float | None = None


#: Settings that run in 10–20 s of CPU time on one core (for the lesson and tests): the flows
#: are under-trained, but the ordering K = 2 < 8 < 32 already shows for most targets.
FAST = Figure3Settings(steps=80, n_samples=256, lr_planar=0.03, lr_nice=0.02, anneal_steps=20,
                       hidden=16, eval_samples=2048, grid=80, grad_clip=5.0)
#: The full-length run: the paper's annealing ``β_t = min(1, 0.01 + t/10⁴)``, followed by as
#: many steps again at β = 1 (20 000 steps per flow). Measured on one core of a shared 2-core
#: machine: 98 s of CPU for a planar K = 8 flow, 234 s for planar K = 32, 162 s for NICE K = 8;
#: the whole figure (24 flows) takes over an hour.
FULL = Figure3Settings(steps=20_000, n_samples=256, lr_planar=1e-3, lr_nice=1e-3,
                       anneal_steps=10_000, hidden=64, eval_samples=20_000, grid=200,
                       grad_clip=10.0)


# --------------------------------------------------------------------------------------------
# The flows
# --------------------------------------------------------------------------------------------


class AdditiveConditioner(nn.Module):
    """NICE's additive coupling function: a shift ``t = MLP(z_c)`` and a log-scale of 0.

    With it an ``AffineCoupling`` becomes NICE's additive coupling ``x_t = z_t + t(z_c)``
    (Dinh et al. 2015, eq. 5), which preserves volume (``log|det J| = 0``). The MLP has two
    hidden ReLU layers; its last layer is zero-initialised, so a fresh layer is the identity.

    Arguments:
        in_features, out_features: numbers of conditioning and transformed coordinates.
        hidden: width of the hidden layers.
    """

    def __init__(self, in_features: int = 1, out_features: int = 1, hidden: int = 32) -> None:
        super().__init__()
        if not isinstance(hidden, int) or isinstance(hidden, bool) or hidden < 1:
            raise ValueError(f"AdditiveConditioner: hidden must be a positive integer; "
                             f"got {hidden!r}")
        self.net = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, out_features))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, z_cond: Tensor) -> tuple[Tensor, Tensor]:
        t = self.net(z_cond)
        return torch.zeros_like(t), t


def _check_k(k: object, owner: str) -> int:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"{owner}: K must be a positive integer; got {k!r}")
    return k


def planar_flow(k: int, seed: int = 0) -> Flow:
    """``K`` planar layers (Rezende & Mohamed 2015, eq. 10) on a standard normal base, with
    small random ``w``, ``u`` (std 0.1, from a generator seeded with ``seed``) and ``b = 0``."""
    k = _check_k(k, "planar_flow")
    g = torch.Generator().manual_seed(seed)
    return Flow([Planar(0.1 * torch.randn(2, generator=g), 0.1 * torch.randn(2, generator=g), 0.0)
                 for _ in range(k)])


def nice_flow(k: int, hidden: int = 32, seed: int = 0) -> Flow:
    """A NICE flow (Dinh, Krueger & Bengio 2015, arXiv:1410.8516): ``K`` additive coupling
    layers, alternating which coordinate conditions the other, then NICE's diagonal scaling
    layer (sec. 3.3), here an ``ElementwiseAffine`` (scale and shift). Every layer starts as the
    identity; the MLPs' hidden weights are drawn from a generator seeded with ``seed``."""
    k = _check_k(k, "nice_flow")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        couplings = [AffineCoupling([i % 2, 1 - i % 2], AdditiveConditioner(1, 1, hidden),
                                    scale="exp") for i in range(k)]
    return Flow([*couplings, ElementwiseAffine([0.0, 0.0], [0.0, 0.0])])


_FLOW_MAKERS: dict[str, Callable[[int, Figure3Settings, int], Flow]] = {
    "planar": lambda k, s, seed: planar_flow(k, seed),
    "nice": lambda k, s, seed: nice_flow(k, s.hidden, seed),
}


# --------------------------------------------------------------------------------------------
# Training (pure torch)
# --------------------------------------------------------------------------------------------


@dataclass
class Figure3Result:
    """One fitted flow of Figure 3.

    Attributes:
        energy: ``"U1"`` … ``"U4"``.
        kind: ``"planar"`` or ``"nice"``.
        k: flow length K (number of planar or coupling layers).
        bound: the variational free energy ``F = E_q[ln q + U_c] ≥ -ln Z_c`` (nats) after
            training, estimated from ``settings.eval_samples`` samples.
        stderr: its Monte Carlo standard error.
        reference: ``-ln Z_c`` of the (confined) energy: no flow's bound lies below it.
        seconds: wall-clock training time.
        restarts: how often training diverged and went on from the last good parameters with
            half the learning rate.
        flow: the trained flow.
    """

    energy: str
    kind: str
    k: int
    bound: float
    stderr: float
    reference: float
    seconds: float
    restarts: int = 0
    flow: Flow | None = field(default=None, repr=False)

    @property
    def gap(self) -> float:
        """``F + ln Z = KL(q‖p)``, how far the flow is from the target (≥ 0 up to noise)."""
        return self.bound - self.reference


def _check_names(energies: Sequence[str], ks: Sequence[int]) -> tuple[list[str], list[int]]:
    if isinstance(energies, str):
        energies = (energies,)
    names = [energy(name).name for name in energies]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"energies must be distinct names among {ENERGY_NAMES}; "
                         f"got {energies!r}")
    ks = [_check_k(k, "figure3") for k in ks]
    if not ks or len(set(ks)) != len(ks):
        raise ValueError(f"ks must be distinct positive integers; got {ks!r}")
    return names, sorted(ks)


def _train(flow: Flow, target: Energy, lr: float, settings: Figure3Settings, seed: int) -> int:
    """Reverse KL for ``settings.steps`` steps; on divergence go on with half the rate."""
    vi = ReverseKL(flow, target, n_samples=settings.n_samples,
                   anneal_steps=settings.anneal_steps, lr=lr, seed=seed,
                   grad_clip=settings.grad_clip)
    restarts = 0
    while vi.step_count < settings.steps:
        try:
            vi.step()
        except TrainingDiverged:
            restarts += 1
            if restarts > 5:
                break
            vi.lr = vi.lr / 2
    return restarts


def fit_figure3(energies: Sequence[str] = ENERGY_NAMES, ks: Sequence[int] = (2, 8, 32),
                *, full: bool = False, seed: int = 0, settings: Figure3Settings | None = None,
                kinds: Sequence[str] = FLOW_KINDS,
                progress: Callable[[Figure3Result], None] | None = None
                ) -> list[Figure3Result]:
    r"""Fit planar and NICE flows of each length K to each energy by reverse KL.

    Each flow ``q`` minimises the free energy of Rezende & Mohamed (2015), eq. 15, against the
    *confined* energy ``U_c = U + ½(d/s)²`` (``Energy.confined``: U2–U4 are not integrable on
    ℝ², so without the wall the loss has no lower bound), with the paper's annealing
    ``β_t = min(1, 0.01 + t/T)``; then ``F = E_q[ln q + U_c] ≥ -ln Z_c`` is estimated. The
    paper's finding: longer flows get tighter bounds, and planar flows need fewer parameters
    than NICE to get there — with these short runs, look at the ordering, not the values.

    Arguments:
        energies: names among ``ENERGY_NAMES``.
        ks: flow lengths K.
        full: use ``FULL`` (paper-length: 20 000 steps per flow) instead of ``FAST``.
        seed: seeds the flows' initial parameters and the training samples.
        settings: explicit settings (override ``full``).
        kinds: the flow families, a subset of ``FLOW_KINDS``.
        progress: called with each result as soon as it is ready.

    Returns:
        One :class:`Figure3Result` per (energy, kind, K), in that nesting order.

    References:
        D. J. Rezende and S. Mohamed, "Variational Inference with Normalizing Flows", ICML 2015,
        arXiv:1505.05770, sec. 6.1 and Figure 3; L. Dinh, D. Krueger and Y. Bengio, "NICE:
        Non-linear Independent Components Estimation", ICLR 2015 workshop, arXiv:1410.8516.
    """
    names, ks = _check_names(energies, ks)
    bad = [k for k in kinds if k not in FLOW_KINDS]
    if bad or not kinds:
        raise ValueError(f"kinds must be among {FLOW_KINDS}; got {tuple(kinds)!r}")
    s = settings if settings is not None else (FULL if full else FAST)
    if not isinstance(s, Figure3Settings):
        raise ValueError(f"settings must be a Figure3Settings; got {type(s).__name__}")
    results = []
    for name in names:
        target = energy(name).confined(s.envelope)
        reference = -target.log_z
        for kind in kinds:
            lr = s.lr_planar if kind == "planar" else s.lr_nice
            for k in ks:
                flow = _FLOW_MAKERS[kind](k, s, seed)
                start = time.perf_counter()
                restarts = _train(flow, target, lr, s, seed)
                seconds = time.perf_counter() - start
                try:
                    bound, stderr = variational_bound(
                        flow, target, s.eval_samples,
                        generator=torch.Generator().manual_seed(seed + 1))
                except ValueError:
                    bound, stderr = math.inf, math.inf
                result = Figure3Result(name, kind, k, bound, stderr, reference, seconds,
                                       restarts, flow)
                results.append(result)
                if progress is not None:
                    progress(result)
    return results


def results_table(results: Sequence[Figure3Result]) -> dict[str, dict[str, float]]:
    """``{energy: {"-ln Z": …, "planar K=2": F, …, "nice K=32": F}}``, bounds in nats."""
    table: dict[str, dict[str, float]] = {}
    for r in results:
        row = table.setdefault(r.energy, {"-ln Z": r.reference})
        row[f"{r.kind} K={r.k}"] = r.bound
    return table


# --------------------------------------------------------------------------------------------
# The panel (bqplot)
# --------------------------------------------------------------------------------------------


def _true_density(target: Energy, n: int) -> np.ndarray:
    _, _, pts = grid_points(target.bounds, n, dtype=torch.float64)
    dens = torch.exp(-target(pts) - target.log_z)
    return np.ascontiguousarray(dens.reshape(n, n).to(torch.float32).numpy())


def _two_digit_ceiling(value: float) -> float:
    """``value`` rounded up to two significant digits (a readable top for a colour bar)."""
    if not (math.isfinite(value) and value > 0):
        return 1.0
    unit = 10.0 ** (math.floor(math.log10(value)) - 1)
    return math.ceil(value / unit * (1 - 1e-12)) * unit


#: Colours of the two flow families in the bound plots.
_KIND_COLORS = {"planar": "#1f77b4", "nice": "#d62728"}
_KIND_LABELS = {"planar": "planar", "nice": "NICE"}


def _bound_figure(name: str, results: list[Figure3Result], size: int) -> bqplot.Figure:
    ks = sorted({r.k for r in results})
    reference = results[0].reference
    values = [r.bound for r in results if math.isfinite(r.bound)] + [reference]
    lo, hi = min(values), max(values)
    pad = 0.1 * (hi - lo) + 0.05
    xs = bqplot.LogScale(min=ks[0] / 1.5, max=ks[-1] * 1.5)
    ys = bqplot.LinearScale(min=lo - pad, max=hi + pad)
    marks: list[bqplot.Mark] = [bqplot.Lines(
        x=np.asarray([ks[0] / 1.5, ks[-1] * 1.5], np.float32),
        y=np.full(2, reference, np.float32), scales={"x": xs, "y": ys}, colors=["black"],
        line_style="dashed", labels=["-ln Z"])]
    for kind in FLOW_KINDS:
        rows = sorted((r for r in results if r.kind == kind and math.isfinite(r.bound)),
                      key=lambda r: r.k)
        if rows:
            marks.append(bqplot.Lines(
                x=np.asarray([r.k for r in rows], np.float32),
                y=np.asarray([r.bound for r in rows], np.float32), scales={"x": xs, "y": ys},
                colors=[_KIND_COLORS[kind]], marker="circle", labels=[kind]))
    axes = [bqplot.Axis(scale=xs, label="flow length K", tick_values=np.asarray(ks, np.float32),
                        tick_format="d"),
            bqplot.Axis(scale=ys, orientation="vertical", label="F (nats)", tick_format=".1f",
                        num_ticks=4, label_offset="36px")]
    fig = bqplot.Figure(marks=marks, axes=axes, title=f"{name}: bound F vs K",
                        animation_duration=0,
                        fig_margin={"top": 30, "bottom": 40, "left": 48, "right": 8},
                        title_style={"font-size": "13px"},
                        layout=ipywidgets.Layout(width=f"{int(size * 1.3)}px",
                                                 height=f"{size}px"))
    fig.add_class("nfw-figure3-bound")
    return fig


def _bound_legend(kinds: Sequence[str]) -> ipywidgets.HTML:
    """The key of a bound plot: one coloured dot per flow family and the dashed -ln Z line."""
    items = [f"<span style='color:{_KIND_COLORS[k]}'>● {_KIND_LABELS[k]}</span>" for k in kinds]
    return ipywidgets.HTML("<div style='font-size:11px;line-height:1.2'>"
                           + " &nbsp;".join(items) + " &nbsp;<b>- -</b> −ln Z</div>")


def _html_table(results: Sequence[Figure3Result]) -> str:
    ks = sorted({r.k for r in results})
    kinds = [k for k in FLOW_KINDS if any(r.kind == k for r in results)]
    cell = "style='padding:1px 10px;text-align:right'"
    head = "".join(f"<th {cell}>{_KIND_LABELS[kind]} K={k}</th>" for kind in kinds for k in ks)
    rows = []
    for name, row in results_table(results).items():
        cells = "".join(f"<td {cell}>{row.get(f'{kind} K={k}', math.nan):.3f}</td>"
                        for kind in kinds for k in ks)
        rows.append(f"<tr><th {cell}>{html.escape(name)}</th><td {cell}>{row['-ln Z']:.3f}</td>"
                    f"{cells}</tr>")
    return ("<table class='nfw-figure3-table' style='font-size:12px;border-collapse:collapse'>"
            f"<tr><th></th><th {cell}>-ln Z</th>{head}</tr>{''.join(rows)}</table>"
            "<div style='font-size:11px;color:#555'>Bound F = E_q[ln q + U] in nats (lower is "
            "better; no flow goes below -ln Z).</div>")


class Figure3Panel:
    """Figure 3 of Rezende & Mohamed (2015) as widgets (build it with :func:`figure3_panel`).

    Attributes:
        widget: the ``ipywidgets.VBox`` to display (the object displays itself, too).
        figures: name → ``bqplot.Figure``: ``"U1/true"``, ``"U1/planar/K=8"``,
            ``"U1/nice/K=32"``, …, and ``"U1/bound"`` (the bound against K with the
            ``-ln Z`` line).
        panels: name → ``FieldPanel`` for the density panels.
        results: the :class:`Figure3Result` list of :func:`fit_figure3`.
        table: ``{energy: {"-ln Z": …, "planar K=2": F, …}}`` (see ``results_table``).
        seconds: total wall-clock time (training and drawing).
    """

    def __init__(self, results: list[Figure3Result], settings: Figure3Settings,
                 size: int = 170) -> None:
        self.results = results
        self.settings = settings
        self.table = results_table(results)
        self.figures: dict[str, bqplot.Figure] = {}
        self.panels: dict[str, FieldPanel] = {}
        self.seconds = 0.0
        self._legends: list[ipywidgets.HTML] = []
        rows = []
        for name in self.table:
            target = energy(name).confined(settings.envelope)
            true = _true_density(target, settings.grid)
            vmax = _two_digit_ceiling(float(true.max()))
            row: list[ipywidgets.Widget] = []
            runs = [r for r in results if r.energy == name]
            titles = [("true", f"{name}: true density", None)] + [
                (f"{r.kind}/K={r.k}", f"{'Planar' if r.kind == 'planar' else 'NICE'} K={r.k}",
                 r) for r in runs]
            for key, title, run in titles:
                panel = FieldPanel(title, target.bounds, 0.0, vmax, label="density",
                                   size=size, css_class="nfw-figure3-panel")
                if run is None:
                    panel.update(true)
                else:
                    grid = density_grid(run.flow, target.bounds, settings.grid)
                    panel.update(grid.density, mask=~grid.unique)
                self.panels[f"{name}/{key}"] = panel
                self.figures[f"{name}/{key}"] = panel.figure
                row.append(panel.figure)
            row.append(self.panels[f"{name}/true"].colorbar)
            bound = _bound_figure(name, runs, size)
            self.figures[f"{name}/bound"] = bound
            self._legends.append(_bound_legend([k for k in FLOW_KINDS
                                                if any(r.kind == k for r in runs)]))
            row.append(ipywidgets.VBox([bound, self._legends[-1]]))
            rows.append(ipywidgets.HBox(row))
        self.html = ipywidgets.HTML(_html_table(results))
        self.widget = ipywidgets.VBox([*rows, self.html])
        self.widget.add_class("nfw-figure3")

    def _repr_mimebundle_(self, **kwargs: object) -> dict | None:
        return self.widget._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Close every widget of the panel (figures, images, colour bars)."""
        for panel in self.panels.values():
            panel.close()
        for fig in self.figures.values():
            for mark in fig.marks:
                mark.close()
            fig.close()
        for widget in (*self._legends, self.html, *self.widget.children, self.widget):
            widget.close()


def figure3_panel(energies: Sequence[str] = ENERGY_NAMES, ks: Sequence[int] = (2, 8, 32),
                  full: bool = False, seed: int = 0, *, settings: Figure3Settings | None = None,
                  kinds: Sequence[str] = FLOW_KINDS, size: int = 170) -> Figure3Panel:
    """Train the flows of Figure 3 (:func:`fit_figure3`) and lay them out as bqplot figures.

    One row per energy: the true density ``exp(-U)/Z`` on ``[-4, 4]²``, the densities of the
    planar flows with K = 2, 8, 32, those of the NICE flows at the same K (all on the true
    density's colour scale), the colour bar, and the bound F against K with the ``-ln Z`` line;
    under the rows a table of the bounds.

    ``full=False`` (``FAST``: 80 steps per flow, about 10–20 s for the whole figure on one
    core) shows the trend with under-trained flows; ``full=True`` (``FULL``: 20 000 steps per
    flow with the paper's annealing) is the paper-length run and takes over an hour on a CPU.

    Arguments:
        energies, ks, full, seed, settings, kinds: see :func:`fit_figure3`.
        size: side of each density panel in pixels.

    Returns:
        A :class:`Figure3Panel` (display it, or its ``.widget``).

    References:
        D. J. Rezende and S. Mohamed, "Variational Inference with Normalizing Flows", ICML 2015,
        arXiv:1505.05770, Figure 3.
    """
    if not isinstance(size, int) or isinstance(size, bool) or not 80 <= size <= 600:
        raise ValueError(f"size must be an integer in [80, 600] (pixels); got {size!r}")
    start = time.perf_counter()
    s = settings if settings is not None else (FULL if full else FAST)
    results = fit_figure3(energies, ks, seed=seed, settings=s, kinds=kinds)
    panel = Figure3Panel(results, s, size=size)
    panel.seconds = time.perf_counter() - start
    return panel
