"""``SampleGrid``: samples of the pretrained Glow at a temperature, and an interpolation between
two test digits in latent space. The pictures come from ``nfwidgets.sample_view``; no maths here.
"""

from __future__ import annotations

import zlib

import ipywidgets as W

from .._checks import check_count, check_real, is_integer, shown
from ..sample_view import SampleFrame, SampleView
from ._lifetime import builds_widgets, close_built, is_built
from .controls import ControlsMixin, control_row, typed_slider
from .scheduler import RedrawScheduler

__all__ = ["SampleGrid"]

_STYLE = {"description_width": "110px"}
#: The temperature slider's end (above it the samples are mostly noise).
MAX_TEMPERATURE = 1.2


class SampleGrid(ControlsMixin, W.VBox):
    """A 5×5 grid of digits sampled from a Glow, ``ε ~ N(0, T² I)``, and below it a row that
    walks linearly in ε from one test digit to another (``SampleView`` says how).

    Controls (``.controls``): ``"temperature"`` (0–1.2, default 0.7), ``"new_samples"``
    (Button: the k-th press always shows the same samples for a given ``seed``), ``"first"``
    and ``"second"`` (indices of the test digits at the ends of the row).
    ``.image`` is the picture (an ``ipywidgets.Image``, PNG made in the kernel); ``.figures``
    maps ``"samples"`` to it. ``.press`` counts presses; ``.frame`` counts pictures.

    Arguments:
        model: a ``Glow``; ``None`` loads ``load_pretrained("glow-digits")``.
        seed: seeds the samples of every press.
        redraw_delay: seconds a burst of slider events is gathered (0: redraw at once).
    """

    css_class = "nfw-sample-grid"

    @builds_widgets
    def __init__(self, model: object = None, *, seed: int = 0, temperature: float = 0.7,
                 pair: tuple[int, int] = (0, 1), redraw_delay: float = 0.03,
                 zoom: int = 2) -> None:
        # Every argument is checked before the first widget model opens.
        temperature = check_real("temperature", temperature, lo=0.0, hi=MAX_TEMPERATURE)
        zoom = check_count("zoom", zoom, lo=1, hi=8)
        if model is None:
            from ..models.pretrained import load_pretrained

            model = load_pretrained("glow-digits")
        self.view = SampleView(model, seed=seed)
        last = self.view.test.shape[0] - 1
        if not (isinstance(pair, tuple | list) and len(pair) == 2
                and all(is_integer(i) and 0 <= i <= last for i in pair)):
            raise ValueError(f"pair must be two test digit indices (first, second) in "
                             f"[0, {last}]; got {shown(pair)}")
        pair = (int(pair[0]), int(pair[1]))
        self.scheduler = RedrawScheduler(self._draw_now, redraw_delay=redraw_delay, settle=None)
        super().__init__()
        self.model = model
        self.press = 0
        self.last_frame: SampleFrame | None = None
        self.controls: dict[str, W.ValueWidget] = {}
        self._bind("temperature", typed_slider(W.FloatSlider(
            value=temperature, min=0.0, max=MAX_TEMPERATURE, step=0.05, description="temperature T",
            style=_STYLE, continuous_update=True, layout=W.Layout(width="340px")), ".2f"),
            lambda _v: None)
        self._bind("new_samples", W.Button(description="new samples", icon="refresh"),
                   self._new_samples)
        for name, label, value in (("first", "row from test #", pair[0]),
                                   ("second", "to test #", pair[1])):
            self._bind(name, typed_slider(W.IntSlider(
                value=value, min=0, max=last, description=label, style=_STYLE,
                continuous_update=True, layout=W.Layout(width="340px"))), lambda _v: None)
        self.image = W.Image(format="png")
        self.image.add_class("nfw-figure-samples")
        self.figures = {"samples": self.image}
        self._zoom = zoom
        self._make_text_areas()
        c = self.controls
        self.children = [W.HBox([control_row(c["temperature"]), c["new_samples"]]),
                         W.HBox([control_row(c["first"]), control_row(c["second"])]),
                         self.message, self.image,
                         self.readout, self.status]
        self.add_class(self.css_class)
        self.redraw()

    def redraw(self) -> None:
        """Recompute everything and redraw now: call it after changing the model's weights
        (the view forgets what it kept for them; the controls never change the model, so a
        slider move keeps it)."""
        self.view.invalidate()
        super().redraw()

    def _new_samples(self, _value: object) -> None:
        self.press += 1

    # --- redraw ------------------------------------------------------------------------------
    def _compute(self) -> SampleFrame:
        c = self.controls
        return self.view.compute(c["temperature"].value, self.press,
                                 (c["first"].value, c["second"].value))

    def _draw_now(self, full: bool) -> bool:
        """The scheduler's callback (every picture is a full one)."""
        return self._publish(self._compute, lambda f: f"T = {f.temperature:.2f}, "
                                                      f"press {f.press}")

    def _draw(self, frame: SampleFrame) -> None:
        h, w = frame.picture.shape
        with self.image.hold_sync():
            self.image.value = frame.png
            self.image.width, self.image.height = str(w * self._zoom), str(h * self._zoom)
        first, second = frame.pair
        note = (f" <span style='color:#b35806'>{frame.nonfinite} decoded values were not "
                "finite (drawn as level 0): the temperature is too high for this model</span>"
                if frame.nonfinite else "")
        self.readout.value = (f"top: {frame.samples.shape[0]} samples at T = "
                              f"{frame.temperature:.2f} · bottom: test digit #{first} → "
                              f"#{second}, linear in ε{note}")

    def _picture_digest(self) -> str:
        return f"{zlib.crc32(self.image.value):08x}"

    def close(self) -> None:
        """Close every widget model this widget opened."""
        if is_built(self):  # a refused constructor has closed what it opened
            close_built(self)
        super().close()
