"""Tests for ``Radial.fold_radius`` and ``Radial.singular_radii``: where a radial layer with
β̂ < -α folds the plane, checked against autograd and against a count of preimages."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from nfwidgets.flows import Radial

F64 = torch.float64

_alpha = st.floats(0.05, 5.0)
# β̂ below -α by a margin, so the fold is not degenerate
_excess = st.floats(0.05, 5.0)


def _folded(alpha: float, excess: float, z0=(0.3, -0.2), dim: int = 2) -> Radial:
    """A 2-D (or ``dim``-D) radial layer, constraint off, with β̂ = -α - excess < -α."""
    z0 = tuple(z0)[:dim] if dim <= 2 else (0.0,) * dim
    return Radial(torch.tensor(z0, dtype=F64), torch.tensor(alpha, dtype=F64),
                  torch.tensor(-alpha - excess, dtype=F64), constrain=False)


def _phi(layer: Radial, r: torch.Tensor) -> torch.Tensor:
    """The signed radial map r ↦ φ(r), taken from the engine's forward along the x₁-axis."""
    e = torch.zeros(r.shape[0], layer.dim, dtype=F64)
    e[:, 0] = r
    with torch.no_grad():
        x, _ = layer(layer.z0.detach() + e)
    return x[:, 0] - layer.z0.detach()[0]


def test_no_fold_when_invertible() -> None:
    assert Radial([0.0, 0.0], 1.0, -5.0, constrain=True).fold_radius() is None
    assert Radial([0.0, 0.0], 1.0, -5.0, constrain=True).singular_radii() is None
    assert Radial([0.0, 0.0], 1.0, 2.0, constrain=False).fold_radius() is None
    assert Radial([0.0, 0.0], 1.0, -1.0, constrain=False).fold_radius() is None  # β̂ = -α
    assert Radial([0.0, 0.0], 1.0, -0.5, constrain=False).singular_radii() is None


@given(_alpha, _excess)
def test_fold_radius_closed_form(alpha: float, excess: float) -> None:
    """|φ_min| = (√(-β̂) - √α)², and φ_min is the minimum of φ over r ≥ 0."""
    layer = _folded(alpha, excess)
    beta_hat = -alpha - excess
    radius = layer.fold_radius()
    assert radius == pytest.approx((math.sqrt(-beta_hat) - math.sqrt(alpha)) ** 2, rel=1e-9)
    (r_star, _) = layer.singular_radii()
    assert float(_phi(layer, torch.tensor([r_star], dtype=F64))) == pytest.approx(-radius,
                                                                                   rel=1e-9)
    r = torch.linspace(0, 20, 20001, dtype=F64)
    assert float(_phi(layer, r).min()) >= -radius * (1 + 1e-12)


@given(_alpha, _excess)
def test_det_vanishes_at_singular_radii_and_is_negative_between(alpha: float,
                                                               excess: float) -> None:
    layer = _folded(alpha, excess)
    r_star, r_collapse = layer.singular_radii()
    assert 0 < r_star < r_collapse
    assert r_collapse == pytest.approx(excess, rel=1e-12)
    z0 = layer.z0.detach()
    u = torch.tensor([0.6, 0.8], dtype=F64)

    def det(r: float) -> float:
        jac = torch.autograd.functional.jacobian(lambda v: layer(v[None])[0][0], z0 + r * u)
        return float(torch.linalg.det(jac))

    for r in (r_star, r_collapse):
        scale = 1.0 + abs(det(0.5 * r_star)) + abs(det(2.0 * r_collapse))
        assert abs(det(r)) < 1e-8 * scale
    assert det(0.5 * (r_star + r_collapse)) < 0
    assert det(0.5 * r_star) > 0 and det(r_collapse + 1.0) > 0


def test_singular_radii_in_one_dimension() -> None:
    layer = Radial(torch.tensor([0.5], dtype=F64), 1.0, -3.0, constrain=False)
    (r_star,) = layer.singular_radii()
    assert r_star == pytest.approx(math.sqrt(3.0) - 1.0)


@given(_alpha, _excess)
def test_fold_circle_is_the_image_of_the_radial_fold(alpha: float, excess: float) -> None:
    """The circle r = r* lands on the circle of radius fold_radius on the opposite side, and
    the circle r = -(α + β̂) collapses onto z0."""
    layer = _folded(alpha, excess)
    r_star, r_collapse = layer.singular_radii()
    z0 = layer.z0.detach()
    angles = torch.linspace(0, 2 * math.pi, 13, dtype=F64)
    u = torch.stack([torch.cos(angles), torch.sin(angles)], dim=-1)
    with torch.no_grad():
        x_fold, _ = layer(z0 + r_star * u)
        x_collapse, _ = layer(z0 + r_collapse * u)
    assert torch.allclose(x_fold, z0 - layer.fold_radius() * u, atol=1e-9)
    assert torch.allclose(x_collapse, z0.expand_as(x_collapse), atol=1e-9)


@pytest.mark.parametrize(("alpha", "beta"), [(1.0, -2.0), (0.5, -4.0), (2.0, -2.5), (0.05, -5)])
def test_three_preimages_inside_the_fold_radius_and_one_outside(alpha: float,
                                                                beta: float) -> None:
    """Count solutions of φ(r) = ±ρ on a fine r-grid; compare with ``inverse_where``'s flag."""
    layer = Radial(torch.tensor([0.0, 0.0], dtype=F64), torch.tensor(alpha, dtype=F64),
                   torch.tensor(float(beta), dtype=F64), constrain=False)
    radius = layer.fold_radius()
    r = torch.linspace(0, 50, 500001, dtype=F64)
    phi = _phi(layer, r)
    for rho in (0.2 * radius, 0.7 * radius, 0.99 * radius, 1.01 * radius, 2 * radius, 3.0):
        own = int(((phi[:-1] - rho) * (phi[1:] - rho) < 0).sum())
        opposite = int(((phi[:-1] + rho) * (phi[1:] + rho) < 0).sum())
        expected = 3 if rho < radius else 1
        assert own + opposite == expected, rho
        _, _, unique = layer.inverse_where(torch.tensor([[rho, 0.0]], dtype=F64))
        assert bool(unique[0]) == (rho >= radius)
