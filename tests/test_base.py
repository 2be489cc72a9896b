"""Tests for nfwidgets.flows.base: the Layer contract machinery and the base distributions."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.distributions import MultivariateNormal, Normal

from nfwidgets.flows import DiagonalNormal, Layer, NotInvertibleError, StandardNormal
from nfwidgets.flows.base import standard_normal_log_prob

F64 = torch.float64


# --------------------------------------------------------------------------------------------
# Base distributions against torch.distributions
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dim", [1, 2, 3, 5])
@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_standard_normal_log_prob(dim, dtype):
    base = StandardNormal(dim).to(dtype)
    g = torch.Generator().manual_seed(dim)
    z = torch.randn(50, dim, generator=g, dtype=dtype) * 3
    ref = MultivariateNormal(torch.zeros(dim, dtype=dtype),
                             torch.eye(dim, dtype=dtype)).log_prob(z)
    out = base.log_prob(z)
    assert out.shape == (50,) and out.dtype == dtype
    tol = 1e-12 if dtype == F64 else 1e-4
    assert torch.allclose(out, ref, rtol=tol, atol=tol)


@given(loc=st.lists(st.floats(-3, 3), min_size=1, max_size=4), data=st.data())
def test_diagonal_normal_log_prob(loc, data):
    log_scale = data.draw(st.lists(st.floats(-2, 2), min_size=len(loc), max_size=len(loc)))
    base = DiagonalNormal(torch.tensor(loc, dtype=F64), torch.tensor(log_scale, dtype=F64))
    assert base.dim == len(loc)
    g = torch.Generator().manual_seed(len(loc))
    z = torch.randn(40, len(loc), generator=g, dtype=F64) * 4
    ref = Normal(torch.tensor(loc, dtype=F64),
                 torch.exp(torch.tensor(log_scale, dtype=F64))).log_prob(z).sum(-1)
    out = base.log_prob(z)
    assert out.shape == (40,)
    assert torch.allclose(out, ref, rtol=1e-12, atol=1e-12)


def test_diagonal_normal_log_prob_float32():
    base = DiagonalNormal([0.5, -1.0], [0.3, -0.7])
    z = torch.randn(30, 2)
    ref = Normal(torch.tensor([0.5, -1.0]), torch.exp(torch.tensor([0.3, -0.7]))).log_prob(z)
    out = base.log_prob(z)
    assert out.dtype == torch.float32
    assert torch.allclose(out, ref.sum(-1), atol=1e-5)


def test_standard_normal_sample():
    base = StandardNormal(3).double()
    a = base.sample(20000, generator=torch.Generator().manual_seed(0))
    b = base.sample(20000, generator=torch.Generator().manual_seed(0))
    assert a.shape == (20000, 3) and a.dtype == F64
    assert torch.equal(a, b)
    assert torch.allclose(a.mean(0), torch.zeros(3, dtype=F64), atol=0.03)
    assert torch.allclose(a.std(0), torch.ones(3, dtype=F64), atol=0.03)
    assert StandardNormal(2).sample(4).dtype == torch.float32


def test_diagonal_normal_sample_and_gradients():
    base = DiagonalNormal([1.0, -2.0], [math.log(0.5), math.log(2.0)]).double()
    x = base.sample(20000, generator=torch.Generator().manual_seed(1))
    assert x.shape == (20000, 2) and x.dtype == F64
    assert torch.allclose(x.mean(0), torch.tensor([1.0, -2.0], dtype=F64), atol=0.05)
    assert torch.allclose(x.std(0), torch.tensor([0.5, 2.0], dtype=F64), rtol=0.03)
    # The parameters train: gradients of the NLL of data from N(0, I) are finite and non-zero.
    data = torch.randn(100, 2, dtype=F64, generator=torch.Generator().manual_seed(2))
    (-base.log_prob(data).mean()).backward()
    for p in (base.loc, base.log_scale):
        assert p.grad is not None and torch.isfinite(p.grad).all() and (p.grad != 0).all()


@pytest.mark.parametrize("dim", [0, -1, 2.5, True, "2"])
def test_standard_normal_bad_dim(dim):
    with pytest.raises(ValueError, match=r"dim must be a positive integer ≤ 1000000; got"):
        StandardNormal(dim)


def test_diagonal_normal_bad_parameters():
    with pytest.raises(ValueError, match=r"same shape.*loc \(2,\).*log_scale \(3,\)"):
        DiagonalNormal([0.0, 0.0], [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"loc must be finite"):
        DiagonalNormal([0.0, math.nan], [0.0, 0.0])
    with pytest.raises(ValueError, match=r"log_scale must be finite"):
        DiagonalNormal([0.0, 0.0], [math.inf, 0.0])
    with pytest.raises(ValueError, match=r"loc must be a 1-D vector of finite numbers"):
        DiagonalNormal(0.0, 0.0)


def test_base_log_prob_bad_input():
    for base in (StandardNormal(2), DiagonalNormal([0.0, 0.0], [0.0, 0.0])):
        with pytest.raises(ValueError, match=r"shape \(N, 2\); got shape \(3,\)"):
            base.log_prob(torch.zeros(3))
        with pytest.raises(ValueError, match=r"shape \(N, 2\); got shape \(3, 1\)"):
            base.log_prob(torch.zeros(3, 1))
        with pytest.raises(ValueError, match=r"floating-point tensor; got dtype torch.int64"):
            base.log_prob(torch.zeros(3, 2, dtype=torch.int64))
        with pytest.raises(ValueError, match=r"torch.Tensor of shape \(N, 2\); got list"):
            base.log_prob([[0.0, 0.0]])
    with pytest.raises(ValueError, match=r"torch.float64 .*parameters are torch.float32"):
        DiagonalNormal([0.0, 0.0], [0.0, 0.0]).log_prob(torch.zeros(3, 2, dtype=F64))


# --------------------------------------------------------------------------------------------
# The Layer machinery: validation, NotInvertibleError, inverse vs inverse_where
# --------------------------------------------------------------------------------------------


class _Fold(Layer):
    """A toy 1-D layer x = z³ - a z: invertible iff a ≤ 0 (used to exercise Layer itself)."""

    def __init__(self, a: float) -> None:
        super().__init__()
        self.dim = 1
        self.a = nn.Parameter(torch.tensor(a, dtype=F64))

    def why_not_invertible(self) -> str | None:
        a = float(self.a.detach())
        return None if a <= 0 else f"a = {a} > 0 folds the line"

    def _forward(self, z):
        x = z ** 3 - self.a * z
        return x, torch.log(torch.abs(3 * z[:, 0] ** 2 - self.a))

    def _inverse_where(self, x):
        # Largest real root, by Newton from a start right of every root.
        z = torch.abs(x) + torch.sqrt(torch.abs(self.a.detach())) + 1.0
        for _ in range(100):
            z = z - (z ** 3 - self.a.detach() * z - x) / (3 * z ** 2 - self.a.detach())
        a = float(self.a.detach())
        if a > 0:
            edge = 2 * (a / 3) ** 1.5
            unique = x[:, 0].abs() > edge
        else:
            unique = torch.ones(x.shape[0], dtype=torch.bool)
        return z, -torch.log(torch.abs(3 * z[:, 0] ** 2 - self.a)), unique


def test_not_invertible_error_is_a_value_error():
    assert issubclass(NotInvertibleError, ValueError)


def test_inverse_raises_with_the_layer_reason_and_inverse_where_does_not():
    layer = _Fold(3.0)
    x = torch.tensor([[0.0], [10.0]], dtype=F64)
    with pytest.raises(NotInvertibleError, match=r"_Fold.inverse: a = 3.0 > 0 folds the line"):
        layer.inverse(x)
    z, ld, unique = layer.inverse_where(x)
    assert unique.tolist() == [False, True]
    assert torch.allclose(z ** 3 - 3.0 * z, x, atol=1e-10)
    assert ld.shape == (2,)


def test_inverse_uses_inverse_where_when_invertible():
    layer = _Fold(-1.0)
    z = torch.tensor([[-2.0], [0.0], [1.5]], dtype=F64)
    x, ld = layer(z)
    z_back, ld_inv = layer.inverse(x)
    assert torch.allclose(z_back, z, atol=1e-12)
    assert torch.allclose(ld_inv, -ld, atol=1e-12)


def test_layer_validates_input_before_computing():
    layer = _Fold(-1.0)
    for method in ("forward", "inverse", "inverse_where"):
        call = getattr(layer, method)
        name = "z" if method == "forward" else "x"
        with pytest.raises(ValueError, match=rf"_Fold.{method}: {name} must be a batch of shape "
                                             r"\(N, 1\); got shape \(4,\)"):
            call(torch.zeros(4, dtype=F64))
        with pytest.raises(ValueError, match=rf"_Fold.{method}: {name} must be a real floating"):
            call(torch.zeros(4, 1, dtype=torch.int64))
        with pytest.raises(ValueError, match=rf"{name} is torch.float32 on cpu but the "
                                             r"parameters are torch.float64 on cpu"):
            call(torch.zeros(4, 1))


def test_unimplemented_layer_raises_not_implemented():
    class Bare(Layer):
        def __init__(self):
            super().__init__()
            self.dim = 2
            self.p = nn.Parameter(torch.zeros(()))

    with pytest.raises(NotImplementedError):
        Bare()(torch.zeros(1, 2))
    with pytest.raises(NotImplementedError):
        Bare().inverse(torch.zeros(1, 2))
    assert Bare().why_not_invertible() is None


@pytest.mark.parametrize("dim", [1, 2, 64])
def test_standard_normal_log_prob_matches_torch_distributions(dim):
    z = torch.randn(5, dim, generator=torch.Generator().manual_seed(dim), dtype=torch.float64)
    want = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
    assert torch.allclose(standard_normal_log_prob(z), want)
    assert torch.allclose(StandardNormal(dim).log_prob(z), want)
