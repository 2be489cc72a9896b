"""PosteriorExplorer: sliders drive the view model, numbers never NaN, clicks decode, errors
are shown and state is kept, one slider move sends one update per changed model."""

from __future__ import annotations

import html
import random
from collections import Counter

import bqplot
import ipywidgets as W
import numpy as np
import pytest
import torch
from helpers import image_png

from nfwidgets.models.flowvae import FlowVAE
from nfwidgets.widgets.controls import typed_value
from nfwidgets.widgets.posterior import PosteriorExplorer

N = 32


def _explorer(**kwargs) -> PosteriorExplorer:
    torch.manual_seed(0)
    return PosteriorExplorer(FlowVAE(layers=4, hidden=16), redraw_delay=0, resolution=N,
                             **kwargs)


@pytest.fixture
def explorer() -> PosteriorExplorer:
    return _explorer(index=3, k=2)


def test_classes_and_first_picture(explorer: PosteriorExplorer) -> None:
    assert {"nfw-explorer", "nfw-posterior-explorer"} <= set(explorer._dom_classes)
    assert "nfw-figure-density" in explorer.figures["qk"]._dom_classes
    assert explorer.frame == 1 and explorer.last_frame.index == 3 and explorer.last_frame.k == 2
    assert 'data-picture="' + explorer.panels["qk"].digest() in explorer.status.value
    for fig in explorer.figures.values():
        image = next(m for m in fig.marks if isinstance(m, bqplot.Image))
        assert image_png(image.image).startswith(b"\x89PNG")


def test_sliders_drive_the_view(explorer: PosteriorExplorer) -> None:
    explorer.set(index=10, k=4)
    frame = explorer.last_frame
    expected = explorer.view.compute(10, 4, N)
    np.testing.assert_array_equal(frame.qk, expected.qk)
    assert frame.gap == pytest.approx(expected.gap)
    before = explorer.panels["qk"].digest()
    explorer.controls["k"].value = 0
    assert explorer.panels["qk"].digest() != before
    assert f"{explorer.last_frame.gap:.3f}" in explorer.readout.value


def test_typed_values_are_checked_and_move_the_sliders(explorer: PosteriorExplorer) -> None:
    index, k = typed_value(explorer.controls["index"]), typed_value(explorer.controls["k"])
    assert (index.text.value, k.text.value) == ("3", "2")
    frame, picture = explorer.frame, explorer.panels["qk"].digest()
    for box, text, message in ((k, "abc", "k must be an integer in [0, 4]; got 'abc'"),
                               (k, "5", "k must be an integer in [0, 4]; got 5"),
                               (index, "nan", "index must be an integer in [0, 359]; got nan")):
        box.text.set_state({"value": text})  # typed in the browser, then Enter
        assert html.escape(message) in explorer.message.value
        assert explorer.frame == frame and explorer.panels["qk"].digest() == picture
    assert (index.text.value, k.text.value) == ("3", "2")
    k.text.set_state({"value": "4"})
    assert explorer.last_frame.k == 4 and explorer.frame == frame + 1
    assert explorer.message.value == "" and explorer.panels["qk"].digest() != picture


def test_slider_fuzz_never_shows_nan() -> None:
    explorer = _explorer()
    rng = random.Random(0)
    for _ in range(25):
        name = rng.choice(["index", "k"])
        slider = explorer.controls[name]
        slider.value = rng.randint(slider.min, slider.max)
        frame = explorer.last_frame
        for value in (frame.log_px, frame.elbo, frame.gap):
            assert np.isfinite(value)
        for arr in (frame.posterior, frame.q0, frame.qk):
            assert np.isfinite(arr).all()
        assert "nan" not in explorer.readout.value.lower()
    assert explorer.frame > 10


def test_click_shows_the_decoded_mean(explorer: PosteriorExplorer) -> None:
    explorer.panels["q0"].mark._handle_custom_msg(
        {"event": "element_click", "data": {"click_x": 0.5, "click_y": -1.5}}, [])
    np.testing.assert_allclose(explorer.decoded, explorer.view.decoded(0.5, -1.5))
    assert "(0.50, -1.50)" in explorer.decoded_html.value
    for marker in explorer._markers:
        assert list(marker.x) == [0.5] and list(marker.y) == [-1.5]
    with pytest.raises(ValueError, match=r"z1 must be a finite number in \[-4, 4\]; got nan"):
        explorer.show_decoded(float("nan"), 0.0)  # refused: the last image kept
    with pytest.raises(ValueError, match="z2 must be"):
        explorer.show_decoded(0.0, 9.0)  # outside the view
    np.testing.assert_allclose(explorer.decoded, explorer.view.decoded(0.5, -1.5))


def test_engine_error_is_shown_and_state_kept(explorer: PosteriorExplorer, monkeypatch) -> None:
    good = explorer.last_frame

    def broken(*args, **kwargs):
        raise ValueError("the bound is not finite")

    monkeypatch.setattr(explorer.view, "compute", broken)
    explorer.set(k=3)
    assert "not finite" in explorer.message.value
    assert explorer.last_frame is good and explorer.controls["k"].value == 3
    monkeypatch.undo()
    explorer.set(k=1)
    assert explorer.message.value == "" and explorer.last_frame.k == 1


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="index"):
        _explorer(index=999)
    with pytest.raises(ValueError, match="k must"):
        _explorer(k=9)
    with pytest.raises(ValueError, match="unknown control"):
        _explorer().set(digit=3)


def test_one_slider_move_sends_one_update_per_changed_model(comm_log: list) -> None:
    explorer = _explorer()
    frame = explorer.frame
    comm_log.clear()
    explorer.controls["index"].value = 17
    assert explorer.frame == frame + 1
    updates = Counter(cid for method, cid, _ in comm_log if method == "update")
    assert updates and max(updates.values()) == 1
    assert [m for m, _, _ in comm_log if m in ("open", "close")] == []


def test_default_is_the_shipped_k8_model() -> None:
    explorer = PosteriorExplorer(redraw_delay=0, resolution=N)
    assert explorer.view.vae.layers == 8 and explorer.controls["k"].value == 8
    assert isinstance(explorer.controls["index"], W.IntSlider)


def test_redraw_after_the_weights_change_recomputes_the_posterior(explorer) -> None:
    """ln p(x) and the true posterior are kept per digit; redraw() must forget them."""
    with torch.no_grad():
        explorer.view.vae.decoder[-1].bias.add_(1.0)
    explorer.redraw()
    stale = explorer.last_frame.log_px
    torch.manual_seed(0)
    vae = FlowVAE(layers=4, hidden=16)  # the same weights, changed before any view sees them
    with torch.no_grad():
        vae.decoder[-1].bias.add_(1.0)
    fresh = PosteriorExplorer(vae, redraw_delay=0, resolution=N, index=3, k=2)
    assert stale == pytest.approx(fresh.last_frame.log_px)
    assert explorer.last_frame.gap == pytest.approx(fresh.last_frame.gap)


def test_a_slider_move_keeps_the_decoder_grid(explorer) -> None:
    kept = explorer.view._decoded[N]
    explorer.controls["index"].value = 5
    assert explorer.view._decoded[N] is kept
