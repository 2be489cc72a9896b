"""The shipped glow-digits checkpoint: loads without re-initialising, small, and its recorded
scores are the ones it gives now (and beat the per-pixel histogram)."""

from __future__ import annotations

import pytest
import torch

from nfwidgets import baselines, data
from nfwidgets.models.glow import Glow
from nfwidgets.models.pretrained import checkpoint_path, load_pretrained


@pytest.fixture(scope="module")
def glow() -> Glow:
    return load_pretrained("glow-digits")


def test_checkpoint_is_small_and_reproducible_by_command(glow: Glow) -> None:
    assert checkpoint_path("glow-digits").stat().st_size <= 2_000_000
    meta = glow.pretrained_meta
    assert meta["command"] == "python -m nfwidgets.models.train glow-digits --seed 0"
    assert isinstance(glow, Glow) and not glow.training
    assert all(bool(m.initialized) for m in glow.modules() if hasattr(m, "initialized"))


def test_recorded_scores_hold_and_beat_the_histogram(glow: Glow) -> None:
    meta = glow.pretrained_meta
    assert glow.bits_per_dim(data.digits("test"), seed=meta["seed"]) == pytest.approx(
        meta["test_bpd"], abs=1e-3)
    test = data.digits("test")
    histogram = baselines.histogram_bpd(data.digits("train"), test)
    assert meta["baselines"]["histogram"] == pytest.approx(histogram, abs=1e-3)
    assert meta["test_bpd"] < histogram and meta["val_bpd"] < histogram


def test_samples_of_the_shipped_model_are_digit_like(glow: Glow) -> None:
    """At T = 0.7 most pixels are background or ink, as in the data (a weak sanity check)."""
    s = glow.sample(100, 0.7, torch.Generator().manual_seed(0))
    test = data.digits("test")
    assert abs(float((s == 0).float().mean()) - float((test == 0).float().mean())) < 0.2
