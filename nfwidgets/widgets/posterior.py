"""``PosteriorExplorer``: how far a VAE's approximate posterior is from the true one, and how
amortised flow layers close the gap (Rezende & Mohamed 2015, §4, Table 2).

Three panels on a latent grid, all exact densities of one test digit x: the true posterior
p(z|x), the encoder's Gaussian q₀(z|x), and q_k(z|x) after the image's first k layers. The
readout gives ln p(x), ELBO_k and their difference KL(q_k ‖ p(z|x)). Clicking a point z
shows the decoder's mean image there. The numbers come from ``nfwidgets.posterior_view``.
"""

from __future__ import annotations

import base64

import bqplot
import ipywidgets as W
import numpy as np

from .._checks import check_count, check_real
from ..plots import FieldPanel, points_mark, set_points
from ..posterior_view import PosteriorFrame, PosteriorView
from ..render import field_to_png
from ._handles import click_point
from ._lifetime import builds_widgets, close_built, is_built
from .controls import ControlsMixin, control_row, typed_slider
from .scheduler import RedrawScheduler

__all__ = ["PosteriorExplorer"]

_STYLE = {"description_width": "70px"}


def _image_html(image: np.ndarray, caption: str, size: int = 96) -> str:
    """An 8×8 image (values 0–1, row 0 at the top) as a pixelated ``<img>`` with a caption."""
    png = base64.b64encode(field_to_png(np.ascontiguousarray(image[::-1]), 0.0, 1.0)).decode()
    return (f"<div style='font-size:11px;color:#444;text-align:center'>"
            f"<img src='data:image/png;base64,{png}' style='width:{size}px;height:{size}px;"
            f"image-rendering:pixelated;border:1px solid #ccc'/><br>{caption}</div>")


