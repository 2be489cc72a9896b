"""Glow's layers: log-det against autograd's Jacobian (float64, tiny images), exact round trips,
ActNorm's data-dependent initialisation and its saved flag."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from nfwidgets.models.glow import ActNorm, ImageAffineCoupling, InvConv1x1, Split, Squeeze

SHAPES = [(2, 2, 2), (4, 2, 2), (4, 4, 2)]


def _randomise(layer: torch.nn.Module, seed: int, scale: float = 0.5) -> torch.nn.Module:
    """Float64 copy with every parameter moved off its (often identity) initial value."""
    layer = layer.double()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(scale * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return layer


def _autograd_log_det(fn, x: torch.Tensor) -> torch.Tensor:
    """ln|det ∂fn(x_n)/∂x_n| per example, from the full Jacobian of one example at a time."""
    out = []
    for xi in x:
        jac = torch.autograd.functional.jacobian(lambda v: fn(v[None])[0].flatten(), xi)
        out.append(torch.linalg.slogdet(jac.reshape(xi.numel(), xi.numel()))[1])
    return torch.stack(out)


def _layer(kind: str, channels: int, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    layer = {"actnorm": ActNorm, "conv": InvConv1x1,
             "coupling": lambda c: ImageAffineCoupling(c, hidden=8)}[kind](channels)
    if kind == "actnorm":
        layer.initialized.fill_(True)  # test the map itself, not the initialisation
    return _randomise(layer, seed)


@given(kind=st.sampled_from(["actnorm", "conv", "coupling"]), shape=st.sampled_from(SHAPES),
       seed=st.integers(0, 2**16))
def test_log_det_is_autograds_and_inverse_is_exact(kind: str, shape: tuple, seed: int) -> None:
    layer = _layer(kind, shape[0], seed)
    x = torch.randn(3, *shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    y, log_det = layer(x)
    assert y.shape == x.shape and log_det.shape == (3,) and y.dtype == torch.float64
    torch.testing.assert_close(log_det, _autograd_log_det(lambda v: layer(v)[0], x),
                               rtol=0, atol=1e-9)
    torch.testing.assert_close(layer.inverse(y), x, rtol=0, atol=1e-10)
    torch.testing.assert_close(layer(layer.inverse(y))[0], y, rtol=0, atol=1e-10)


def test_log_dets_follow_table_1() -> None:
    """H·W·Σ ln|s| for ActNorm and the 1×1 conv: doubling the image area doubles them."""
    act, conv = _layer("actnorm", 4, 1), _layer("conv", 4, 2)
    small = torch.randn(2, 4, 2, 2, dtype=torch.float64)
    big = torch.randn(2, 4, 4, 2, dtype=torch.float64)
    for layer, ln_s in ((act, act.log_scale.sum()), (conv, conv.log_s.sum())):
        torch.testing.assert_close(layer(small)[1], (4 * ln_s).expand(2))
        torch.testing.assert_close(layer(big)[1], (8 * ln_s).expand(2))
    # the LU weight's log|det| is Σ log_s
    torch.testing.assert_close(torch.linalg.slogdet(conv.weight())[1], conv.log_s.sum())


def test_lu_factors_stay_triangular_under_any_parameters() -> None:
    conv = _layer("conv", 4, 3)
    w = conv.weight()
    with torch.no_grad():  # junk written into the masked halves must not change W
        conv.lower.add_(torch.triu(torch.ones(4, 4, dtype=torch.float64)))
        conv.upper.add_(torch.tril(torch.ones(4, 4, dtype=torch.float64)))
    torch.testing.assert_close(conv.weight(), w)


@given(shape=st.sampled_from([(1, 2, 2), (3, 4, 2), (2, 8, 8)]), seed=st.integers(0, 1000))
def test_squeeze_is_a_permutation(shape: tuple, seed: int) -> None:
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    y, log_det = Squeeze()(x)
    c, h, w = shape
    assert y.shape == (2, 4 * c, h // 2, w // 2) and torch.equal(log_det, torch.zeros(2,
                                                                 dtype=torch.float64))
    assert torch.equal(torch.sort(y.flatten(1))[0], torch.sort(x.flatten(1))[0])
    assert torch.equal(Squeeze().inverse(y), x)
    # channel 4c + 2a + b holds pixel (2i + a, 2j + b) of channel c
    assert y[0, 4 * 0 + 2 * 1 + 0, 0, 0] == x[0, 0, 1, 0]


def test_squeeze_refuses_odd_sides() -> None:
    with pytest.raises(ValueError, match=r"even height and width; got shape \(1, 1, 3, 2\)"):
        Squeeze()(torch.zeros(1, 1, 3, 2))


def test_split_log_det_and_inverse() -> None:
    split = _randomise(Split(4), 5)
    x = torch.randn(3, 4, 2, 2, dtype=torch.float64)
    keep, eps, log_det = split(x)
    # z_keep passes unchanged, so log|det| of x → (z_keep, ε) is that of z_out → ε
    ref = _autograd_log_det(lambda v: torch.cat(split(v)[:2], 1), x)
    torch.testing.assert_close(log_det, ref, rtol=0, atol=1e-9)
    torch.testing.assert_close(split.inverse(keep, eps), x, rtol=0, atol=1e-12)


def test_actnorm_initialises_on_the_first_batch_only() -> None:
    gen = torch.Generator().manual_seed(0)
    x = 3.0 + 2.5 * torch.randn(64, 4, 4, 4, generator=gen, dtype=torch.float64)
    act = ActNorm(4).double()
    assert not bool(act.initialized)
    y, _ = act(x)
    assert bool(act.initialized)
    torch.testing.assert_close(y.mean((0, 2, 3)), torch.zeros(4, dtype=torch.float64),
                               atol=1e-12, rtol=0)
    torch.testing.assert_close(y.std((0, 2, 3), unbiased=False),
                               torch.ones(4, dtype=torch.float64), atol=1e-12, rtol=0)
    state = act.state_dict()
    assert "initialized" in state
    again = ActNorm(4).double()
    again.load_state_dict(state)
    other = torch.randn(8, 4, 4, 4, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(again(other)[0], act(other)[0], rtol=0, atol=0)
    assert bool(act(other)[0].mean() != 0)  # a second batch does not re-initialise


def test_coupling_starts_near_identity_with_glows_scale() -> None:
    layer = ImageAffineCoupling(4, hidden=8)
    x = torch.randn(2, 4, 2, 2)
    y, log_det = layer(x)
    s = torch.sigmoid(torch.tensor(2.0))
    torch.testing.assert_close(y, torch.cat([x[:, :2], x[:, 2:] * s], 1))
    torch.testing.assert_close(log_det, torch.full((2,), 8 * float(torch.log(s))))
    with pytest.raises(ValueError, match="channels must be even"):
        ImageAffineCoupling(3)


def test_layers_refuse_maps_of_the_wrong_shape_by_name() -> None:
    x = torch.randn(2, 3, 4, 4)
    for layer in (ActNorm(4), InvConv1x1(4), ImageAffineCoupling(4, 8), Split(4)):
        with pytest.raises(ValueError, match=r"x must have shape \(N, 4, H, W\).*\(2, 3, 4, 4\)"):
            layer(x)
    with pytest.raises(ValueError, match="channels must be even"):
        ImageAffineCoupling(3)
    with pytest.raises(ValueError, match=r"channels must be a positive integer ≤ 1024"):
        ActNorm(10**12)


def test_actnorm_refuses_to_initialise_from_a_non_finite_batch() -> None:
    layer = ActNorm(2)
    x = torch.randn(4, 2, 3, 3)
    x[1, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite"):
        layer(x)
    assert not bool(layer.initialized)


def test_a_nan_example_stays_in_its_example() -> None:
    torch.manual_seed(0)
    layer = ImageAffineCoupling(4, 8)
    torch.nn.init.normal_(layer.net[-1].weight)  # a coupling that is not the identity
    x = torch.randn(3, 4, 4, 4)
    x[1] = float("nan")
    y, log_det = layer(x)
    assert not bool(torch.isfinite(y[1]).any()) and bool(torch.isfinite(y[[0, 2]]).all())
    assert bool(torch.isfinite(log_det[[0, 2]]).all())
