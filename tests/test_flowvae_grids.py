"""Latent-grid densities of a 2-D FlowVAE: normalised, the Gaussian at k = 0, the engine's
density through the image's layers, ln p(x) the quadrature's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nfwidgets.data import binarize, digits
from nfwidgets.models.flowvae import FlowVAE
from nfwidgets.models.flowvae.grids import engine_flow

X = binarize(digits("test"))[:3].double()
BOUNDS = ((-6.0, 6.0), (-6.0, 6.0))


@pytest.fixture(scope="module")
def model() -> FlowVAE:
    torch.manual_seed(1)
    return FlowVAE(layers=3, hidden=8).double()


def test_posterior_integrates_to_one_and_gives_the_quadrature(model: FlowVAE) -> None:
    post = model.posterior_grid(X[1], 120, BOUNDS)
    area = (12.0 / 120) ** 2
    assert np.exp(post.log_density.astype(np.float64)).sum() * area == pytest.approx(1, abs=1e-4)
    quad = model.marginal_log_likelihood_quadrature(X[1:2], grid=120, bounds=BOUNDS)
    assert post.log_px == pytest.approx(float(quad[0]), abs=1e-9)


def test_q0_is_the_encoder_gaussian(model: FlowVAE) -> None:
    grid = model.q_density_grid(X[0], 0, 40, BOUNDS)
    mu, log_sigma, _ = model.encode(X[:1])
    zs = torch.stack(torch.meshgrid(torch.as_tensor(grid.xs, dtype=torch.float64),
                                    torch.as_tensor(grid.ys, dtype=torch.float64),
                                    indexing="xy"), -1).reshape(-1, 2)
    expected = torch.distributions.Normal(mu[0], torch.exp(log_sigma[0])).log_prob(zs).sum(-1)
    np.testing.assert_allclose(grid.log_density.reshape(-1),
                               expected.clamp(min=-50).detach().numpy(), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("k", [1, 3])
def test_qk_is_normalised_and_matches_pushed_samples(model: FlowVAE, k: int) -> None:
    grid = model.q_density_grid(X[2], k, 240, ((-12.0, 12.0), (-12.0, 12.0)))  # σ ≈ 2 here
    assert grid.mass == pytest.approx(1.0, abs=1e-4)
    flow = engine_flow(model, X[2], k)
    z = flow.sample(5, generator=torch.Generator().manual_seed(0))
    z0, inv_log_det = flow.inverse(z)
    # ln q_k(z) = ln q₀(z₀) − Σ ln|det J|, the change of variables, at the samples
    torch.testing.assert_close(flow.log_prob(z), flow.base.log_prob(z0) + inv_log_det)


def test_grid_arguments_are_checked(model: FlowVAE) -> None:
    with pytest.raises(ValueError, match="k must"):
        model.q_density_grid(X[0], 4)
    with pytest.raises(ValueError, match="one image"):
        model.posterior_grid(X)
    with pytest.raises(ValueError, match="latent_dim = 2"):
        FlowVAE(latent_dim=3, layers=1, hidden=4).marginal_log_likelihood_quadrature(X)
    with pytest.raises(ValueError, match="bounds"):
        model.posterior_grid(X[0], 20, ((1.0, -1.0), (0.0, 1.0)))
