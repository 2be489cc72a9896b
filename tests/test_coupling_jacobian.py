"""Tests for ``AffineCoupling.jacobian``: the triangular Jacobian against autograd."""

from __future__ import annotations

import pytest
import torch
from conftest import simple_conditioner_params
from hypothesis import given
from hypothesis import strategies as st

from nfwidgets.flows import SCALE_RULES, AffineCoupling, MLPConditioner, SimpleConditioner

F64 = torch.float64

_simple = simple_conditioner_params


def _autograd_jacobian(layer: AffineCoupling, z: torch.Tensor) -> torch.Tensor:
    jac = torch.autograd.functional.jacobian(lambda v: layer(v)[0].sum(0), z)  # (D, N, D)
    return jac.permute(1, 0, 2)


def _points(dim: int, n: int = 32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, dim, generator=g, dtype=F64) * 8 - 4


@given(_simple, st.sampled_from([(1, 0), (0, 1)]), st.sampled_from(SCALE_RULES))
def test_simple_conditioner_2d_matches_autograd(params: dict, mask: tuple[int, int],
                                                rule: str) -> None:
    layer = AffineCoupling(list(mask), SimpleConditioner(**params), scale=rule).double()
    z = _points(2)
    jac = layer.jacobian(z)
    assert jac.shape == (32, 2, 2) and jac.dtype == F64
    assert torch.allclose(jac, _autograd_jacobian(layer, z), rtol=1e-12, atol=1e-12)
    c, t = (0, 1) if mask == (1, 0) else (1, 0)
    assert (jac[:, c, t] == 0).all()  # x_c does not depend on z_t: an exact zero
    assert (jac[:, c, c] == 1).all()
    with torch.no_grad():
        _, log_det = layer(z)
    assert torch.allclose(torch.log(jac[:, t, t]), log_det, atol=1e-12)


@pytest.mark.parametrize("mask", [[1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 0, 0], [0, 1, 1, 0]])
def test_mlp_conditioner_matches_autograd_and_slogdet(mask: list[int]) -> None:
    torch.manual_seed(0)
    d_c = sum(mask)
    layer = AffineCoupling(mask, MLPConditioner(d_c, len(mask) - d_c, hidden=(16,)),
                           scale="softclip").double()
    with torch.no_grad():
        for p in layer.parameters():
            p.normal_(0.0, 0.5)
    z = _points(4)
    jac = layer.jacobian(z)
    assert torch.allclose(jac, _autograd_jacobian(layer, z), rtol=1e-12, atol=1e-12)
    sign, logabs = torch.linalg.slogdet(jac)
    with torch.no_grad():
        _, log_det = layer(z)
    assert (sign > 0).all()
    assert torch.allclose(logabs, log_det, atol=1e-10)
    cond = [i for i, b in enumerate(mask) if b == 1]
    trans = [i for i, b in enumerate(mask) if b == 0]
    assert (jac[:, cond][:, :, trans] == 0).all()


def test_jacobian_works_under_no_grad_and_returns_a_detached_tensor() -> None:
    layer = AffineCoupling([1, 0], SimpleConditioner(0.5, 0.0, 1.0, 1.5, 0.0), scale="exp")
    z = torch.tensor([[0.5, 1.0]])
    with torch.no_grad():
        jac = layer.jacobian(z)
    assert not jac.requires_grad
    expected = _autograd_jacobian(layer, z)
    assert torch.allclose(jac, expected, atol=1e-6)


def test_constant_conditioner_gives_an_exact_zero_block() -> None:
    layer = AffineCoupling([0, 1], SimpleConditioner(0.0, 0.3, 0.0, 1.0, 2.0), scale="exp")
    jac = layer.jacobian(torch.tensor([[1.0, -2.0], [0.0, 0.0]]))
    assert (jac[:, 0, 1] == 0).all() and (jac[:, 1, 0] == 0).all()


def test_bad_input_is_a_value_error() -> None:
    layer = AffineCoupling([1, 0], SimpleConditioner())
    with pytest.raises(ValueError, match=r"AffineCoupling.jacobian: z must be a batch of shape"):
        layer.jacobian(torch.zeros(3))
