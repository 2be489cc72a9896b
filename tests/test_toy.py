"""Tests for nfwidgets.targets.toy: FFJORD's toy data sets, descriptions and entropy floors."""

from __future__ import annotations

import math

import pytest
import torch

from nfwidgets.targets import (
    ENTROPY_FLOORS,
    TOY_DATA_DESCRIPTIONS,
    TOY_DATA_NAMES,
    entropy_floor,
    toy_data,
    toy_data_description,
)

# --------------------------------------------------------------------------------------------
# Toy data
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TOY_DATA_NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_toy_data_shape_dtype_and_determinism(name: str, dtype: torch.dtype) -> None:
    x = toy_data(name, 1001, seed=7, dtype=dtype)
    assert x.shape == (1001, 2) and x.dtype == dtype and torch.isfinite(x).all()
    assert torch.equal(x, toy_data(name, 1001, seed=7, dtype=dtype))
    assert not torch.equal(x, toy_data(name, 1001, seed=8, dtype=dtype))


@pytest.mark.parametrize("name", TOY_DATA_NAMES)
def test_toy_data_single_point_and_float32_float64_agree(name: str) -> None:
    assert toy_data(name, 1).shape == (1, 2)
    x32 = toy_data(name, 300, seed=3)
    x64 = toy_data(name, 300, seed=3, dtype=torch.float64)
    torch.testing.assert_close(x32, x64.float())


def test_toy_data_does_not_touch_global_rng() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    for name in TOY_DATA_NAMES:
        toy_data(name, 10)
    assert torch.equal(torch.rand(3), expected)


def test_eight_gaussians_geometry() -> None:
    x = toy_data("eight_gaussians", 40_000, dtype=torch.float64)
    angle = (math.pi / 4) * torch.arange(8, dtype=torch.float64)
    centres = (4 / 1.414) * torch.stack((torch.cos(angle), torch.sin(angle)), dim=1)
    nearest = torch.cdist(x, centres).argmin(dim=1)
    residual = x - centres[nearest]
    assert residual.mean(dim=0).abs().max() < 0.01
    torch.testing.assert_close(
        residual.std(dim=0), torch.full((2,), 0.5 / 1.414, dtype=x.dtype), atol=0.005, rtol=0
    )
    counts = torch.bincount(nearest, minlength=8).double() / len(x)
    assert (counts - 1 / 8).abs().max() < 0.01
    assert x.norm(dim=1).median().item() == pytest.approx(4 / 1.414, abs=0.02)


def _on_black_squares(x: torch.Tensor) -> torch.Tensor:
    cell = torch.floor(x / 2)
    return (cell.sum(dim=1) % 2 == 0) & (x.abs() <= 4).all(dim=1)


def test_checkerboard_geometry_and_uniformity() -> None:
    x = toy_data("checkerboard", 40_000, dtype=torch.float64)
    assert _on_black_squares(x).all()
    cell = torch.floor(x / 2).long() + 2  # in {0, 1, 2, 3}²
    index = 4 * cell[:, 1] + cell[:, 0]
    counts = torch.bincount(index, minlength=16)
    assert (counts > 0).sum().item() == 8  # exactly the 8 black squares of side 2 are used
    freq = counts[counts > 0].double() / len(x)
    assert (freq - 1 / 8).abs().max() < 0.01
    # Uniform inside each square: offset from the square's corner is U(0, 2)², mean 1, var 1/3.
    offset = x - 2 * torch.floor(x / 2)
    torch.testing.assert_close(offset.mean(dim=0), torch.ones(2, dtype=x.dtype), atol=0.02, rtol=0)
    torch.testing.assert_close(
        offset.var(dim=0), torch.full((2,), 1 / 3, dtype=x.dtype), atol=0.01, rtol=0
    )


def test_checkerboard_cell_rule_rejects_white_squares() -> None:
    # Guard for the helper above: the centre of a white square is not on the board.
    assert not _on_black_squares(torch.tensor([[1.0, -1.0], [-3.0, -1.0], [3.0, 5.0]])).any()
    assert _on_black_squares(torch.tensor([[1.0, 1.0], [-3.0, -3.0], [-3.0, 1.0]])).all()


