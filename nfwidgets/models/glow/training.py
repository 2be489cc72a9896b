"""Train the shipped Glow: ``train_glow_digits(seed) -> (model, meta)``.

Maximum likelihood on uniformly dequantised training digits (``data.dequantize``: fresh noise
every batch), AdamW (Adam with decoupled weight decay, Loshchilov & Hutter 2019) with a
linear warm-up and a cosine decay to 0 at ``max_steps``, gradients clipped. Early stopping on
a validation set held out of the *training* split: the parameters of the best validation
bits/dim are kept. The test split is scored once, at the end, and never used for a choice.
Seeded end to end (same torch, same CPU: same checkpoint).
``python -m nfwidgets.models.train glow-digits`` writes the checkpoint.
"""

from __future__ import annotations

import copy
import math

import torch

from ... import baselines, data
from .model import Glow

__all__ = ["SETTINGS", "split_train", "train_glow_digits"]

#: The recipe of the shipped checkpoint.
SETTINGS = {
    "levels": 2, "depth": 8, "hidden": 64, "dropout": 0.3,  # the model
    "batch": 128, "lr": 1e-3, "weight_decay": 1e-4, "warmup": 200, "clip": 50.0,
    "max_steps": 3000, "eval_every": 100, "patience": 8,  # stop after 8 evals without a gain
    "n_val": 144,                                  # ≈ 10 % of the 1,437 training images
}


def split_train(n_val: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The training split cut into (fit, validation) images by a seeded permutation."""
    train = data.digits("train")
    order = torch.randperm(train.shape[0], generator=torch.Generator().manual_seed(seed))
    return train[order[n_val:]], train[order[:n_val]]


def train_glow_digits(seed: int = 0, **overrides: object) -> tuple[Glow, dict]:
    """Train ``Glow`` on the digits with ``SETTINGS`` (``overrides`` change entries, e.g.
    ``max_steps=50`` in tests). Returns the model at its best validation bits/dim, in eval mode,
    and ``meta``: settings, steps, best step, validation and test bits/dim, the validation
    curve, and the baselines (``baselines.baseline_table``) computed in the same run."""
    unknown = sorted(set(overrides) - set(SETTINGS))
    if unknown:
        raise ValueError(f"unknown setting(s) {unknown}; settings are {sorted(SETTINGS)}")
    cfg = {**SETTINGS, **overrides}
    torch.manual_seed(seed)
    fit, val = split_train(int(cfg["n_val"]), seed)
    gen = torch.Generator().manual_seed(seed + 1)
    val_v = data.dequantize(val, torch.Generator().manual_seed(seed + 2))  # fixed noise

    model = Glow(cfg["levels"], cfg["depth"], cfg["hidden"], cfg["dropout"])
    with torch.no_grad():  # ActNorm's data-dependent initialisation on a first batch
        model.log_prob(data.dequantize(fit[:512], gen))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    warmup, total = max(1, int(cfg["warmup"])), int(cfg["max_steps"])

    def schedule(s: int) -> float:
        return min(1.0, (s + 1) / warmup) * 0.5 * (1.0 + math.cos(math.pi * min(s, total) / total))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)

    def val_bpd() -> float:
        model.eval()
        with torch.no_grad():
            bpd = float(data.bits_per_dim(-model.log_prob(val_v).mean()))
        model.train()
        return bpd

    best = (math.inf, 0, copy.deepcopy(model.state_dict()))
    curve, stale, step = [], 0, 0
    model.train()
    while step < cfg["max_steps"]:
        idx = torch.randint(0, fit.shape[0], (int(cfg["batch"]),), generator=gen)
        loss = -model.log_prob(data.dequantize(fit[idx], gen)).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["clip"])
        opt.step()
        sched.step()
        step += 1
        if step % cfg["eval_every"] == 0 or step == cfg["max_steps"]:
            bpd = val_bpd()
            curve.append((step, round(bpd, 4)))
            if not math.isfinite(bpd):
                break
            if bpd < best[0]:
                best, stale = (bpd, step, copy.deepcopy(model.state_dict())), 0
            else:
                stale += 1
                if stale >= cfg["patience"]:
                    break
    model.load_state_dict(best[2])
    model.eval()
    table = baselines.baseline_table(seed)
    meta = {
        "settings": cfg, "steps": step, "best_step": best[1],
        "val_bpd": round(best[0], 4),
        "test_bpd": round(model.bits_per_dim(data.digits("test"), seed=seed), 4),
        "val_curve": curve,
        "baselines": {b.name: round(b.test_bpd, 4) for b in table},
    }
    return model, meta
