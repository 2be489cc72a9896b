"""Figure 3 of Rezende & Mohamed (2015) as widgets: the true densities, the fitted densities and
the bound against K (bqplot). The experiment itself is ``nfwidgets.figure3.experiment``.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Sequence

import bqplot
import ipywidgets
import numpy as np

from .._checks import check_count, check_flag
from ..plots import FieldPanel
from ..targets import ENERGY_NAMES, energy
from .experiment import (
    FAST,
    FLOW_KINDS,
    FULL,
    Figure3Result,
    Figure3Settings,
    colour_top,
    fit_figure3,
    fitted_density,
    results_table,
    true_density,
)

__all__ = ["Figure3Panel", "figure3_panel"]

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
            bqplot.Axis(scale=ys, side="left", label="F (nats)", tick_format=".1f",
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
            true = true_density(target, settings.grid)
            vmax = colour_top(float(true.max()))
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
                    grid = fitted_density(run, settings)
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

    ``full=False`` (``FAST``: 80 steps per flow) shows the trend with under-trained flows;
    ``full=True`` (``FULL``: 20 000 steps per flow with the paper's annealing) is the
    paper-length run, 24 long fits.

    Arguments:
        energies, ks, full, seed, settings, kinds: see :func:`fit_figure3`.
        size: side of each density panel in pixels.

    Returns:
        A :class:`Figure3Panel` (display it, or its ``.widget``).

    References:
        D. J. Rezende and S. Mohamed, "Variational Inference with Normalizing Flows", ICML 2015,
        arXiv:1505.05770, Figure 3.
    """
    size = check_count("size", size, lo=80, hi=600)
    full = check_flag("full", full)
    start = time.perf_counter()
    s = settings if settings is not None else (FULL if full else FAST)
    results = fit_figure3(energies, ks, seed=seed, settings=s, kinds=kinds)
    panel = Figure3Panel(results, s, size=size)
    panel.seconds = time.perf_counter() - start
    return panel

