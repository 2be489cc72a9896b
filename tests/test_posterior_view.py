"""PosteriorView: the panels are the model's exact latent densities, the numbers its bound."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nfwidgets.models.flowvae import FlowVAE
from nfwidgets.posterior_view import PosteriorView

N = 60
BOUNDS = ((-5.0, 5.0), (-5.0, 5.0))


@pytest.fixture(scope="module")
def view() -> PosteriorView:
    torch.manual_seed(0)
    return PosteriorView(FlowVAE(layers=3, hidden=16), BOUNDS, n_elbo=4000)


def test_panels_are_the_models_densities(view: PosteriorView) -> None:
    frame = view.compute(5, 2, N)
    x = view.images[5]
    post = view.vae.posterior_grid(x, N, BOUNDS)
    qk = view.vae.q_density_grid(x, 2, N, BOUNDS)
    peak = np.exp(post.log_density.max())
    np.testing.assert_allclose(frame.posterior, np.exp(post.log_density) / peak, rtol=1e-4,
                               atol=1e-7)
    np.testing.assert_allclose(frame.qk, np.exp(qk.log_density) / peak, rtol=1e-4, atol=1e-7)
    assert frame.log_px == pytest.approx(post.log_px, abs=1e-4)
    assert frame.image.shape == (8, 8) and set(np.unique(frame.image)) <= {0.0, 1.0}


def test_gap_is_the_kl_on_the_grid(view: PosteriorView) -> None:
    """ln p(x) − ELBO_k (Monte Carlo) agrees with KL(q_k ‖ p(z|x)) summed on a fine grid."""
    for k in (0, 3):
        frame = view.compute(7, k, 200)
        qk = view.vae.q_density_grid(view.images[7], k, 200, BOUNDS)
        post = view.vae.posterior_grid(view.images[7], 200, BOUNDS)
        area = (10.0 / 200) ** 2
        q = np.exp(qk.log_density.astype(np.float64))
        kl = float((q * (qk.log_density - post.log_density)).sum() * area)
        assert frame.gap == pytest.approx(kl, abs=0.05)
        assert frame.gap > -0.05


def test_decoded_is_the_decoder_mean(view: PosteriorView) -> None:
    image = view.decoded(0.3, -1.2)
    expected = torch.sigmoid(view.vae.decoder(torch.tensor([[0.3, -1.2]]))).reshape(8, 8)
    np.testing.assert_allclose(image, expected.detach().numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="finite"):
        view.decoded(math.nan, 0.0)


@pytest.mark.parametrize("index, k, word", [(-1, 0, "index"), (360, 0, "index"),
                                            (1.0, 0, "index"), (0, 4, "k"), (0, -1, "k")])
def test_bad_index_or_k(view: PosteriorView, index, k, word) -> None:
    with pytest.raises(ValueError, match=word):
        view.compute(index, k, N)


def test_needs_a_2d_latent() -> None:
    with pytest.raises(ValueError, match="latent_dim = 2"):
        PosteriorView(FlowVAE(latent_dim=3, layers=1, hidden=4))
