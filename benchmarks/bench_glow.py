#!/usr/bin/env python
"""Glow training speed and quality: nfwidgets' ``Glow`` against normflows' Glow.

Both are built with the same architecture on the 8×8 digits: 2 levels, K steps per level
(ActNorm, LU 1×1 conv, affine coupling with a 3×3 → 1×1 → 3×3 conv conditioner of ``hidden``
channels, sigmoid scale, zero-initialised last conv), squeeze 1×8×8 → 4×4×4, half the channels
factored out after level 1, 8×2×2 at the top. normflows' model is its multi-scale Glow example
(``normflows.MultiscaleFlow`` of ``GlowBlock``s, ``Squeeze``, ``Merge``, ``DiagGaussian`` base
per level, ``class_cond=False``); nfwidgets' factored-out half has a learned conditional
prior (one extra 3×3 conv), normflows' a learned unconditional diagonal Gaussian. Both see the
flow input ``x = logit(α + (1 - 2α) v)`` (``Glow.to_flow_input``, log-det included) of the
same dequantised batches (same seed), Adam, same lr, same initial seed.

Interleaved rounds in one process (the order rotates each round; round 0 warms up and is not
timed); each round every contender trains ``--chunk`` steps. Per round the ratio of the two
contenders' steps/s (CPU time of this single-threaded process, and wall) is paired; the table
gives the median and the interquartile range. After the last round both models' test bits/dim
(``data.bits_per_dim``, the same seeded dequantisation) are printed: equal steps, equal data.

    python benchmarks/bench_glow.py [--rounds 10] [--chunk 50]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import warnings

import normflows as nf
import torch
from interleave import load_line, paired_ratios, rotation, spread

from nfwidgets import data
from nfwidgets.models.glow import Glow


def normflows_glow(depth: int, hidden: int) -> nf.MultiscaleFlow:
    """normflows' multi-scale Glow example, cut to 2 levels on 1×8×8 images."""
    levels, shape = 2, (1, 8, 8)
    q0, merges, flows = [], [], []
    for i in range(levels):
        channels = shape[0] * 2 ** (levels + 1 - i)
        flows.append([nf.flows.GlowBlock(channels, hidden, split_mode="channel", scale=True)
                      for _ in range(depth)] + [nf.flows.Squeeze()])
        if i > 0:
            merges.append(nf.flows.Merge())
            latent = (shape[0] * 2 ** (levels - i), shape[1] // 2 ** (levels - i),
                      shape[2] // 2 ** (levels - i))
        else:
            latent = (shape[0] * 2 ** (levels + 1), shape[1] // 2 ** levels,
                      shape[2] // 2 ** levels)
        q0.append(nf.distributions.DiagGaussian(latent))
    return nf.MultiscaleFlow(q0, flows, merges, class_cond=False)


def _peer_log_prob(peer: nf.MultiscaleFlow, v: torch.Tensor) -> torch.Tensor:
    """normflows' ln p(v) with nfwidgets' input map (logit, and its log-det) in front."""
    x, log_det = Glow.to_flow_input(v)
    return peer.log_prob(x, None) + log_det


class Contender:
    """A model, its optimiser and its own batch stream (same seed for every contender)."""

    def __init__(self, name: str, model: torch.nn.Module, log_prob, args) -> None:
        self.name, self.model, self.log_prob = name, model, log_prob
        self.train = data.digits("train")
        self.gen = torch.Generator().manual_seed(1 + 1000 * args.seed)
        self.batch = args.batch
        with torch.no_grad():  # ActNorm's data-dependent initialisation, the same batch
            log_prob(data.dequantize(self.train[:512], torch.Generator().manual_seed(2)))
        self.opt = torch.optim.Adam(model.parameters(), lr=args.lr)
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.steps = 0

    def run(self, n: int) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            idx = torch.randint(0, self.train.shape[0], (self.batch,), generator=self.gen)
            loss = -self.log_prob(data.dequantize(self.train[idx], self.gen)).mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
        self.steps += n
        self.wall.append(n / (time.perf_counter() - wall))
        self.cpu.append(n / (time.process_time() - cpu))

    def test_bpd(self) -> float:
        self.model.eval()
        v = data.dequantize(data.digits("test"), torch.Generator().manual_seed(0))
        with torch.no_grad():
            return float(data.bits_per_dim(-self.log_prob(v).mean()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds (after a warm-up)")
    parser.add_argument("--chunk", type=int, default=50, help="steps per contender per round")
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0,
                        help="initialisation and batch seed (the same for both models)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message=".*torch.lu is deprecated")

    torch.manual_seed(args.seed)
    ours = Glow(levels=2, depth=args.depth, hidden=args.hidden)
    torch.manual_seed(args.seed)
    peer = normflows_glow(args.depth, args.hidden)
    contenders = {
        "nfwidgets Glow": Contender("nfwidgets Glow", ours, ours.log_prob, args),
        "normflows Glow": Contender("normflows Glow", peer,
                                    lambda v: _peer_log_prob(peer, v), args),
    }
    params = {n: sum(p.numel() for p in c.model.parameters()) for n, c in contenders.items()}
    start = time.perf_counter()
    for turn in range(args.rounds + 1):
        for name in rotation(list(contenders), turn):
            contenders[name].run(args.chunk)
    seconds = time.perf_counter() - start
    for c in contenders.values():  # round 0 warmed up
        c.wall, c.cpu = c.wall[1:], c.cpu[1:]

    a, b = contenders["nfwidgets Glow"], contenders["normflows Glow"]
    print(f"Glow training on the 8×8 digits: 2 levels, K = {args.depth}, hidden = "
          f"{args.hidden}, batch {args.batch}, torch {torch.__version__}, 1 thread")
    print(f"seed {args.seed}; {args.rounds} timed rounds of {args.chunk} steps each (+ 1 warm-up), "
          f"{a.steps} steps per model, {seconds:.0f} s in all\n")
    print(f"{'model':<16} {'params':>8} {'steps/s CPU':>12} {'steps/s wall':>13} "
          f"{'test bpd':>9}")
    bpd = {}
    for name, c in contenders.items():
        bpd[name] = c.test_bpd()
        print(f"{name:<16} {params[name]:>8} {statistics.median(c.cpu):>12.2f} "
              f"{statistics.median(c.wall):>13.2f} {bpd[name]:>9.3f}")
    cpu_lo, cpu_med, cpu_hi = spread(paired_ratios(a.cpu, b.cpu))
    wall_lo, wall_med, wall_hi = spread(paired_ratios(a.wall, b.wall))
    print(f"\nratio nfwidgets / normflows steps/s, per round: CPU {cpu_med:.2f}× "
          f"(IQR {cpu_lo:.2f}–{cpu_hi:.2f}), wall {wall_med:.2f}× "
          f"(IQR {wall_lo:.2f}–{wall_hi:.2f})")
    gap = bpd["nfwidgets Glow"] - bpd["normflows Glow"]
    met = cpu_med >= 1.0 and (gap <= 0 or math.isclose(gap, 0, abs_tol=0.01))
    print(f"test bpd after {a.steps} steps: nfwidgets {bpd['nfwidgets Glow']:.3f}, normflows "
          f"{bpd['normflows Glow']:.3f} (difference {gap:+.3f})")
    print(f"target ≥ 1.0× the peer's steps/s at equal or better bpd: "
          f"{'met' if met else 'NOT met'}")
    print(load_line())


if __name__ == "__main__":
    main()
