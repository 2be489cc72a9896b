"""SampleView: seeded samples per press, the interpolation row's ends are the test digits, the
picture is the tiled levels, bad settings are refused."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from nfwidgets import data
from nfwidgets.models.glow import Glow
from nfwidgets.sample_view import BACKGROUND, ROW, SampleView, grey_palette, tile


@pytest.fixture(scope="module")
def view() -> SampleView:
    torch.manual_seed(0)
    model = Glow(levels=2, depth=2, hidden=8)
    with torch.no_grad():
        model.log_prob(data.dequantize(data.digits("train")[:64]))
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return SampleView(model.eval(), seed=3)


def test_samples_are_the_models_at_the_temperature(view: SampleView) -> None:
    frame = view.compute(0.5, press=2, pair=(4, 9))
    gen = torch.Generator().manual_seed(3 * 1_000_003 + 2)
    expected = view.model.sample(25, 0.5, gen).numpy()
    np.testing.assert_array_equal(frame.samples, expected)
    again = SampleView(view.model, seed=3).compute(0.5, press=2, pair=(4, 9))
    np.testing.assert_array_equal(again.samples, frame.samples)
    assert again.png == frame.png
    other = view.compute(0.5, press=3, pair=(4, 9))
    assert not np.array_equal(other.samples, frame.samples)


def test_row_ends_are_the_two_test_digits(view: SampleView) -> None:
    frame = view.compute(0.7, 0, (5, 17))
    assert frame.interpolation.shape == (ROW, 8, 8)
    np.testing.assert_array_equal(frame.interpolation[0], view.test[5].numpy())
    np.testing.assert_array_equal(frame.interpolation[-1], view.test[17].numpy())


def test_picture_tiles_the_levels(view: SampleView, png_pixels) -> None:
    frame = view.compute(0.7, 0, (0, 1))
    picture = frame.picture
    assert picture.dtype == np.uint8 and int(picture.max()) <= BACKGROUND
    np.testing.assert_array_equal(picture, tile([frame.samples[i * 5:i * 5 + 5]
                                                 for i in range(5)] + [frame.interpolation]))
    # the first sample, pixel (0, 0), is a 4×4 block after a 4-pixel gap
    assert (picture[4:8, 4:8] == frame.samples[0, 0, 0]).all() and picture[0, 0] == BACKGROUND
    np.testing.assert_array_equal(png_pixels(frame.png), grey_palette()[picture])


def test_zero_temperature_gives_one_image_and_bad_settings_are_refused(view: SampleView) -> None:
    frame = view.compute(0.0, 0, (0, 1))
    assert (frame.samples == frame.samples[0]).all()
    with pytest.raises(ValueError, match="temperature"):
        view.compute(float("nan"))
    with pytest.raises(ValueError, match="test digit index must be an integer in 0–359"):
        view.compute(0.7, 0, (0, 360))
    with pytest.raises(ValueError, match="press"):
        view.compute(0.7, -1)
    with pytest.raises(ValueError, match="model must be"):
        SampleView(object())


def test_the_view_model_and_glow_import_no_widgets() -> None:
    code = ("import sys, nfwidgets.sample_view, nfwidgets.models.glow.training\n"
            "print([m for m in ('ipywidgets', 'bqplot') if m in sys.modules])")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=300, check=True)
    assert out.stdout.strip() == "[]"
