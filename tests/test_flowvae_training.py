"""FlowVAE training: seeded, KL warm-up, learns; the shipped checkpoints load and their
recorded scores are theirs."""

from __future__ import annotations

import pytest
import torch

from nfwidgets.data import binarize, digits
from nfwidgets.models.flowvae import FlowVAE
from nfwidgets.models.flowvae.training import _beta, evaluate, train_flowvae
from nfwidgets.models.pretrained import PRETRAINED, _resolve, checkpoint_path, load_pretrained

X = binarize(digits("train"))[:200]


def _trained(seed: int, steps: int = 10) -> tuple[FlowVAE, list[float]]:
    torch.manual_seed(0)
    model = FlowVAE(layers=2, hidden=16)
    losses = train_flowvae(model, steps=steps, batch=50, lr=3e-3, seed=seed, train=X)
    return model, losses


def test_same_seed_same_model_other_seed_other_model() -> None:
    runs = [_trained(seed)[0].state_dict() for seed in (1, 1, 2)]
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])
    assert not all(torch.equal(runs[0][k], runs[2][k]) for k in runs[0])


def test_warm_up_rises_linearly_then_stays_at_one() -> None:
    assert [_beta(s, 100, 0.3) for s in (0, 15, 30, 99)] == [0.0, 0.5, 1.0, 1.0]
    assert _beta(0, 100, 0.0) == 1.0


def test_training_lowers_the_negative_elbo() -> None:
    torch.manual_seed(0)
    model = FlowVAE(layers=2, hidden=16)
    before = float(model.negative_elbo(X, 20, torch.Generator().manual_seed(0)).total.mean())
    train_flowvae(model, steps=150, batch=50, lr=3e-3, warmup=0.0, seed=0, train=X)
    after = float(model.negative_elbo(X, 20, torch.Generator().manual_seed(0)).total.mean())
    assert after < before - 5.0


@pytest.mark.parametrize("kwargs, word", [({"steps": 0}, "steps"), ({"warmup": 1.0}, "warmup"),
                                          ({"warmup": -0.1}, "warmup")])
def test_bad_training_arguments(kwargs, word) -> None:
    with pytest.raises(ValueError, match=word):
        train_flowvae(FlowVAE(layers=0, hidden=4), train=X, **kwargs)


@pytest.mark.parametrize("k", [0, 2, 8, 16])
def test_shipped_checkpoints_load_and_score_as_recorded(k: int) -> None:
    name = f"flowvae-digits-k{k}"
    assert callable(_resolve(PRETRAINED[name].trainer))
    assert checkpoint_path(name).stat().st_size < 500_000
    model = load_pretrained(name)
    assert model.config == {"latent_dim": 2, "flow": "planar", "layers": k, "hidden": 64}
    test = model.pretrained_meta["test"]
    x = binarize(digits("test"))
    nll = float(-model.marginal_log_likelihood_quadrature(x).mean())
    assert nll == pytest.approx(test["nll_quadrature"], abs=2e-3)
    # −ELBO ≥ −ln p(x): the bound holds on the test set
    assert test["neg_elbo"] > test["nll_quadrature"]


def test_evaluate_reports_the_three_scores() -> None:
    model, _ = _trained(0, steps=5)
    scores = evaluate(model, X[:20], elbo_samples=5, is_samples=50)
    assert set(scores) == {"neg_elbo", "nll_is", "nll_quadrature"}
    assert scores["neg_elbo"] >= scores["nll_is"] - 1e-6
