#!/usr/bin/env python
"""FlowVAE training speed: ``nfwidgets.models.flowvae`` against a plain-torch loop of the same
model.

Both train a 2-D-latent VAE with 8 amortised planar layers, encoder and decoder MLPs with two
hidden layers of 64 (softplus), on batches of 100 binarised training digits, Adam (lr 1e-3):

- ``nfwidgets``: ``train_flowvae`` (``FlowVAE.negative_elbo`` with KL warm-up: the engine's
  ``u_hat``/``one_plus_wtu_hat``/``Planar.log_abs_det`` applied per sample, input checks);
- ``plain torch``: the same architecture and loss written directly in one module (the paper's
  formulas inline, no checks), the same batches.

Interleaved rounds in one process (the order alternates; round 0 warms up and is not kept),
``torch.set_num_threads(1)``. Per round, the ratio nfwidgets / plain of steps/s is paired; the
table gives the medians and the interquartile range of the ratios (target ≥ 1.0×).

    python benchmarks/bench_flowvae.py [--rounds 9] [--steps 150]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F
from interleave import load_line, paired_ratios, rotation, spread
from torch import nn

from nfwidgets.data import binarize, digits
from nfwidgets.models.flowvae import FlowVAE
from nfwidgets.models.flowvae.training import train_flowvae

K, HIDDEN, BATCH, LR = 8, 64, 100, 1e-3


class PlainFlowVAE(nn.Module):
    """The same model in plain torch: encoder → (μ, ln σ, K × (w, u, b)), planar layers with
    û = u + (m(wᵀu) − wᵀu) w/‖w‖², m(a) = −1 + softplus(a), Bernoulli decoder."""

    def __init__(self) -> None:
        super().__init__()
        mlp = lambda i, o: nn.Sequential(nn.Linear(i, HIDDEN), nn.Softplus(),  # noqa: E731
                                         nn.Linear(HIDDEN, HIDDEN), nn.Softplus(),
                                         nn.Linear(HIDDEN, o))
        self.encoder, self.decoder = mlp(64, 4 + 5 * K), mlp(2, 64)

    def loss(self, x: torch.Tensor, beta: float, gen: torch.Generator) -> torch.Tensor:
        out = self.encoder(x)
        mu, log_sigma = out[:, :2], out[:, 2:4]
        eps = torch.randn(x.shape[0], 2, generator=gen)
        z = mu + torch.exp(log_sigma) * eps
        log_q = (-0.5 * eps ** 2 - log_sigma).sum(1) - math.log(2 * math.pi)
        for k in range(K):
            p = out[:, 4 + 5 * k: 9 + 5 * k]
            w, u, b = p[:, :2], p[:, 2:4], p[:, 4]
            wtu = (w * u).sum(1, keepdim=True)
            u = u + (-1 + F.softplus(wtu) - wtu) * w / (w * w).sum(1, keepdim=True)
            h = torch.tanh((w * z).sum(1) + b)
            log_q = log_q - torch.log((1 + (1 - h * h) * (w * u).sum(1)).abs())
            z = z + h[:, None] * u
        logits = self.decoder(z)
        rec = (F.softplus(logits) - x * logits).sum(1)
        log_prior = -0.5 * (z * z).sum(1) - math.log(2 * math.pi)
        return (rec + beta * (log_q - log_prior)).mean()


def plain_train(model: PlainFlowVAE, x: torch.Tensor, steps: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    for step in range(steps):
        idx = torch.randint(0, x.shape[0], (BATCH,), generator=gen)
        loss = model.loss(x[idx], min(1.0, step / (0.3 * steps)), gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--steps", type=int, default=150)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x = binarize(digits("train"))
    torch.manual_seed(0)
    ours = FlowVAE(latent_dim=2, flow="planar", layers=K, hidden=HIDDEN)
    torch.manual_seed(0)
    plain = PlainFlowVAE()
    runs = {
        "nfwidgets": lambda r: train_flowvae(ours, steps=args.steps, batch=BATCH, lr=LR,
                                             seed=r, train=x),
        "plain torch": lambda r: plain_train(plain, x, args.steps, r),
    }
    rate: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(args.rounds + 1):
        for name in rotation(list(runs), r):
            start = time.perf_counter()
            runs[name](r)
            if r:  # round 0 warms up
                rate[name].append(args.steps / (time.perf_counter() - start))
    ratios = paired_ratios(rate["nfwidgets"], rate["plain torch"])
    lo, mid, hi = spread(ratios)
    print(f"FlowVAE training, latent 2, K = {K} planar, hidden {HIDDEN}, batch {BATCH}; "
          f"{args.rounds} interleaved rounds × {args.steps} steps, 1 thread")
    print(f"{'contender':14s}{'steps/s (median)':>18s}")
    for name, values in rate.items():
        print(f"{name:14s}{statistics.median(values):18.1f}")
    print(f"ratio nfwidgets / plain (paired per round): {mid:.2f}× "
          f"(IQR {lo:.2f}–{hi:.2f}); target ≥ 1.0×")
    print(load_line())


if __name__ == "__main__":
    main()
