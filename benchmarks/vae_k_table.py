#!/usr/bin/env python
"""The K table of lesson 09: does the amortised flow close the ELBO gap? (Rezende & Mohamed
2015, Table 2: on binarised MNIST, 40 latents, −ln p(x) falls from 89.9 (K = 0) to 85.1
(K = 80)).

1. Latent 2, from the shipped checkpoints ``flowvae-digits-k{0,2,8,16}``: test −ELBO (100
   draws per image), −ln p(x) by importance sampling (1,000 draws) and by quadrature on a
   400² latent grid, and the gap −ELBO − (−ln p(x)) = mean KL(q_K(z|x) ‖ p(z|x)), computed
   live.
2. Latent 8 (no quadrature: −ln p(x) by importance sampling, 5,000 draws), trained here with
   the same recipe (``train_flowvae``) for ``--steps`` steps each: the trend with a latent
   space a Gaussian posterior fits less well. Takes a few minutes (``--skip-latent8``: only 1).

    python benchmarks/vae_k_table.py [--steps 4000] [--skip-latent8]
"""

from __future__ import annotations

import argparse
import time

import torch
from interleave import load_line

from nfwidgets.models.flowvae import FlowVAE
from nfwidgets.models.flowvae.training import evaluate, train_flowvae
from nfwidgets.models.pretrained import load_pretrained

KS = (0, 2, 8, 16)


def _row(k: int, scores: dict, seconds: float | None = None) -> str:
    nll = scores.get("nll_quadrature", scores["nll_is"])
    extra = f"{seconds:9.0f}" if seconds is not None else ""
    quad = f"{scores['nll_quadrature']:10.3f}" if "nll_quadrature" in scores else f"{'–':>10s}"
    return (f"{k:3d}{scores['neg_elbo']:10.3f}{scores['nll_is']:10.3f}{quad}"
            f"{scores['neg_elbo'] - nll:8.3f}{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--skip-latent8", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    head = f"{'K':>3s}{'-ELBO':>10s}{'-lnp IS':>10s}{'-lnp quad':>10s}{'gap':>8s}"
    print("Latent 2, shipped checkpoints, test set (360 digits), nats per image; "
          "gap = −ELBO − (−ln p(x) by quadrature)")
    print(head)
    for k in KS:
        print(_row(k, evaluate(load_pretrained(f"flowvae-digits-k{k}"))), flush=True)
    if not args.skip_latent8:
        print(f"\nLatent 8, planar, hidden 64, trained here ({args.steps} steps, seed 0); "
              "gap = −ELBO − (−ln p(x) by importance sampling, 5,000 draws)")
        print(head + f"{'train s':>9s}")
        for k in KS:
            torch.manual_seed(0)
            model = FlowVAE(latent_dim=8, flow="planar", layers=k, hidden=64)
            start = time.perf_counter()
            train_flowvae(model, steps=args.steps, seed=0)
            seconds = time.perf_counter() - start
            print(_row(k, evaluate(model, is_samples=5000), seconds), flush=True)
    print(load_line())


if __name__ == "__main__":
    main()
