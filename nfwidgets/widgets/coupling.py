"""``CouplingExplorer``: one 2-D affine coupling layer with a five-parameter conditioner, and
its triangular Jacobian at a probe point you can drag."""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
import torch

from .._checks import shown
from ..flows.compose import Flow
from ..flows.conditioners import SimpleConditioner
from ..flows.coupling import AffineCoupling
from ..layer_controls import ControlSpec
from ..plots import points_mark, set_points
from ..view_2d import Probe, coupling_probe
from ._handles import PointHandle
from ._lifetime import builds_widgets
from .base import Explorer
from .controls import control_class, control_row, make_control
from .readouts import describe
from .slider_snap import is_display_snap

__all__ = ["PROBE_CONTROLS", "CouplingExplorer"]

#: The probe point z: a point the learner can also drag on the base plot (view axes 0, 1).
PROBE_CONTROLS = (ControlSpec("probe_1", "z₁", "", lo=-4.0, hi=4.0, axis=0),
                  ControlSpec("probe_2", "z₂", "", lo=-4.0, hi=4.0, axis=1))

_SUB = {0: "₁", 1: "₂"}


class CouplingExplorer(Explorer):
    r"""Explore one affine coupling layer (Dinh et al. 2017, RealNVP, eq. 6–9) in 2-D.

    With "x₁ conditions x₂" (mask b = [1, 0]): ``x₁ = z₁``, ``x₂ = z₂·exp(ℓ(z₁)) + t(z₁)``, with
    ``s(c) = s_slope·c + s_shift``, ``ℓ = rule(s)`` and ``t(c) = t_amplitude·sin(t_frequency·c)
    + t_shift`` (``SimpleConditioner``). Every vertical line stays vertical: it is stretched
    by ``exp(ℓ)`` and shifted by ``t``. The Jacobian is triangular,

    .. math:: J = \begin{pmatrix} 1 & 0 \\ \partial x_2/\partial z_1 & e^{\ell(z_1)}
              \end{pmatrix}, \qquad \log|\det J| = \ell(z_1),

    so the density needs no derivative of the conditioner, however complicated ``t`` is. The
    panel on the right shows J at a probe point z (drag the white circle or click the base
    plot), computed by the engine (``AffineCoupling.jacobian``), with its zero entry marked.

    Controls: "split" (which coordinate conditions), "scale" (one of ``SCALE_RULES``), the
    five conditioner parameters, and "probe_1", "probe_2". Changing the split builds a new
    ``AffineCoupling`` with the other mask that shares the conditioner and scale rule, so the
    other sliders keep their values; ``explorer.layer`` is always the layer shown.

    Arguments:
        layer: a 2-D ``AffineCoupling`` with a ``SimpleConditioner`` (a new one by default);
            moved to float32 and changed in place by the sliders.
        **explorer_kwargs: passed to ``Explorer`` (bounds, resolution, redraw_delay, ...).

    References:
        L. Dinh, J. Sohl-Dickstein and S. Bengio, "Density estimation using Real NVP",
        ICLR 2017, arXiv:1605.08803.
    """

    css_class = "nfw-coupling-explorer"

    @builds_widgets
    def __init__(self, layer: AffineCoupling | None = None,
                 **explorer_kwargs: object) -> None:
        if layer is None:
            layer = AffineCoupling([1, 0], SimpleConditioner(s_slope=0.5, t_amplitude=1.0,
                                                             t_frequency=1.5), scale="tanh")
        if not isinstance(layer, AffineCoupling) or layer.dim != 2:
            raise ValueError(f"CouplingExplorer needs a 2-D AffineCoupling layer"
                             f"; got {shown(layer)}")
        if not isinstance(layer.conditioner, SimpleConditioner):
            raise ValueError("CouplingExplorer needs a layer with a SimpleConditioner (five "
                             f"sliders); got {type(layer.conditioner).__name__}")
        super().__init__(Flow([layer]).to(torch.float32), **explorer_kwargs)
        controls = self._bind_layer(layer)
        (x0, x1), (y0, y1) = self.bounds
        start = (min(max(1.0, x0), x1), min(max(1.0, y0), y1))
        # The probe only moves the Jacobian table and two markers: no full redraw.
        self._probe_hold = False
        for spec, value in zip(PROBE_CONTROLS, start, strict=True):
            probe_slider = make_control(spec, value, self.bounds, on_error=self._show_error)
            probe_slider.add_class(control_class(spec.name))
            probe_slider.observe(self._on_probe_change, "value")
            self.controls[spec.name] = probe_slider
        self.params = W.HTML()
        self.params.add_class("nfw-params")
        self.jacobian_html = W.HTML()
        self.jacobian_html.add_class("nfw-jacobian")
        self.last_jacobian: np.ndarray | None = None
        self.last_probe_log_det: float | None = None
        self.probe = PointHandle([self.panels["base"]], self._move_probe, color="white",
                                 marker="circle", size=64, name="z")
        self._probe_image = points_mark(self.panels["density"].scales, color="white", size=64,
                                        opacity=1.0)
        self.panels["density"].add_marks(self._probe_image)
        c = self.controls
        jac_box = W.VBox([W.HTML("<b>Jacobian ∂x/∂z at the probe z</b>"), self.jacobian_html,
                          *map(control_row, (c["probe_1"], c["probe_2"]))],
                         layout=W.Layout(width="460px"))
        self._layout([controls, self.params], [jac_box])
        self.redraw()

    @property
    def layer(self) -> AffineCoupling:
        """The layer shown (``flow.layers[0]``; a new split makes a new layer)."""
        return self.flow.layers[0]

    # --- the probe -------------------------------------------------------------------------
    def _move_probe(self, x: float, y: float) -> None:
        self._probe_hold = True  # both coordinates first, then one update
        try:
            self.controls["probe_1"].value = x
            self.controls["probe_2"].value = y
        finally:
            self._probe_hold = False
        self._refresh_probe()
        self.probe.place(self.controls["probe_1"].value, self.controls["probe_2"].value)

    def _on_probe_change(self, change: dict) -> None:
        if self._probe_hold or is_display_snap(change, change["old"]):
            return
        self._refresh_probe()

    def _refresh_probe(self) -> None:
        """Update the Jacobian table and the probe markers only (errors to the message area)."""
        try:
            self._update_probe()
        except Exception as err:  # shown to the learner; state kept
            self._show_error(err)
            return
        self._clear_error()

    # --- engine → plots ------------------------------------------------------------------
    def _before_redraw(self) -> None:
        self.params.value = describe(self.layer)
        self._update_probe()

    def _update_probe(self) -> None:
        """J, f(z) and log|det J| at the probe, from the view model, into the table and
        markers."""
        z = (float(self.controls["probe_1"].value), float(self.controls["probe_2"].value))
        self.probe.place(*z)
        probe = coupling_probe(self.layer, z)
        self.last_jacobian = probe.jacobian
        self.last_probe_log_det = probe.log_det
        set_points(self._probe_image, probe.x[:1], probe.x[1:])
        self.jacobian_html.value = self._jacobian_table(
            probe, int(self.layer.cond_index[0]), int(self.layer.trans_index[0]))

    @staticmethod
    def _jacobian_table(probe: Probe, cond_i: int, trans_i: int) -> str:
        z, x, jac, log_det = probe.z, probe.x, probe.jacobian, probe.log_det
        cells = []
        for i in range(2):
            row = []
            for j in range(2):
                zero = i == cond_i and j == trans_i
                style = ("background:#ffe08a;font-weight:bold" if zero else
                         "background:#f3f3f3")
                text = "0" if zero and jac[i, j] == 0 else f"{jac[i, j]:+.3f}"
                row.append(f"<td data-entry='{i},{j}' style='padding:4px 10px;"
                           f"text-align:right;{style}'>{text}</td>")
            cells.append(f"<tr><td style='padding-right:6px'>∂x{_SUB[i]}</td>{''.join(row)}"
                         "</tr>")
        c, t = _SUB[cond_i], _SUB[trans_i]
        return (
            f"<div style='font-size:13px'>z = ({z[0]:+.2f}, {z[1]:+.2f}) ↦ "
            f"x = ({x[0]:+.2f}, {x[1]:+.2f})"
            "<table style='border-collapse:separate;border-spacing:3px;margin:4px 0'>"
            "<tr><td></td><td style='text-align:center'>∂z₁</td>"
            f"<td style='text-align:center'>∂z₂</td></tr>{''.join(cells)}</table>"
            f"<span style='background:#ffe08a'>&nbsp;0&nbsp;</span> exactly: x{c} does not "
            f"depend on z{t}, so J is triangular and<br>log|det J| = log J{t}{t} = "
            f"ℓ(z{c}) = <b data-log-det='{log_det:.6g}'>{log_det:+.3f}</b>"
            f"<br><span style='color:#666'>({html.escape('no derivative of t needed')})"
            "</span></div>")
