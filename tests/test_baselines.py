import math

import pytest
import torch

from nfwidgets import baselines, data


def test_uniform_is_log2_17():
    assert baselines.uniform_bpd() == pytest.approx(4.0875, abs=1e-4)


def test_histogram_by_hand_on_a_tiny_set():
    train = torch.zeros(3, 8, 8, dtype=torch.long)
    train[0, 0, 0] = 5
    test = torch.zeros(1, 8, 8, dtype=torch.long)
    test[0, 0, 0] = 5
    # pixel 0: level 5 seen once in 3 → (1 + 1) / (3 + 17); other pixels: level 0 seen 3 times
    expected = -(math.log2(2 / 20) + 63 * math.log2(4 / 20)) / 64
    assert baselines.histogram_bpd(train, test) == pytest.approx(expected)


def test_histogram_gives_unseen_levels_a_finite_cost():
    train = torch.zeros(4, 8, 8, dtype=torch.long)
    test = torch.full((1, 8, 8), 16)
    assert math.isfinite(baselines.histogram_bpd(train, test))


def test_gaussian_on_the_digits_is_a_proper_bound_between_histogram_and_uniform():
    table = {b.name: b.test_bpd for b in baselines.baseline_table()}
    assert table["histogram"] < table["gaussian"] < table["uniform"]
    assert 2.2 < table["histogram"] < 2.6  # each pixel alone, held out


def test_gaussian_matches_torch_multivariate_normal_by_hand():
    train, test = data.digits("train")[:300], data.digits("test")[:20]
    g = torch.Generator().manual_seed(3)
    v_tr = data.dequantize(train, g, torch.float64).reshape(-1, 64)
    v_te = data.dequantize(test, g, torch.float64).reshape(-1, 64)
    centred = v_tr - v_tr.mean(0)
    cov = centred.T @ centred / v_tr.shape[0]
    diff = v_te - v_tr.mean(0)
    _, logdet = torch.linalg.slogdet(cov)
    maha = (diff @ torch.linalg.inv(cov) * diff).sum(1)
    nll = 0.5 * (maha + logdet + 64 * math.log(2 * math.pi))
    assert baselines.gaussian_bpd(train, test, seed=3) == pytest.approx(
        float(data.bits_per_dim(nll.mean())), rel=1e-6)


def test_gaussian_needs_more_images_than_pixels():
    with pytest.raises(ValueError, match="train must hold more than 64 images"):
        baselines.gaussian_bpd(data.digits("train")[:64], data.digits("test")[:5])