def test_two_moons_without_noise_lies_on_the_arcs() -> None:
    x = toy_data("two_moons", 5000, noise=0.0, dtype=torch.float64)
    # sklearn's arcs (centre (0, 0) and (1, 0.5), radius 1), mapped by x ↦ 2x + (-1, -0.2).
    d_upper = (x - torch.tensor([-1.0, -0.2], dtype=x.dtype)).norm(dim=1)
    d_lower = (x - torch.tensor([1.0, 0.8], dtype=x.dtype)).norm(dim=1)
    on_upper = (d_upper - 2).abs() < 1e-9
    on_lower = (d_lower - 2).abs() < 1e-9
    assert (on_upper | on_lower).all()
    assert (x[on_upper, 1] >= -0.2 - 1e-9).all() and (x[on_lower, 1] <= 0.8 + 1e-9).all()
    assert on_upper.double().mean().item() == pytest.approx(0.5, abs=0.03)


def test_two_moons_moments_and_noise_option() -> None:
    x = toy_data("two_moons", 40_000, dtype=torch.float64)
    # Mean of make_moons is (½, ¼); after 2x + (-1, -0.2) it is (0, 0.3).
    torch.testing.assert_close(
        x.mean(dim=0), torch.tensor([0.0, 0.3], dtype=x.dtype), atol=0.03, rtol=0
    )
    noisy = toy_data("two_moons", 40_000, noise=0.3, dtype=torch.float64)
    assert noisy.var(dim=0).sum() > x.var(dim=0).sum() + 0.2


def test_rings_radii() -> None:
    x = toy_data("rings", 20_000, dtype=torch.float64)
    radii = torch.tensor([0.75, 1.5, 2.25, 3.0], dtype=x.dtype)
    dist = (x.norm(dim=1)[:, None] - radii).abs()
    nearest = dist.argmin(dim=1)
    assert dist.min(dim=1).values.max() < 0.08 * 6
    freq = torch.bincount(nearest, minlength=4).double() / len(x)
    assert (freq - 0.25).abs().max() < 0.02
    # Per ring: mean radius ≈ r (bias σ²/2r ≤ 0.005) and radial spread ≈ the noise std 0.08.
    radius = x.norm(dim=1)
    for k, r in enumerate(radii.tolist()):
        on_ring = radius[nearest == k]
        assert on_ring.mean().item() == pytest.approx(r, abs=0.01)
        assert on_ring.std().item() == pytest.approx(0.08, abs=0.005)


def test_pinwheel_and_two_spirals_sanity() -> None:
    p = toy_data("pinwheel", 20_000, dtype=torch.float64)
    torch.testing.assert_close(p.mean(dim=0), torch.zeros(2, dtype=p.dtype), atol=0.05, rtol=0)
    # |x| = 2·|f| with f = (1 + 0.3ε₁, 0.1ε₂): median radius ≈ 2.
    assert p.norm(dim=1).median().item() == pytest.approx(2.0, abs=0.05)
    s = toy_data("two_spirals", 20_000, dtype=torch.float64)
    torch.testing.assert_close(s.mean(dim=0), torch.zeros(2, dtype=s.dtype), atol=0.05, rtol=0)
    # Arm radius ≤ (3π + ½√2)/3 before noise of std 0.1.
    assert s.norm(dim=1).max().item() < (3 * math.pi + 0.5 * math.sqrt(2)) / 3 + 0.6


@pytest.mark.parametrize("bad", ["three_moons", "", None])
def test_toy_data_bad_name(bad: object) -> None:
    with pytest.raises(ValueError, match="two_moons, eight_gaussians") as info:
        toy_data(bad, 10)  # type: ignore[arg-type]
    assert repr(bad) in str(info.value)


def test_toy_data_ffjord_name_hint_and_case() -> None:
    with pytest.raises(ValueError, match="eight_gaussians"):
        toy_data("8gaussians", 10)
    assert torch.equal(toy_data("Two_Moons", 5), toy_data("two_moons", 5))


@pytest.mark.parametrize("bad", [0, -3, 2.0, "10", True, None])
def test_toy_data_bad_n(bad: object) -> None:
    with pytest.raises(ValueError, match=r"n must be a positive integer ≤ 10000000") as info:
        toy_data("rings", bad)  # type: ignore[arg-type]
    assert repr(bad) in str(info.value)


