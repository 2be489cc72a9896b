"""``CouplingExplorer``: one 2-D affine coupling layer with a five-parameter conditioner, and
its triangular Jacobian at a probe point you can drag."""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
import torch

from ..flows.compose import Flow
from ..flows.conditioners import SimpleConditioner
from ..flows.coupling import SCALE_RULES, AffineCoupling
from ..plots import points_mark, set_points
from ._handles import BatchedExplorer, PointHandle
from .planar import slider
from .slider_snap import is_display_snap

__all__ = ["CONDITIONER_RANGES", "SPLITS", "CouplingExplorer"]

#: Split labels → mask (1 = the coordinate conditions and passes unchanged).
SPLITS: dict[str, tuple[int, int]] = {"x₁ conditions x₂": (1, 0), "x₂ conditions x₁": (0, 1)}

#: Teaching ranges of the ``SimpleConditioner`` sliders: name → (label, min, max).
CONDITIONER_RANGES: dict[str, tuple[str, float, float]] = {
    "s_slope": ("s slope", -2.0, 2.0),
    "s_shift": ("s shift", -2.0, 2.0),
    "t_amplitude": ("t amplitude", -3.0, 3.0),
    "t_frequency": ("t frequency", 0.0, 4.0),
    "t_shift": ("t shift", -2.0, 2.0),
}

_SUB = {0: "₁", 1: "₂"}


def _rule_text(rule: str, bound: float) -> str:
    """How the log-scale ℓ is made from the conditioner's raw output s (for the readout)."""
    b = f"{bound:g}"
    return {"exp": "ℓ = s (unbounded)",
            "tanh": f"ℓ = {b}·tanh(s/{b}) (RealNVP)",
            "softclip": f"ℓ = s/(1 + |s|/{b}) (soft clip)",
            "sigmoid": "ℓ = log σ(s + 2) &lt; 0 (Glow: can only shrink)"}[rule]


