"""``RadialExplorer``: sliders for z₀, α, β of one radial layer; drag z₀ on the plots."""

from __future__ import annotations

import ipywidgets as W
import torch

from .._checks import shown
from ..flows.compose import Flow
from ..flows.radial import Radial
from ..plots import lines_mark, set_lines
from ..view_2d import circle_lines
from ._handles import PointHandle
from ._lifetime import builds_widgets
from .base import Explorer
from .readouts import describe

__all__ = ["RadialExplorer"]


class RadialExplorer(Explorer):
    r"""Explore one radial layer ``f(z) = z + β̂ h(α, r)(z − z₀)``, ``h = 1/(α + r)``,
    ``r = ‖z − z₀‖`` (Rezende & Mohamed 2015, eq. 14).

    Sliders bind to z₀ (also set by dragging the red cross, or by clicking a plot), α (on a
    log scale, so α > 0) and the raw β; a readout shows the effective β̂ and α + β̂. With the
    constraint on, β̂ = −α + softplus(β) > −α and the map is a bijection: β̂ > 0 pushes mass away
    from z₀, −α < β̂ < 0 pulls it in. With the constraint off and β < −α the map turns the
    neighbourhood of z₀ inside out: det J = 0 on two circles (dashed, left), points within
    ``Radial.fold_radius()`` of z₀ have three preimages (grey, dashed circle on the right), and
    a warning explains why.

    Arguments:
        layer: the 2-D ``Radial`` layer to explore (a new one by default); it is moved to
            float32 and changed in place by the controls.
        **explorer_kwargs: passed to ``Explorer`` (bounds, resolution, redraw_delay, ...).

    References:
        D. Rezende and S. Mohamed, "Variational Inference with Normalizing Flows", ICML 2015,
        arXiv:1505.05770, sec. 4.1 and appendix A.2.
    """

    css_class = "nfw-radial-explorer"

    @builds_widgets
    def __init__(self, layer: Radial | None = None, **explorer_kwargs: object) -> None:
        layer = layer if layer is not None else Radial([1.0, 0.5], alpha=0.5, beta=1.0)
        if not isinstance(layer, Radial) or layer.dim != 2:
            raise ValueError(f"RadialExplorer needs a 2-D Radial layer; got {shown(layer)}")
        super().__init__(Flow([layer]).to(torch.float32), **explorer_kwargs)
        controls = self._bind_layer(layer)
        self.params = W.HTML()
        self.params.add_class("nfw-params")
        base, dens, logdet = (self.panels[k] for k in ("base", "density", "log_det"))
        self._fold_z = lines_mark(base.scales, color="#ff3b3b", width=2, opacity=1.0,
                                  dashed=True)
        self._fold_x = lines_mark(dens.scales, color="#ff3b3b", width=2, opacity=1.0,
                                  dashed=True)
        self._fold_x_log_det = lines_mark(logdet.scales, color="#ff3b3b", width=2,
                                          opacity=1.0, dashed=True)
        base.add_marks(self._fold_z)
        dens.add_marks(self._fold_x)
        logdet.add_marks(self._fold_x_log_det)
        # f(z₀) = z₀, so the centre is the same point in base and data space: one handle
        # in every panel.
        self.centre = PointHandle([base, dens, logdet], self._move_centre, name="z₀")
        hint = W.HTML("<span style='color:#666;font-size:12px'>drag the red cross or click a "
                      "plot to move z₀</span>")
        self._layout([controls, hint, self.params])
        self.redraw()

    @property
    def layer(self) -> Radial:
        """The layer shown (``flow.layers[0]``)."""
        return self.flow.layers[0]

    # --- plots → controls ----------------------------------------------------------------
    def _move_centre(self, x: float, y: float) -> None:
        """A drag or click: both coordinates of z₀ in one change, one redraw."""
        with self.scheduler.hold():
            self.controls["z0_1"].value = x
            self.controls["z0_2"].value = y
        # The sliders may have clamped the point to the view: show where it really is.
        self.centre.place(*self.layer.z0.detach().tolist())

    # --- engine → plots ------------------------------------------------------------------
    def _before_redraw(self) -> None:
        layer = self.layer
        alpha = float(layer.alpha.detach())
        beta_hat = float(layer.beta_hat.detach())
        self.params.value = describe(layer)
        z0 = layer.z0.detach().tolist()
        self.centre.place(z0[0], z0[1])
        radii = layer.singular_radii()
        fold = layer.fold_radius()
        self._set_circles(self._fold_z, z0, radii)
        self._set_circles(self._fold_x, z0, (fold,) if fold else None)
        self._set_circles(self._fold_x_log_det, z0, (fold,) if fold else None)
        if radii is not None:
            r_star, r_collapse = radii
            self.show_warning(
                f"⚠ β̂ = {beta_hat:.3f} &lt; −α = {-alpha:.3f}: the map is <b>not "
                "invertible</b>. It turns the neighbourhood of z₀ inside out: the disc of radius "
                f"{r_collapse:.2f} around z₀ is pushed through z₀ to the other side (its rim is "
                f"squeezed onto z₀), and det J = 0 on the dashed circles on the left (radii "
                f"{r_star:.2f} and {r_collapse:.2f}). Points closer to z₀ than "
                f"|φ<sub>min</sub>| = {fold:.2f} (dashed circle, right) have three preimages "
                "(grey): p(x) is the sum over the three, which the flow's formula (one "
                "preimage) does not give. Turn the constraint on, or raise β to at least −α.")
        else:
            self.show_warning(None)

    def _set_circles(self, mark: object, centre: list[float],
                     radii: tuple[float, ...] | None) -> None:
        if radii:
            set_lines(mark, *circle_lines(centre, radii))
        else:
            mark.visible = False
