"""LayerComparison: shows the view model's arrays, says what is wrong with a broken function in
the widget, and no student function (fuzzed) breaks it or puts NaN on screen."""

from __future__ import annotations

import random

import bqplot
import numpy as np
import pytest
import torch
from conftest import assert_mark_arrays_finite
from helpers import image_png, panel_pixels, png_pixels

import nfwidgets.widgets as widgets
from nfwidgets.flows import AffineCoupling, MLPConditioner, Planar, Radial
from nfwidgets.widgets import LayerComparison

N = 24
F64 = torch.float64


def _planar() -> Planar:
    return Planar(torch.tensor([1.5, 0.0], dtype=F64), torch.tensor([1.0, 0.5], dtype=F64), 0.3)


def _drawn(widget: LayerComparison) -> None:
    for name, fig in widget.figures.items():
        assert isinstance(fig, bqplot.Figure)
        for mark in fig.marks:
            assert_mark_arrays_finite(mark, name)
            if isinstance(mark, bqplot.Image):
                assert image_png(mark.image).startswith(b"\x89PNG"), f"{name}: not drawn"


def test_lazy_export() -> None:
    assert widgets.LayerComparison is LayerComparison


def test_correct_function_pictures_are_the_frames() -> None:
    layer = _planar()
    w = LayerComparison(lambda z: layer(z), layer, resolution=N)
    frame = w.last_frame
    assert w.frame == 1 and frame.resolution == N
    for name in ("reference_density", "student_density", "density_difference",
                 "reference_log_det", "student_log_det", "log_det_difference"):
        panel = w.panels[name]
        shown = png_pixels(image_png(panel.mark.image))
        np.testing.assert_array_equal(shown, panel_pixels(panel, getattr(frame, name)), name)
    assert w.student_message.layout.display == "none"
    assert "largest |Δp|: <b>0</b>" in w.readout.value
    assert "nfw-layer-comparison" in w._dom_classes
    _drawn(w)
    w.close()


def test_broken_function_shows_a_message_in_the_widget() -> None:
    layer = _planar()
    w = LayerComparison(lambda z: (z, z[:, 0].sum()), layer, resolution=N)
    assert w.student_message.layout.display is None
    assert "Your function" in w.student_message.value and "whole batch" in w.student_message.value
    assert "no grid point could be compared" in w.readout.value
    assert w.message.layout.display == "none"  # not an engine error
    _drawn(w)
    # the student's pictures are all mask colour
    panel = w.panels["student_density"]
    np.testing.assert_array_equal(png_pixels(image_png(panel.mark.image)),
                                  panel_pixels(panel, w.last_frame.student_density,
                                               w.last_frame.mask))
    w.close()


def test_update_compares_the_fixed_function() -> None:
    layer = Radial(torch.tensor([0.5, 0.0], dtype=F64), alpha=1.0, beta=0.5)
    w = LayerComparison(lambda x: 1 / 0, layer, direction="inverse", resolution=N)
    assert "ZeroDivisionError" in w.student_message.value
    w.update(lambda x: layer.inverse(x))
    assert w.frame == 2
    assert w.student_message.layout.display == "none"
    assert w.last_frame.max_density_error == 0
    w.close()


def test_html_in_an_error_is_escaped() -> None:
    layer = _planar()

    def bad(z):
        raise ValueError("<script>alert(1)</script>")

    w = LayerComparison(bad, layer, resolution=N)
    assert "<script>" not in w.student_message.value
    assert "&lt;script&gt;" in w.student_message.value
    w.close()


def test_bad_arguments_raise_value_error() -> None:
    with pytest.raises(ValueError, match=r"density_max must be a finite number in \(0, "):
        LayerComparison(lambda z: z, _planar(), density_max=0)
    with pytest.raises(ValueError, match="direction must be one of"):
        LayerComparison(lambda z: z, _planar(), direction="up")
    with pytest.raises(ValueError, match="student must be your function"):
        LayerComparison(3, _planar())


def test_update_refuses_what_is_not_a_function() -> None:
    w = LayerComparison(lambda z: (z, z[:, 0] * 0), _planar(), resolution=N)
    try:
        with pytest.raises(ValueError, match=r"student must be your function .* got str"):
            w.update("f")
    finally:
        w.close()


def _coupling() -> AffineCoupling:
    torch.manual_seed(0)
    layer = AffineCoupling([0, 1], MLPConditioner(1, 1, hidden=(8,)), scale="exp")
    torch.nn.init.normal_(layer.conditioner.net[-1].weight, std=0.5)
    return layer.to(F64)


def _student(rng: random.Random, layer, direction: str):
    """A random learner function: right, slightly wrong, or broken in one of many ways."""
    right = (lambda v: layer(v)) if direction == "forward" else (lambda v: layer.inverse(v))
    scale = rng.choice([1e-3, 1.0, 1e3, 1e30])
    kinds = [
        lambda v: right(v),
        lambda v: (right(v)[0], right(v)[1] * scale),
        lambda v: (right(v)[0] + scale, right(v)[1]),
        lambda v: (right(v)[0], torch.where(v[:, 0] > rng.uniform(-3, 3), torch.nan,
                                            right(v)[1])),
        lambda v: (right(v)[0] * torch.inf, right(v)[1]),
        lambda v: (right(v)[0].numpy(), right(v)[1].numpy()),
        lambda v: right(v)[0],
        lambda v: (right(v)[0][:3], right(v)[1]),
        lambda v: (right(v)[0], right(v)[1].sum()),
        lambda v: [right(v)[0].float(), right(v)[1].float()],
        lambda v: 1 / 0,
        lambda v: None,
        lambda v: (right(v)[0], -torch.inf * torch.ones(v.shape[0])),
    ]
    return rng.choice(kinds)


@pytest.mark.parametrize("seed", range(3))
def test_fuzzed_student_functions_never_break_the_widget(seed: int) -> None:
    rng = random.Random(seed)
    layers = [_planar, lambda: Radial([0.3, -0.4], alpha=0.4, beta=-0.3), _coupling,
              lambda: Radial([0.0, 0.0], alpha=0.5, beta=-2.0, constrain=False)]
    for _ in range(15):
        layer = rng.choice(layers)()
        direction = rng.choice(["forward", "inverse"])
        w = LayerComparison(_student(rng, layer, direction), layer, direction=direction,
                            resolution=rng.choice([8, 16]))
        for _ in range(3):
            w.update(_student(rng, layer, direction))
            assert w.message.layout.display == "none", w.message.value  # never an error
            frame = w.last_frame
            for name in ("student_density", "density_difference", "log_det_difference"):
                assert np.isfinite(getattr(frame, name)).all()
            _drawn(w)
        w.close()