class CouplingExplorer(BatchedExplorer):
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

    def __init__(self, layer: AffineCoupling | None = None,
                 **explorer_kwargs: object) -> None:
        if layer is None:
            layer = AffineCoupling([1, 0], SimpleConditioner(s_slope=0.5, t_amplitude=1.0,
                                                             t_frequency=1.5), scale="tanh")
        if not isinstance(layer, AffineCoupling) or layer.dim != 2:
            raise ValueError(f"CouplingExplorer needs a 2-D AffineCoupling layer; got {layer!r}")
        if not isinstance(layer.conditioner, SimpleConditioner):
            raise ValueError("CouplingExplorer needs a layer with a SimpleConditioner (five "
                             f"sliders); got {type(layer.conditioner).__name__}")
        self.layer = layer
        super().__init__(Flow([layer]).to(torch.float32), **explorer_kwargs)
        self._bind("split", W.ToggleButtons(options=list(SPLITS), value=self._split_label(),
                                            tooltips=["mask b = [1, 0]", "mask b = [0, 1]"],
                                            style={"button_width": "130px"}),
                   self._set_split)
        self._bind("scale", W.Dropdown(options=list(SCALE_RULES), value=layer.scale,
                                       description="scale rule",
                                       style={"description_width": "70px"},
                                       layout=W.Layout(width="200px")), self._set_scale)
        cond = layer.conditioner
        for name, (label, lo, hi) in CONDITIONER_RANGES.items():
            v = float(getattr(cond, name).detach())
            w = slider(label, v, min(lo, v), max(hi, v))
            w.style.description_width = "80px"
            w.layout.width = "300px"
            self._bind(name, w, lambda value, name=name: self._set_parameter(name, value))
        (x0, x1), (y0, y1) = self.bounds
        p = (min(max(1.0, x0), x1), min(max(1.0, y0), y1))
        # The probe only moves the Jacobian table and two markers: no full redraw.
        self._probe_hold = False
        for name, label, value, lo, hi in (("probe_1", "z₁", p[0], x0, x1),
                                           ("probe_2", "z₂", p[1], y0, y1)):
            probe_slider = slider(label, value, lo, hi)
            probe_slider.add_class(f"nfw-control-{name}")
            probe_slider.observe(self._on_probe_change, "value")
            self.controls[name] = probe_slider
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
        sliders = [c[name] for name in CONDITIONER_RANGES]
        jac_box = W.VBox([W.HTML("<b>Jacobian ∂x/∂z at the probe z</b>"), self.jacobian_html,
                          c["probe_1"], c["probe_2"]], layout=W.Layout(width="460px"))
        self._layout([W.HBox([c["split"], c["scale"]]),
                      W.HBox([W.VBox(sliders[:2]), W.VBox(sliders[2:])]), self.params],
                     [jac_box])
        self.redraw()

    # --- controls → engine ---------------------------------------------------------------
    def _split_label(self) -> str:
        mask = tuple(int(v) for v in self.layer.mask.tolist())
        return next(label for label, m in SPLITS.items() if m == mask)

    def _set_split(self, label: str) -> None:
        if label not in SPLITS:
            raise ValueError(f"split must be one of {list(SPLITS)}; got {label!r}")
        old = self.layer
        if tuple(int(v) for v in old.mask.tolist()) == SPLITS[label]:
            return
        mask = torch.tensor(SPLITS[label], dtype=old.mask.dtype, device=old.mask.device)
        new = AffineCoupling(mask, old.conditioner, scale=old.scale, bound=old.bound)
        self.flow.layers[0] = new
        self.layer = new

    def _set_scale(self, rule: str) -> None:
        if rule not in SCALE_RULES:
            raise ValueError(f"scale must be one of {SCALE_RULES}; got {rule!r}")
        self.layer.scale = rule

    def _set_parameter(self, name: str, value: float) -> None:
        with torch.no_grad():
            getattr(self.layer.conditioner, name).fill_(float(value))

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
        layer = self.layer
        cond_i = int(layer.cond_index[0])
        trans_i = int(layer.trans_index[0])
        self.params.value = (
            f"mask b = {[int(v) for v in layer.mask.tolist()]}: x{_SUB[cond_i]} passes "
            f"unchanged, x{_SUB[trans_i]} = z{_SUB[trans_i]}·exp(ℓ(z{_SUB[cond_i]})) + "
            f"t(z{_SUB[cond_i]}) · {_rule_text(layer.scale, layer.bound)}")
        self._update_probe()

    def _update_probe(self) -> None:
        """J, f(z) and log|det J| at the probe, from the engine, into the table and markers."""
        layer = self.layer
        cond_i = int(layer.cond_index[0])
        trans_i = int(layer.trans_index[0])
        z_probe = (float(self.controls["probe_1"].value), float(self.controls["probe_2"].value))
        self.probe.place(*z_probe)
        ref = layer.mask
        z = torch.tensor([z_probe], dtype=ref.dtype, device=ref.device)
        jac = layer.jacobian(z)[0].cpu().double().numpy()
        with torch.no_grad():
            x, log_det = layer(z)
        x_probe = x[0].cpu().double().numpy()
        if not (np.isfinite(jac).all() and np.isfinite(x_probe).all()
                and bool(torch.isfinite(log_det).all())):
            bad = [n for n, p in layer.named_parameters() if not bool(torch.isfinite(p).all())]
            raise ValueError(f"parameter(s) {bad} of the layer are not finite" if bad else
                             "the Jacobian at the probe point overflows; choose smaller scale "
                             "parameters or a bounded scale rule")
        self.last_jacobian = jac
        self.last_probe_log_det = float(log_det[0])
        set_points(self._probe_image, x_probe[:1], x_probe[1:])
        self.jacobian_html.value = self._jacobian_table(z_probe, x_probe, jac, cond_i, trans_i,
                                                        self.last_probe_log_det)

    @staticmethod
    def _jacobian_table(z: tuple[float, float], x: np.ndarray, jac: np.ndarray, cond_i: int,
                        trans_i: int, log_det: float) -> str:
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
