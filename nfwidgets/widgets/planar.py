"""``PlanarExplorer``: sliders for w, u, b of one planar layer; live density and log|det J|."""

from __future__ import annotations

import ipywidgets as W
import torch

from ..flows.base import Layer
from ..flows.compose import Flow
from ..flows.planar import Planar
from ..plots import lines_mark, set_lines
from ..view import line_segment
from .base import Explorer

__all__ = ["PlanarExplorer", "slider"]


def slider(description: str, value: float, lo: float, hi: float, step: float = 0.05
           ) -> W.FloatSlider:
    """A float slider with a typed-in readout and live updates while dragging."""
    return W.FloatSlider(value=value, min=lo, max=hi, step=step, description=description,
                         continuous_update=True, readout_format=".2f",
                         style={"description_width": "40px"},
                         layout=W.Layout(width="260px"))


class PlanarExplorer(Explorer):
    r"""Explore one planar layer ``f(z) = z + û tanh(wᵀz + b)`` (Rezende & Mohamed 2015, eq. 10).

    Sliders bind to ``w₁, w₂, u₁, u₂, b``; readouts show û and wᵀû. The "constraint" toggle
    switches the reparametrisation that keeps wᵀû > -1: with it off and wᵀu < -1 the map folds
    the plane, det J changes sign on two lines (drawn dashed), points between the fold images
    have three preimages (grey: no single density there), and a warning explains why.

    Arguments:
        layer: the ``Planar`` layer to explore (a new one by default).
        **kwargs: passed to ``Explorer`` (bounds, resolution, redraw_delay, ...).
    """

    css_class = "nfw-planar-explorer"

    def __init__(self, layer: Planar | None = None, **kwargs: object) -> None:
        layer = layer if layer is not None else Planar([1.5, 0.0], [1.0, 0.5], 0.0)
        if not isinstance(layer, Planar) or layer.dim != 2:
            raise ValueError(f"PlanarExplorer needs a 2-D Planar layer; got {layer!r}")
        self.layer = layer
        super().__init__(Flow([layer]).to(torch.float32), **kwargs)
        w, u, b = (t.detach().tolist() for t in (layer.w, layer.u, layer.b))
        self._bind("w1", slider("w₁", w[0], -4, 4), lambda v: self._set("w", 0, v))
        self._bind("w2", slider("w₂", w[1], -4, 4), lambda v: self._set("w", 1, v))
        self._bind("u1", slider("u₁", u[0], -4, 4), lambda v: self._set("u", 0, v))
        self._bind("u2", slider("u₂", u[1], -4, 4), lambda v: self._set("u", 1, v))
        self._bind("b", slider("b", b, -3, 3), lambda v: self._set("b", None, v))
        self._bind("constrain", W.ToggleButton(value=layer.constrain,
                                               description="constraint wᵀû ≥ −1",
                                               tooltip="reparametrise u so the map stays "
                                                       "invertible", icon="lock",
                                               layout=W.Layout(width="200px")),
                   self._set_constrain)
        self.params = W.HTML()
        self.params.add_class("nfw-params")
        sz, sx = self.panels["base"].scales, self.panels["density"].scales
        self._fold_z = lines_mark(sz, color="#ff3b3b", width=2, opacity=1.0, dashed=True)
        self._fold_x = lines_mark(sx, color="#ff3b3b", width=2, opacity=1.0, dashed=True)
        self.panels["base"].add_marks(self._fold_z)
        self.panels["density"].add_marks(self._fold_x)
        c = self.controls
        self._layout([W.HBox([W.VBox([c["w1"], c["w2"]]), W.VBox([c["u1"], c["u2"]]),
                              W.VBox([c["b"], c["constrain"]])]), self.params])
        self.redraw()

    def _set(self, name: str, index: int | None, value: float) -> None:
        p = getattr(self.layer, name)
        with torch.no_grad():
            if index is None:
                p.fill_(float(value))
            else:
                p[index] = float(value)

    def _set_constrain(self, value: bool) -> None:
        self.layer.constrain = bool(value)

    def _before_redraw(self) -> None:
        layer: Layer = self.layer
        u_hat = layer.u_hat.tolist()
        c, one_plus_c = (float(v.detach()) for v in layer._c())
        self.params.value = (f"û = ({u_hat[0]:+.3f}, {u_hat[1]:+.3f}) · "
                             f"wᵀû = <b>{c:+.3f}</b> (1 + wᵀû = {one_plus_c:.3g})"
                             + ("" if layer.constrain else " · constraint <b>off</b>"))
        w = tuple(layer.w.detach().tolist())
        fold_z = layer.singular_projections()
        fold_x = layer.fold_interval()
        self._set_fold(self._fold_z, w, fold_z)
        self._set_fold(self._fold_x, w, fold_x)
        if fold_z is not None and fold_x is None:  # wᵀû = -1 exactly (or rounds to it)
            self.show_warning(
                "⚠ 1 + wᵀû = 0 (to float32 precision): the map is still one-to-one, but "
                "det J = 0 on the dashed line, so the density is infinite there: the plot "
                "clips it to the top of the colour scale.")
        elif fold_z is not None:
            self.show_warning(
                f"⚠ wᵀû = {c:.3f} < −1: the map is <b>not invertible</b>. It folds the plane: "
                "det J = 0 on the dashed lines (left) and is negative between them, and points "
                "between the dashed lines on the right have three preimages (grey), so "
                "p(x) has no single value there. Turn the constraint on to restore "
                "invertibility.")
        else:
            self.show_warning(None)

    def _set_fold(self, mark: object, w: tuple[float, float],
                  values: tuple[float, float] | None) -> None:
        segs = [line_segment(w, v, self.bounds) for v in values] if values else []
        segs = [s for s in segs if s is not None]
        if segs:
            set_lines(mark, [s[0] for s in segs], [s[1] for s in segs])
        else:
            mark.visible = False