class PosteriorExplorer(ControlsMixin, W.VBox):
    """True posterior, encoder Gaussian and flow posterior of a test digit, side by side.

    Attributes:
        controls: ``"index"`` (test digit), ``"k"`` (layers applied).
        panels: ``"posterior"``, ``"q0"``, ``"qk"`` (``FieldPanel``; the q_k panel carries the
            CSS class ``nfw-figure-density``, the picture a browser test watches).
        view: the ``PosteriorView``.  last_frame: the last ``PosteriorFrame`` drawn.
        decoded: the last decoded mean image (8, 8) (``None`` before a click).

    Arguments:
        vae: a 2-D-latent ``FlowVAE`` (default: ``load_pretrained("flowvae-digits")``, K = 8).
        index: the test digit shown first.  k: layers applied first (default: all K).
        resolution: grid cells per side; ``coarse_resolution`` while a slider is dragged.
        redraw_delay: seconds a burst of slider events is gathered (0: draw at once; tests).
    """

    css_class = "nfw-posterior-explorer"

    @builds_widgets
    def __init__(self, vae=None, index: int = 0, *, k: int | None = None,
                 bounds=((-4.0, 4.0), (-4.0, 4.0)), resolution: int = 200,
                 coarse_resolution: int | None = None, redraw_delay: float = 0.03,
                 panel_size: int = 250) -> None:
        # Every argument is checked before the first widget model opens.
        resolution = check_count("resolution", resolution, lo=8, hi=1024)
        if coarse_resolution is not None:
            coarse_resolution = check_count("coarse_resolution", coarse_resolution, lo=8, hi=1024)
        panel_size = check_count("panel_size", panel_size, lo=80, hi=1200)
        if vae is None:
            from ..models.pretrained import load_pretrained

            vae = load_pretrained("flowvae-digits")
        self.view = PosteriorView(vae, bounds)
        k = self.view.layers if k is None else k
        index, k = self.view.check(index, k)
        self.scheduler = RedrawScheduler(self._draw_now, redraw_delay=redraw_delay)
        super().__init__()
        self.bounds = self.view.bounds
        self.resolution = resolution
        self.coarse_resolution = coarse_resolution or max(8, resolution // 2)
        self.redraw_delay = self.scheduler.redraw_delay
        self.controls: dict[str, W.ValueWidget] = {}
        self.last_frame: PosteriorFrame | None = None
        self.decoded: np.ndarray | None = None

        titles = {"posterior": ("true posterior p(z|x)", "nfw-figure-posterior"),
                  "q0": ("encoder q₀(z|x)", "nfw-figure-q0"),
                  "qk": ("flow q_k(z|x)", "nfw-figure-density")}
        self.panels = {name: FieldPanel(title, self.bounds, 0.0, 1.0, "viridis",
                                        "÷ peak of p(z|x)", panel_size, css)
                       for name, (title, css) in titles.items()}
        self.figures = {name: p.figure for name, p in self.panels.items()}
        self._markers: list[bqplot.Scatter] = []
        for panel in self.panels.values():
            panel.figure.axes[0].label, panel.figure.axes[1].label = "z₁", "z₂"
            marker = points_mark(panel.scales, color="#ff3b3b", size=40, opacity=1.0)
            panel.add_marks(marker)
            panel.mark.on_element_click(self._clicked)
            self._markers.append(marker)

        self._bind("index", typed_slider(W.IntSlider(
            value=index, min=0, max=self.view.n_images - 1, description="test digit",
            style=_STYLE, layout=W.Layout(width="320px"))), lambda v: None)
        self._bind("k", typed_slider(W.IntSlider(
            value=k, min=0, max=self.view.layers, description="layers k", style=_STYLE,
            layout=W.Layout(width="320px"))), lambda v: None)
        self.thumbnail = W.HTML()
        self.thumbnail.add_class("nfw-posterior-digit")
        self.decoded_html = W.HTML(_image_html(np.zeros((8, 8), np.float32),
                                               "click a panel: decoded mean at z"))
        self.decoded_html.add_class("nfw-posterior-decoded")
        self._make_text_areas()
        controls = W.VBox([control_row(self.controls["index"]), control_row(self.controls["k"]),
                           self.readout])
        self.children = [
            W.HBox([self.thumbnail, controls, self.decoded_html]),
            W.HBox([p.widget for p in self.panels.values()]),
            self.message, self.status]
        self.add_class("nfw-explorer")  # a slider step changes the q_k picture (harnesses)
        self.add_class(self.css_class)
        self.redraw()

    # --- drawing ---------------------------------------------------------------------------
    def _draw_now(self, full: bool) -> bool:
        n = self.resolution if full else self.coarse_resolution

        def compute() -> PosteriorFrame:
            return self.view.compute(int(self.controls["index"].value),
                                     int(self.controls["k"].value), n)

        return self._publish(compute, lambda f: f"digit {f.index}, k = {f.k}, {f.resolution}²")

    def _draw(self, frame: PosteriorFrame) -> None:
        for name in ("posterior", "q0", "qk"):
            self.panels[name].update(getattr(frame, name))
        self.panels["qk"].figure.title = f"flow q_k(z|x), k = {frame.k}"
        self.thumbnail.value = _image_html(frame.image, f"test digit {frame.index} "
                                                        f"(label {frame.label})")
        mass = "" if frame.qk_mass > 0.99 else (
            f"<br><span style='color:#7a4a00'>only {frame.qk_mass:.0%} of q_k lies in the "
            "view</span>")
        self.readout.value = (
            "<div style='font-size:13px;line-height:1.5'>"
            f"ln p(x) = <b>{frame.log_px:.3f}</b> nats (quadrature on the grid)<br>"
            f"ELBO after k = {frame.k} layers = <b>{frame.elbo:.3f}</b> (Monte Carlo)<br>"
            f"gap ln p(x) − ELBO = KL(q_k ‖ p(z|x)) = <b>{frame.gap:.3f}</b> nats{mass}</div>")

    def redraw(self) -> None:
        """Recompute everything and redraw now: call it after changing the model's weights
        (the view forgets what it kept for them; the controls never change the model, so a
        slider move keeps it)."""
        self.view.invalidate()
        super().redraw()

    def _picture_digest(self) -> str:
        return self.panels["qk"].digest()

    # --- clicks → decoded image ----------------------------------------------------------------
    def _clicked(self, _mark: object, content: dict) -> None:
        point = click_point(content)
        if point is not None:  # a click on the panel's edge may land a hair outside the view
            (x0, x1), (y0, y1) = self.bounds
            self.show_decoded(min(max(point[0], x0), x1), min(max(point[1], y0), y1))

    def show_decoded(self, z1: float, z2: float) -> None:
        """Mark ``z = (z1, z2)`` on every panel and show the decoder's mean image there
        (``z`` must lie in the view, ``bounds``)."""
        (x0, x1), (y0, y1) = self.bounds
        z1 = check_real("z1", z1, lo=x0, hi=x1)
        z2 = check_real("z2", z2, lo=y0, hi=y1)
        try:
            image = self.view.decoded(z1, z2)
        except Exception as err:  # shown to the learner; state kept
            self._show_error(err)
            return
        self.decoded = image
        for marker in self._markers:
            set_points(marker, np.array([z1]), np.array([z2]))
        self.decoded_html.value = _image_html(image, f"decoded mean at z = ({z1:.2f}, {z2:.2f})")

    def close(self) -> None:
        """Close every widget model this widget opened."""
        if is_built(self):  # a refused constructor has closed what it opened
            for panel in self.panels.values():
                panel.close()
            close_built(self)
        super().close()
