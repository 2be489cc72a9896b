"""nfwidgets.fast.rows: the complex-number row helpers equal the plain torch expressions."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nfwidgets.fast.rows import (
    join_columns,
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


_v = st.tuples(st.floats(-50, 50), st.floats(-50, 50))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@settings(max_examples=25)
@given(seed=st.integers(0, 10_000), v=_v)
def test_rows_minus_and_axpy_are_the_broadcasts(dtype, seed, v):
    x = _batch(300, dtype, seed)
    vt = torch.tensor(v, dtype=dtype)
    g = torch.Generator().manual_seed(seed + 1)
    t = torch.randn(300, generator=g, dtype=torch.float64).to(dtype)
    t[:5] = torch.tensor([1e30, -1e30, float("nan"), 0.0, -0.0], dtype=dtype)  # no ±inf
    with torch.no_grad():
        assert _same(rows_minus(x, vt), x - vt)
        assert _same(rows_axpy(x, t, vt), x + t.unsqueeze(-1) * vt)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@settings(max_examples=25)
@given(seed=st.integers(0, 10_000), v=_v)
def test_rows_scale_add_is_the_broadcast(dtype, seed, v):
    g = torch.Generator().manual_seed(seed)
    d = (torch.randn(300, 2, generator=g, dtype=torch.float64) * 3).to(dtype)
    f = _batch(300, dtype, seed)[:, 0]  # ±inf and NaN factors included
    vt = torch.tensor(v, dtype=dtype)
    with torch.no_grad():
        assert _same(rows_scale_add(vt, f, d), vt + f.unsqueeze(-1) * d)
        d[3, 1] = float("inf")  # a non-finite d takes the broadcast
        assert _same(rows_scale_add(vt, f, d), vt + f.unsqueeze(-1) * d)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_join_columns_row_sum_and_tanh_abs(dtype):
    x = _batch(200, dtype, 1)
    a, b = x[:, :1], x[:, 1:]
    with torch.no_grad():
        assert _same(join_columns(a, b), torch.cat([a, b], dim=1))
        assert _same(row_sum(x), x.sum(-1))
        assert _same(row_sum(a), a.sum(-1))
        s = torch.linspace(-40, 40, 2001, dtype=dtype)
        assert float((tanh_abs(s) - torch.tanh(s)).abs().max()) <= 2 * torch.finfo(dtype).eps
    wide = torch.randn(7, 5, dtype=dtype)
    assert torch.allclose(row_sum(wide), wide.sum(-1))


def test_fallbacks_keep_gradients_and_other_shapes():
    x = torch.randn(10, 2, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, dtype=torch.float64)
    t = torch.randn(10, dtype=torch.float64)
    (rows_minus(x, v).sum() + rows_axpy(x, t, v).sum()).backward()
    assert torch.equal(x.grad, torch.full_like(x, 2.0))
    x3, v3 = torch.randn(6, 3), torch.randn(3)
    assert torch.equal(rows_minus(x3, v3), x3 - v3)
    strided = torch.randn(6, 4)[:, ::2]  # not laid out for a complex view
    assert torch.equal(rows_minus(strided, v.float()), strided - v.float())
    s = torch.randn(5, requires_grad=True)
    assert tanh_abs(s).grad_fn is not None
