"""FlowVAE (nfwidgets.models.flowvae.model, .amortised): the −ELBO's terms against a by-hand
Monte Carlo, the per-sample flow against the engine and autograd, ln p(x) by importance
sampling against the quadrature, and bad input."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nfwidgets.data import binarize, digits
from nfwidgets.flows.planar import one_plus_wtu_hat, u_hat
from nfwidgets.flows.radial import beta_hat
from nfwidgets.models.flowvae import FlowVAE
from nfwidgets.models.flowvae.amortised import amortised_forward
from nfwidgets.models.flowvae.grids import engine_flow

X = binarize(digits("test"))[:6].double()


def _model(flow="planar", layers=2, seed=0, hidden=5, scale=1.0, latent=2) -> FlowVAE:
    torch.manual_seed(seed)
    model = FlowVAE(latent_dim=latent, flow=flow, layers=layers, hidden=hidden).double()
    with torch.no_grad():  # larger weights: flow parameters far from the identity
        for p in model.encoder.parameters():
            p.mul_(scale)
    return model


@pytest.mark.parametrize("flow", ["planar", "radial"])
def test_elbo_terms_match_a_hand_monte_carlo(flow):
    model = _model(flow, layers=2, scale=3.0)
    s = 4
    terms = model.negative_elbo(X, n_samples=s, generator=torch.Generator().manual_seed(7))
    # By hand: the same ε, each image's own engine layers, torch.distributions for densities.
    eps = torch.randn(s, X.shape[0], 2, generator=torch.Generator().manual_seed(7),
                      dtype=torch.float64)
    out = model.encoder(X)
    mu, sigma = out[:, :2], torch.exp(out[:, 2:4])
    prior = torch.distributions.Normal(torch.zeros(2, dtype=torch.float64), 1.0)
    for i in range(X.shape[0]):
        flow_i = engine_flow(model, X[i], 2)
        z0 = mu[i] + sigma[i] * eps[:, i]
        zk, log_det = flow_i(z0)
        dec = torch.distributions.Bernoulli(logits=model.decoder(zk))
        q0 = torch.distributions.Normal(mu[i], sigma[i])
        expect = {"log_q0": q0.log_prob(z0).sum(-1).mean(),
                  "sum_log_det": log_det.mean(),
                  "reconstruction": -dec.log_prob(X[i]).sum(-1).mean(),
                  "log_prior": prior.log_prob(zk).sum(-1).mean()}
        for name, value in expect.items():
            torch.testing.assert_close(getattr(terms, name)[i], value.detach(), msg=name)
    total = terms.log_q0 - terms.sum_log_det + terms.reconstruction - terms.log_prior
    torch.testing.assert_close(terms.total, total)
    assert terms.total.shape == (X.shape[0],)


@settings(max_examples=20)
@given(seed=st.integers(0, 10_000), flow=st.sampled_from(["planar", "radial"]),
       scale=st.floats(0.5, 5.0), latent=st.integers(1, 3))
def test_per_sample_log_det_matches_autograd(seed, flow, scale, latent):
    model = _model(flow, layers=3, seed=seed, scale=scale, latent=latent)
    _, _, params = model.encode(X)
    z0 = torch.randn(X.shape[0], latent, generator=torch.Generator().manual_seed(seed),
                     dtype=torch.float64)
    _, log_det = amortised_forward(flow, z0, params)
    for i in range(X.shape[0]):
        one = tuple(t[i:i + 1].detach() for t in params)
        jac = torch.autograd.functional.jacobian(
            lambda v, one=one: amortised_forward(flow, v[None], one)[0][0], z0[i])
        sign, ref = torch.linalg.slogdet(jac)
        assert sign > 0
        torch.testing.assert_close(log_det[i].detach(), ref, rtol=1e-9, atol=1e-9)


@settings(max_examples=20)
@given(seed=st.integers(0, 10_000), scale=st.floats(1.0, 20.0))
def test_invertibility_is_enforced_per_sample(seed, scale):
    """Large encoder weights give raw (w, u) with wᵀu ≪ -1 for some images; after the
    reparametrisation every image's every layer has wᵀû ≥ -1 (radial: β̂ ≥ -α)."""
    planar = _model("planar", layers=4, seed=seed, scale=scale)
    _, _, params = planar.encode(X)
    w, u, _ = params  # (N, K, D): every image, every layer
    assert bool((one_plus_wtu_hat(w, u) >= 0).all())
    assert bool(((w * u_hat(w, u)).sum(-1) >= -1 - 1e-9).all())
    radial = _model("radial", layers=4, seed=seed, scale=scale)
    _, _, params_r = radial.encode(X)
    _, alpha, beta = params_r
    assert bool((alpha > 0).all())
    assert bool((beta_hat(alpha, beta) + alpha >= 0).all())


@settings(max_examples=15)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.5, 3.0),
       flow=st.sampled_from(["planar", "radial"]))
