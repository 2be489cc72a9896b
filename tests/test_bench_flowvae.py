"""benchmarks/bench_flowvae.py races the same model: the plain-torch loss equals FlowVAE's
warmed-up −ELBO for the same weights and draws."""

from __future__ import annotations

import torch
from test_interleave import load  # tests/ is on the path (pytest prepends it)

from nfwidgets.data import binarize, digits
from nfwidgets.models.flowvae import FlowVAE


def test_plain_loop_computes_the_same_loss() -> None:
    bench = load("bench_flowvae")
    torch.manual_seed(0)
    ours = FlowVAE(latent_dim=2, flow="planar", layers=bench.K, hidden=bench.HIDDEN)
    plain = bench.PlainFlowVAE()
    plain.load_state_dict(ours.state_dict())
    x = binarize(digits("train"))[:50]
    for beta in (0.25, 1.0):
        terms = ours.negative_elbo(x, generator=torch.Generator().manual_seed(3))
        expected = (terms.reconstruction + beta * terms.kl_part).mean()
        got = plain.loss(x, beta, torch.Generator().manual_seed(3))
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-4)
