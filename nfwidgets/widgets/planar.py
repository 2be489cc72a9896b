"""``PlanarExplorer``: sliders for w, u, b of one planar layer; live density and log|det J|."""

from __future__ import annotations

import ipywidgets as W
import torch

from .._checks import shown
from ..flows.compose import Flow
from ..flows.planar import Planar, fold_interval, singular_projections
from ..plots import lines_mark, set_lines
from ..view import line_segment
from ._lifetime import builds_widgets
from .base import Explorer
from .readouts import describe

__all__ = ["PlanarExplorer"]


class PlanarExplorer(Explorer):
    r"""Explore one planar layer ``f(z) = z + û tanh(wᵀz + b)`` (Rezende & Mohamed 2015, eq. 10).

    Sliders bind to ``w₁, w₂, u₁, u₂, b``; readouts show û and wᵀû. The "constraint" toggle
    switches the reparametrisation that keeps wᵀû > -1: with it off and wᵀu < -1 the map folds
    the plane, det J changes sign on two lines (drawn dashed), points between the fold images
    have three preimages (grey: the layer is not invertible there, so the flow's one-preimage
    density formula does not hold), and a warning explains why.

    Arguments:
        layer: the ``Planar`` layer to explore (a new one by default).
        **kwargs: passed to ``Explorer`` (bounds, resolution, redraw_delay, ...).
    """

    css_class = "nfw-planar-explorer"

    @builds_widgets
    def __init__(self, layer: Planar | None = None, **kwargs: object) -> None:
        layer = layer if layer is not None else Planar([1.5, 0.0], [1.0, 0.5], 0.0)
        if not isinstance(layer, Planar) or layer.dim != 2:
            raise ValueError(f"PlanarExplorer needs a 2-D Planar layer; got {shown(layer)}")
        super().__init__(Flow([layer]).to(torch.float32), **kwargs)
        controls = self._bind_layer(layer)
        self.params = W.HTML()
        self.params.add_class("nfw-params")
        sz, sx = self.panels["base"].scales, self.panels["density"].scales
        self._fold_z = lines_mark(sz, color="#ff3b3b", width=2, opacity=1.0, dashed=True)
        self._fold_x = lines_mark(sx, color="#ff3b3b", width=2, opacity=1.0, dashed=True)
        self.panels["base"].add_marks(self._fold_z)
        self.panels["density"].add_marks(self._fold_x)
        self._layout([controls, self.params])
        self.redraw()

    @property
    def layer(self) -> Planar:
        """The layer shown (``flow.layers[0]``)."""
        return self.flow.layers[0]

    def _before_redraw(self) -> None:
        layer = self.layer
        effective = self.view.planar_parameters(layer)  # (û, c, 1 + c): derived once
        self.params.value = describe(layer, effective)
        c, b = float(effective[1]), float(layer.b.detach())
        w = tuple(layer.w.detach().tolist())
        fold_z, fold_x = singular_projections(c, b), fold_interval(c, b)
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
                "between the dashed lines on the right have three preimages (grey): p(x) is "
                "the sum over the three, which the flow's formula (one preimage) does not "
                "give. Turn the constraint on to restore invertibility.")
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
