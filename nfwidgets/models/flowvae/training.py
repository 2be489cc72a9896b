"""Training a ``FlowVAE`` on the binarised 8×8 digits, and the shipped checkpoints.

Loss: the Monte Carlo negative ELBO with KL warm-up (Bowman et al. 2016; Sønderby et al.
2016): ``reconstruction + β_t (ln q_K(z_K|x) - ln p(z_K))`` with ``β_t`` rising linearly from 0
to 1 over the first ``warmup`` fraction of the steps, then 1 (the true −ELBO). Early on the
decoder learns to use z before the KL term pulls every posterior onto the prior (Rezende &
Mohamed 2015, §6, anneal in a similar spirit, with an inverse temperature on the energy).
Adam, minibatches of the 1,437 training images; ``seed`` seeds the initial weights
(``torch.manual_seed``) and one ``torch.Generator`` for the batches and the ε draws: the same
seed gives the same model (same torch and CPU).

``train_k0/k2/k8/k16`` make the shipped ``flowvae-digits-k*`` checkpoints (2-D latent, planar);
``python -m nfwidgets.models.train flowvae-digits-k8 --threads 1`` runs one.
"""

from __future__ import annotations

import time

import torch

from ..._checks import shown
from ...data import binarize, digits
from .model import FlowVAE

__all__ = ["STEPS", "evaluate", "train_flowvae", "train_k0", "train_k2", "train_k8", "train_k16"]

#: Optimisation steps of the shipped latent-2 models.
STEPS = 15000


def _beta(step: int, steps: int, warmup: float) -> float:
    ramp = warmup * steps
    return 1.0 if ramp <= 0 else min(1.0, step / ramp)


def train_flowvae(model: FlowVAE, steps: int = STEPS, batch: int = 100, lr: float = 1e-3,
                  warmup: float = 0.3, seed: int = 0, train: torch.Tensor | None = None
                  ) -> list[float]:
    """Train ``model`` in place on binarised digits (``train``: default the training split)
    for ``steps`` Adam steps with KL warm-up over the first ``warmup`` fraction; returns the
    per-step loss (the warmed-up objective, mean over the batch)."""
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer; got {shown(steps)}")
    if not 0.0 <= warmup < 1.0:
        raise ValueError(f"warmup must be a fraction in [0, 1); got {shown(warmup)}")
    x = binarize(digits("train")) if train is None else train
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for step in range(steps):
        idx = torch.randint(0, x.shape[0], (batch,), generator=gen)
        terms = model.negative_elbo(x[idx], generator=gen)
        loss = (terms.reconstruction + _beta(step, steps, warmup) * terms.kl_part).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    return losses


@torch.no_grad()
def evaluate(model: FlowVAE, x: torch.Tensor | None = None, seed: int = 0,
             elbo_samples: int = 100, is_samples: int = 1000) -> dict:
    """Test scores in nats per image (means over ``x``, default the binarised test split):
    ``neg_elbo`` (−ELBO, ``elbo_samples`` draws per image), ``nll_is`` (−ln p(x) by importance
    sampling, ``is_samples``), and for a 2-D latent ``nll_quadrature`` (−ln p(x) on a grid)."""
    x = binarize(digits("test")) if x is None else x
    gen = torch.Generator().manual_seed(seed)
    out = {"neg_elbo": float(model.negative_elbo(x, elbo_samples, gen).total.mean()),
           "nll_is": float(-model.marginal_log_likelihood(x, is_samples, gen).mean())}
    if model.latent_dim == 2:
        out["nll_quadrature"] = float(-model.marginal_log_likelihood_quadrature(x).mean())
    return {k: round(v, 3) for k, v in out.items()}


def _train_latent2(layers: int, seed: int, steps: int = STEPS) -> tuple[FlowVAE, dict]:
    torch.manual_seed(seed)  # the initial weights (nn.Linear draws from the global generator)
    model = FlowVAE(latent_dim=2, flow="planar", layers=layers, hidden=64)
    start = time.perf_counter()
    train_flowvae(model, steps=steps, seed=seed)
    seconds = time.perf_counter() - start
    meta = {"steps": steps, "batch": 100, "lr": 1e-3, "warmup": 0.3,
            "optimise_seconds": round(seconds, 1),
            "test": evaluate(model, seed=seed)}
    return model, meta


def train_k0(seed: int = 0) -> tuple[FlowVAE, dict]:
    """The plain Gaussian VAE (K = 0), 2-D latent: ``flowvae-digits-k0``."""
    return _train_latent2(0, seed)


def train_k2(seed: int = 0) -> tuple[FlowVAE, dict]:
    """2 amortised planar layers, 2-D latent: ``flowvae-digits-k2``."""
    return _train_latent2(2, seed)


def train_k8(seed: int = 0) -> tuple[FlowVAE, dict]:
    """8 amortised planar layers, 2-D latent: ``flowvae-digits-k8`` (= ``flowvae-digits``)."""
    return _train_latent2(8, seed)


def train_k16(seed: int = 0) -> tuple[FlowVAE, dict]:
    """16 amortised planar layers, 2-D latent: ``flowvae-digits-k16``."""
    return _train_latent2(16, seed)