def test_engine_layers_invert_the_amortised_map(seed, scale, flow):
    """Each image's engine layers (exact inverses) undo its amortised forward map."""
    model = _model(flow, layers=4, seed=seed, scale=scale)
    _, _, params = model.encode(X)
    z0 = torch.randn(X.shape[0], 2, generator=torch.Generator().manual_seed(seed),
                     dtype=torch.float64)
    zk, log_det = amortised_forward(flow, z0, params)
    for i in range(X.shape[0]):
        engine = engine_flow(model, X[i])
        assert all(layer.why_not_invertible() is None for layer in engine.layers)
        fwd, fwd_log_det = engine(z0[i:i + 1])
        torch.testing.assert_close(fwd[0], zk[i].detach())
        torch.testing.assert_close(fwd_log_det[0], log_det[i].detach())
        back, inv_log_det = engine.inverse(zk[i:i + 1].detach())
        torch.testing.assert_close(back[0], z0[i], rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(inv_log_det[0], -log_det[i].detach(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("flow", ["planar", "radial"])
def test_importance_sampling_bounds_elbo_and_matches_quadrature(flow):
    """IS with q_K as proposal is ≥ the ELBO and, with many samples, the quadrature's ln p(x)
    (a random, untrained encoder is a poor proposal: hence 10,000 samples)."""
    model, x = _model(flow, layers=2, hidden=8), X[:3]
    gen = torch.Generator().manual_seed(1)
    neg_elbo = model.negative_elbo(x, 1000, gen).total.detach()
    log_px = model.marginal_log_likelihood(x, 10_000, gen)
    quad = model.marginal_log_likelihood_quadrature(x, grid=200, bounds=((-6, 6), (-6, 6)))
    assert bool((log_px >= -neg_elbo).all())
    torch.testing.assert_close(log_px, quad, rtol=0, atol=0.03)


def test_gradients_reach_every_parameter():
    model = _model("planar", layers=2)
    model.negative_elbo(X, generator=torch.Generator().manual_seed(0)).total.sum().backward()
    assert all(p.grad is not None and bool(torch.isfinite(p.grad).all())
               for p in model.parameters())


def test_config_round_trip_and_k0():
    model = _model("radial", layers=3)
    again = FlowVAE.from_config(model.config).double()
    again.load_state_dict(model.state_dict())
    gen = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    torch.testing.assert_close(again.negative_elbo(X, 2, gen()).total,
                               model.negative_elbo(X, 2, gen()).total)
    plain = _model("planar", layers=0)
    terms = plain.negative_elbo(X, 3, gen())
    assert bool((terms.sum_log_det == 0).all())
    assert math.isfinite(float(terms.total.detach().sum()))


def test_single_image_and_integer_input_accepted():
    model = _model()
    assert model.negative_elbo(X[0]).total.shape == (1,)
    assert model.negative_elbo(X.long()).total.shape == (X.shape[0],)


@pytest.mark.parametrize("bad, word", [
    (torch.zeros(3, 63), "shape"), (torch.zeros(2, 8, 8), "shape"),
    (torch.full((2, 64), float("nan")), "NaN"), (torch.full((2, 64), 0.5), "0 and 1"),
    ([0.0] * 64, "tensor"), (torch.zeros(0, 64), "shape")])
def test_bad_images_raise_naming_the_problem(bad, word):
    with pytest.raises(ValueError, match=word):
        _model().negative_elbo(bad)


@pytest.mark.parametrize("kwargs, word", [
    ({"layers": -1}, "layers"), ({"layers": 2.0}, "layers"), ({"layers": 1000}, "layers"),
    ({"flow": "sylvester"}, "flow"), ({"latent_dim": 0}, "latent_dim"),
    ({"hidden": True}, "hidden")])
def test_bad_config_raises(kwargs, word):
    with pytest.raises(ValueError, match=word):
        FlowVAE(**kwargs)


def test_bad_sample_counts_raise():
    model = _model()
    with pytest.raises(ValueError, match="n_samples"):
        model.negative_elbo(X, n_samples=0)
    with pytest.raises(ValueError, match="n_samples"):
        model.marginal_log_likelihood(X, n_samples=1.5)
    with pytest.raises(ValueError, match="config"):
        FlowVAE.from_config([2, "planar"])


def test_bad_latents_and_configs_are_named() -> None:
    import numpy as np

    model = FlowVAE(latent_dim=2, layers=1, hidden=8)
    with pytest.raises(ValueError, match=r"decode_logits: z"):
        model.decode_logits(torch.zeros(3, 3))
    assert model.decode_logits(torch.zeros(3, 2, dtype=torch.float64)).dtype == torch.float32
    assert FlowVAE(latent_dim=np.int64(2), layers=np.int64(1), hidden=8).layers == 1
    with pytest.raises(ValueError, match="latent_dim"):
        FlowVAE(latent_dim=True)
    with pytest.raises(ValueError, match="unknown keys 'nope'"):
        FlowVAE.from_config({**model.config, "nope": 1})
    with pytest.raises(ValueError, match=r"n_samples must be a positive integer ≤ 100000"):
        model.negative_elbo(binarize(digits("test")[:2]), 10**12)
