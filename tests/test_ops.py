"""nfwidgets.flows._ops: the grid hot-path helpers equal the plain torch expressions exactly."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nfwidgets.flows import Planar
from nfwidgets.flows._ops import (
    join_columns,
    module_tensors,
    row_sum,
    rows_axpy,
    rows_minus,
    rows_scale_add,
    tanh_abs,
)

SPECIAL = [float("inf"), -float("inf"), float("nan"), 0.0, -0.0, 1e30, -1e-30]


def _batch(n: int, dtype: torch.dtype, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g, dtype=torch.float64) * 3
    x[: len(SPECIAL), 0] = torch.tensor(SPECIAL, dtype=torch.float64)
    x[len(SPECIAL): 2 * len(SPECIAL), 1] = torch.tensor(SPECIAL, dtype=torch.float64)
    return x.to(dtype)


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal values, NaN where NaN (the sign of a zero may differ)."""
    return a.shape == b.shape and a.dtype == b.dtype and torch.equal(
        torch.nan_to_num(a, nan=7.0, posinf=8.0, neginf=9.0),
        torch.nan_to_num(b, nan=7.0, posinf=8.0, neginf=9.0))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@settings(max_examples=25)
@given(seed=st.integers(0, 10_000), v=st.tuples(st.floats(-50, 50), st.floats(-50, 50)))
def test_rows_minus_is_x_minus_v(dtype, seed, v):
    x = _batch(300, dtype, seed)
    vt = torch.tensor(v, dtype=dtype)
    with torch.no_grad():
        assert _same(rows_minus(x, vt), x - vt)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@settings(max_examples=25)
@given(seed=st.integers(0, 10_000), v=st.tuples(st.floats(-50, 50), st.floats(-50, 50)))
def test_rows_axpy_is_x_plus_t_v(dtype, seed, v):
    x = _batch(300, dtype, seed)
    g = torch.Generator().manual_seed(seed + 1)
    t = torch.randn(300, generator=g, dtype=torch.float64).to(dtype)
    t[:5] = torch.tensor([1e30, -1e30, float("nan"), 0.0, -0.0], dtype=dtype)  # no ±inf: see doc
    vt = torch.tensor(v, dtype=dtype)
    with torch.no_grad():
        assert _same(rows_axpy(x, t, vt), x + t.unsqueeze(-1) * vt)


def test_fallbacks_keep_gradients_and_other_shapes():
    x = torch.randn(10, 2, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, dtype=torch.float64)
    t = torch.randn(10, dtype=torch.float64)
    (rows_minus(x, v).sum() + rows_axpy(x, t, v).sum()).backward()
    assert torch.equal(x.grad, torch.full_like(x, 2.0))
    x3 = torch.randn(6, 3)
    v3 = torch.randn(3)
    assert torch.equal(rows_minus(x3, v3), x3 - v3)
    strided = torch.randn(6, 4)[:, ::2]  # not laid out for a complex view
    assert torch.equal(rows_minus(strided, v.float()), strided - v.float())
    inf_v = torch.tensor([float("inf"), 1.0])  # a non-finite v takes the plain path
    with torch.no_grad():
        assert _same(rows_axpy(torch.ones(4, 2), torch.zeros(4), inf_v),
                     torch.ones(4, 2) + torch.zeros(4).unsqueeze(-1) * inf_v)


def test_row_sum_and_module_tensors():
    t = torch.randn(7, 2)
    assert torch.equal(row_sum(t), t[:, 0] + t[:, 1])
    wide = torch.randn(7, 5)
    assert torch.allclose(row_sum(wide), wide.sum(-1))
    assert torch.allclose(row_sum(t), t.sum(-1))
    layer = Planar([1.0, 0.0], [0.5, 0.5], 0.1)
    assert [id(p) for p in module_tensors(layer)] == [id(p) for p in layer.parameters()]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_join_columns_is_cat(dtype):
    x = _batch(200, dtype, 5)
    a, b = x[:, :1], (x[:, 1:] * 2).contiguous()
    with torch.no_grad():
        joined = join_columns(a, b)
        assert _same(joined, torch.cat([a, b], 1)) and joined.is_contiguous()
    wide = torch.randn(5, 2, dtype=dtype)
    assert _same(join_columns(wide, a[:5]), torch.cat([wide, a[:5]], 1))
    g = torch.randn(5, 1, dtype=dtype, requires_grad=True)
    join_columns(g, a[:5]).sum().backward()
    assert torch.equal(g.grad, torch.ones_like(g))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@settings(max_examples=25)
@given(seed=st.integers(0, 10_000), v=st.tuples(st.floats(-50, 50), st.floats(-50, 50)),
       finite=st.booleans())
def test_rows_scale_add_is_v_plus_f_d(dtype, seed, v, finite):
    """Equal to the broadcast for any f (±inf and NaN included); a d with non-finite entries
    takes the broadcast itself, so it is equal too."""
    d = _batch(300, dtype, seed)
    if finite:
        d = torch.nan_to_num(d, nan=1.5, posinf=2.5, neginf=-3.5)
    g = torch.Generator().manual_seed(seed + 2)
    f = torch.randn(300, generator=g, dtype=torch.float64).to(dtype)
    f[20:26] = torch.tensor([float("inf"), -float("inf"), float("nan"), 0.0, -0.0, 1e30],
                            dtype=dtype)
    vt = torch.tensor(v, dtype=dtype)
    with torch.no_grad():
        assert _same(rows_scale_add(vt, f, d), vt + f.unsqueeze(-1) * d)


def test_rows_scale_add_keeps_gradients():
    d = torch.randn(10, 2, dtype=torch.float64)
    f = torch.randn(10, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, dtype=torch.float64)
    rows_scale_add(v, f, d).sum().backward()
    assert torch.allclose(f.grad, d.sum(-1))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tanh_abs_is_tanh_to_an_absolute_rounding_unit(dtype):
    a = torch.cat([torch.linspace(-25, 25, 200_001, dtype=torch.float64),
                   torch.tensor([1e-30, -1e-30, 0.0, 1e30, -1e30])]).to(dtype)
    with torch.no_grad():
        got = tanh_abs(a)
    err = (got.double() - torch.tanh(a.double())).abs().max()
    assert float(err) <= 2 * torch.finfo(dtype).eps
    assert got.dtype == dtype and got.shape == a.shape
    special = tanh_abs(torch.tensor([float("inf"), -float("inf"), float("nan")], dtype=dtype))
    assert special[0] == 1.0 and special[1] == -1.0 and torch.isnan(special[2])


def test_tanh_abs_with_gradient_is_torch_tanh():
    a = torch.linspace(-3, 3, 101, dtype=torch.float64, requires_grad=True)
    out = tanh_abs(a)
    assert torch.equal(out, torch.tanh(a))
    out.sum().backward()
    assert torch.allclose(a.grad, 1 - torch.tanh(a.detach()) ** 2)