def test_toy_data_bad_seed_dtype_and_options() -> None:
    with pytest.raises(ValueError, match=r"1\.5"):
        toy_data("rings", 10, seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"int32"):
        toy_data("rings", 10, dtype=torch.int32)
    with pytest.raises(ValueError, match=r"'noise'.*none"):
        toy_data("rings", 10, noise=0.1)
    with pytest.raises(ValueError, match=r"'nosie'.*noise"):
        toy_data("two_moons", 10, nosie=0.1)
    with pytest.raises(ValueError, match=r"-0\.5"):
        toy_data("two_moons", 10, noise=-0.5)


def test_descriptions() -> None:
    assert set(TOY_DATA_DESCRIPTIONS) == set(TOY_DATA_NAMES)
    for name in TOY_DATA_NAMES:
        assert toy_data_description(name) == TOY_DATA_DESCRIPTIONS[name] != ""
    with pytest.raises(ValueError, match="'spiral'"):
        toy_data_description("spiral")


# --------------------------------------------------------------------------------------------
# Entropy floors
# --------------------------------------------------------------------------------------------


def test_entropy_floor_lookup() -> None:
    assert set(ENTROPY_FLOORS) == {"checkerboard", "eight_gaussians"}
    assert entropy_floor("checkerboard") == pytest.approx(math.log(32), rel=1e-15)
    assert entropy_floor("checkerboard") == pytest.approx(3.466, abs=1e-3)
    assert entropy_floor("eight_gaussians") == pytest.approx(2.833, abs=0.002)
    assert entropy_floor("rings") is None
    with pytest.raises(ValueError, match="'moon'"):
        entropy_floor("moon")


def _eight_gaussians_log_density(x: torch.Tensor) -> torch.Tensor:
    """Exact log density of FFJORD's 8 gaussians: N(4·c_k/1.414, (0.5/1.414)² I), k uniform."""
    s = 0.5 / 1.414
    angle = (math.pi / 4) * torch.arange(8, dtype=x.dtype)
    centres = (4 / 1.414) * torch.stack((torch.cos(angle), torch.sin(angle)), dim=1)
    sq = ((x[:, None, :] - centres) ** 2).sum(dim=-1)
    return torch.logsumexp(-sq / (2 * s * s), dim=1) - math.log(8 * 2 * math.pi * s * s)


def test_eight_gaussians_entropy_floor_by_quadrature() -> None:
    # H = -∫ p ln p on a grid that holds all the mass (midpoint rule, h = 0.02).
    h = 0.02
    g = torch.arange(-5 + h / 2, 5, h, dtype=torch.float64)
    g1, g2 = torch.meshgrid(g, g, indexing="xy")
    log_p = _eight_gaussians_log_density(torch.stack((g1.reshape(-1), g2.reshape(-1)), dim=1))
    p = log_p.exp()
    assert (p.sum() * h * h).item() == pytest.approx(1.0, abs=1e-9)
    entropy = -(p * log_p).sum().item() * h * h
    assert entropy == pytest.approx(ENTROPY_FLOORS["eight_gaussians"], abs=2e-4)


def test_eight_gaussians_samples_reach_the_entropy_floor() -> None:
    # Cross-entropy of our samples under FFJORD's density = H + KL(ours‖FFJORD's): it equals
    # the floor only if the scaling matches; a wrong scale or std raises it by ≫ 0.02.
    x = toy_data("eight_gaussians", 200_000, seed=11, dtype=torch.float64)
    estimate = -_eight_gaussians_log_density(x).mean().item()
    assert estimate == pytest.approx(entropy_floor("eight_gaussians"), abs=0.02)


def test_checkerboard_samples_reach_the_entropy_floor() -> None:
    # The density is 1/32 on the black squares and 0 elsewhere; every sample lies on a black
    # square (checked above), so the Monte Carlo estimate of -E[ln p] is exactly ln 32.
    x = toy_data("checkerboard", 50_000, seed=5, dtype=torch.float64)
    log_p = torch.full_like(x[:, 0], -math.log(32.0)).masked_fill(~_on_black_squares(x), -math.inf)
    assert (-log_p.mean()).item() == pytest.approx(entropy_floor("checkerboard"), rel=1e-12)
    # And the black squares have total area 32: 8 of the 16 cells of side 2 in [-4, 4]².
    centres = torch.cartesian_prod(*(torch.arange(-3.0, 4.0, 2.0),) * 2)
    assert _on_black_squares(centres).sum().item() * 2 * 2 == 32
