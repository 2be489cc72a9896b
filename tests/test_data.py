import math

import pytest
import torch

from nfwidgets import data


def test_split_sizes_levels_and_disjointness():
    train, test = data.digits("train"), data.digits("test")
    assert train.shape == (data.N_TRAIN, 8, 8) and test.shape == (data.N_TEST, 8, 8)
    assert train.dtype == torch.int64 and int(train.min()) == 0 and int(train.max()) == 16
    every = data.digits("all").reshape(-1, 64)
    assert every.shape[0] == 1797
    # the split is a partition of all images (compare as rows: multiset equality)
    both = torch.cat([train, test]).reshape(-1, 64)
    assert sorted(map(tuple, both.tolist())) == sorted(map(tuple, every.tolist()))


def test_split_is_fixed_and_a_fresh_copy_each_call():
    a, b = data.digits("test"), data.digits("test")
    assert torch.equal(a, b) and a is not b
    a[0, 0, 0] = 99
    assert int(data.digits("test")[0, 0, 0]) != 99


def test_labels_come_with_the_images():
    images, labels = data.digits("train", with_labels=True)
    assert images.shape[0] == labels.shape[0] == data.N_TRAIN
    assert set(labels.tolist()) == set(range(10))


def test_pixels_that_are_always_zero():
    every = data.digits("all").reshape(-1, 64)
    assert (every.max(0).values == 0).nonzero().flatten().tolist() == [0, 32, 39]


def test_dequantize_fills_each_level_interval():
    k = data.digits("test")[:50]
    v = data.dequantize(k, torch.Generator().manual_seed(0), torch.float64)
    assert v.shape == k.shape
    assert torch.all(v >= k / 17) and torch.all(v < (k + 1) / 17)
    assert torch.equal(torch.floor(v * 17).long(), k)
    # seeded: the same noise again
    w = data.dequantize(k, torch.Generator().manual_seed(0), torch.float64)
    assert torch.equal(v, w)


def test_bits_per_dim_by_hand():
    assert data.bits_per_dim(0.0) == pytest.approx(math.log2(17))
    nll = 64 * math.log(2.0)  # one bit per pixel more than uniform
    assert data.bits_per_dim(nll) == pytest.approx(1.0 + math.log2(17))
    assert data.bits_per_dim(math.log(2.0), dims=1) == pytest.approx(1.0 + math.log2(17))


def test_other_spellings_of_a_batch_of_images_are_accepted():
    k = data.digits("test")[:3]
    for same in (k.reshape(3, 64), k[:, None], k.numpy(), k.tolist(), k.double()):
        assert torch.equal(data.check_images(same), k)
    assert data.check_images(k[0]).shape == (1, 8, 8)  # one image


def test_bits_per_dim_is_elementwise_and_propagates_nan():
    out = data.bits_per_dim(torch.tensor([0.0, math.nan]))
    assert out[0] == pytest.approx(math.log2(17)) and math.isnan(out[1])


def test_binarize():
    k = torch.tensor([[[0, 7, 8, 16] + [0] * 4] + [[0] * 8] * 7])
    b = data.binarize(k)
    assert b.shape == (1, 64) and b.dtype == torch.float32
    assert b[0, :4].tolist() == [0.0, 0.0, 1.0, 1.0]


@pytest.mark.parametrize("bad, words", [
    (torch.zeros(3, 7, 8, dtype=torch.long), "shape"),
    (torch.full((2, 8, 8), 17), "0–16"),
    (torch.full((2, 8, 8), -1), "0–16"),
    (torch.full((2, 8, 8), 0.5), "fractional"),
    (torch.full((2, 8, 8), float("nan")), "NaN"),
    (torch.zeros(2, 8, 8, dtype=torch.bool), "booleans"),
    (["a", "b"], "torch tensor"),
    (torch.zeros(2, 63), "shape"),
    (torch.full((2, 8, 8), 1 + 2j), "real"),
])
def test_bad_images_are_named(bad, words):
    with pytest.raises(ValueError, match=words):
        data.dequantize(bad)


@pytest.mark.parametrize("call", [lambda: data.digits("valid"),
                                  lambda: data.binarize(data.digits("test"), 0),
                                  lambda: data.bits_per_dim(1.0, dims=0),
                                  lambda: data.bits_per_dim(True),
                                  lambda: data.digits("test", with_labels="False"),
                                  lambda: data.dequantize(data.digits("test"), "seed"),
                                  lambda: data.dequantize(data.digits("test"), None, torch.int64)])
def test_bad_arguments_are_named(call):
    with pytest.raises(ValueError):
        call()
