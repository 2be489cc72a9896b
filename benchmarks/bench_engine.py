#!/usr/bin/env python
"""Engine benchmark: nfwidgets vs a plain-torch loop vs zuko, nflows and normflows.

One run, interleaved timing (every contender trains in chunks, in rotating order, so all of them
see the same machine noise), single-threaded torch for everyone:

(a) RealNVP, 8 affine couplings (MLP 1-64-64-2), two moons: steps/s, test NLL, grid checks;
(b) K=16 planar flows, reverse KL on U1: steps/s and KL = F + ln Z;
(c) exact 200² grid density of a K=8 planar stack vs the push-forward of the grid.

Run ``python benchmarks/bench_engine.py`` (about 3-5 minutes on 2 cores) or ``--quick`` for a
smoke run; see benchmarks/README.md for every column. Prints tables, writes JSON to
benchmarks/results/. The "targets" are printed as PASS/FAIL, never asserted.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import math
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

import nfwidgets
from nfwidgets.flows import AffineCoupling, Flow, MLPConditioner, Planar
from nfwidgets.grid import density_grid, grid_points
from nfwidgets.targets import energy, toy_data
from nfwidgets.train import MaximumLikelihood, ReverseKL, TrainingDiverged

HERE = Path(__file__).resolve().parent
LOG_2PI = math.log(2 * math.pi)
BOX = ((-4.0, 4.0), (-4.0, 4.0))
GRID_N = 200
HIDDEN = (64, 64)
N_COUPLINGS = 8
PLANAR_K_TRAIN = 16
PLANAR_K_GRID = 8
PEERS = ("zuko", "nflows", "normflows")


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _import_peer(name: str) -> tuple[Any, str | None]:
    """Import an optional peer library; ``(module, None)`` or ``(None, reason)``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(name), None
    except Exception as err:  # any import failure means "not usable here"
        return None, f"{type(err).__name__}: {err}"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_revision() -> str:
    repo = HERE.parent
    try:
        rev = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "nfwidgets"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _mlp(in_features: int, out_features: int) -> nn.Sequential:
    """Linear(in, 64) ReLU Linear(64, 64) ReLU Linear(64, out)."""
    layers: list[nn.Module] = []
    last = in_features
    for h in HIDDEN:
        layers += [nn.Linear(last, h), nn.ReLU()]
        last = h
    return nn.Sequential(*layers, nn.Linear(last, out_features))


@torch.no_grad()
def _copy_mlp(src: nn.Sequential, dst_linears: list[nn.Module]) -> None:
    """Copy the weights of ``src``'s Linear layers into ``dst_linears`` (same shapes)."""
    src_linears = [m for m in src if isinstance(m, nn.Linear)]
    assert len(src_linears) == len(dst_linears)
    for s, d in zip(src_linears, dst_linears, strict=True):
        d.weight.copy_(s.weight.reshape(d.weight.shape))
        d.bias.copy_(s.bias.reshape(d.bias.shape))


class EpochBatches:
    """Mini-batches exactly as ``nfwidgets.train.MaximumLikelihood`` draws them: a fresh
    ``randperm`` from a seeded generator each epoch, consecutive slices, the remainder dropped.
    Same seed, same data, same batches for every contender."""

    def __init__(self, data: Tensor, batch_size: int, seed: int) -> None:
        self.data = data
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.order = torch.empty(0, dtype=torch.long)
        self.pos = 0

    def __call__(self) -> Tensor:
        if self.pos + self.batch_size > self.order.shape[0]:
            self.order = torch.randperm(self.data.shape[0], generator=self.generator)
            self.pos = 0
        idx = self.order[self.pos:self.pos + self.batch_size]
        self.pos += self.batch_size
        return self.data[idx]


class GlobalRNG:
    """A private slot of the global torch RNG, for libraries that only sample from it
    (normflows). ``with rng:`` swaps the slot's state in and out, so interleaving does not
    change what the library draws."""

    def __init__(self, seed: int) -> None:
        saved = torch.get_rng_state()
        torch.manual_seed(seed)
        self.state = torch.get_rng_state()
        torch.set_rng_state(saved)
        self._saved: Tensor | None = None

    def __enter__(self) -> GlobalRNG:
        self._saved = torch.get_rng_state()
        torch.set_rng_state(self.state)
        return self

    def __exit__(self, *exc: object) -> None:
        self.state = torch.get_rng_state()
        assert self._saved is not None
        torch.set_rng_state(self._saved)


class _NoContext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@dataclass
class Contender:
    """One implementation being timed. ``step()`` takes one optimisation step (batch, forward,
    backward, update, ``loss.item()``) and returns the loss; ``skip`` says why it cannot run."""

    name: str
    rule: str
    step: Callable[[], float] | None = None
    context: Any = field(default_factory=_NoContext)
    skip: str | None = None
    steps_done: int = 0
    timed_steps: int = 0
    timed_seconds: float = 0.0
    timed_cpu_seconds: float = 0.0  # time.process_time: this process's CPU time only
    round_rates: list[float] = field(default_factory=list)  # steps/s in each timed round
    first_loss: float | None = None
    last_loss: float | None = None
    diverged: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        return self.timed_steps / self.timed_seconds if self.timed_seconds > 0 else None

    @property
    def cpu_rate(self) -> float | None:
        return self.timed_steps / self.timed_cpu_seconds if self.timed_cpu_seconds > 0 else None


def run_interleaved(contenders: list[Contender], n_steps: int, chunk: int) -> None:
    """Train every runnable contender for ``n_steps`` steps, ``chunk`` steps at a time, rotating
    the order each round. Round 0 is warm-up (counted as training, not timed)."""
    active = [c for c in contenders if c.step is not None]
    n_rounds = math.ceil(n_steps / chunk)
    for r in range(n_rounds):
        k = min(chunk, n_steps - r * chunk)
        shift = r % max(len(active), 1)
        for c in active[shift:] + active[:shift]:
            if c.diverged is not None:
                continue
            step = c.step
            assert step is not None
            with c.context:
                t0, c0 = time.perf_counter(), time.process_time()
                try:
                    for _ in range(k):
                        loss = step()
                        if not math.isfinite(loss):
                            raise FloatingPointError(f"loss became {loss}")
                        if c.first_loss is None:
                            c.first_loss = loss
                        c.steps_done += 1
                except (TrainingDiverged, FloatingPointError) as err:
                    c.diverged = f"step {c.steps_done + 1}: {err}"
                    continue
                dt = time.perf_counter() - t0
                dc = time.process_time() - c0
            c.last_loss = loss
            if r > 0 or n_rounds == 1:
                c.timed_steps += k
                c.timed_seconds += dt
                c.timed_cpu_seconds += dc
                c.round_rates.append(k / dt)


def _paired_ratios(c: Contender, ref: Contender) -> list[float]:
    n = min(len(c.round_rates), len(ref.round_rates))
    return [c.round_rates[i] / ref.round_rates[i] for i in range(n)]


def _quartiles(values: list[float]) -> tuple[float, float] | None:
    if len(values) < 2:
        return (values[0], values[0]) if values else None
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def _fmt(v: float | None, spec: str) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


@torch.no_grad()
def _grid_stats(log_prob: Callable[[Tensor], Tensor], pts: Tensor, cell_area: float
                ) -> dict[str, Any]:
    """Non-finite log densities (NaN, -inf, +inf) and Σ exp(log p)·cell area over the finite."""
    lp = log_prob(pts)
    finite = torch.isfinite(lp)
    return {"nonfinite": int((~finite).sum()), "nan": int(torch.isnan(lp).sum()),
            "neg_inf": int((lp == -math.inf).sum()), "pos_inf": int((lp == math.inf).sum()),
            "mass": float(torch.exp(lp[finite].double()).sum()) * cell_area}


# --------------------------------------------------------------------------------------------
# (a) RealNVP on two moons
# --------------------------------------------------------------------------------------------


class PlainRealNVP(nn.Module):
    """A minimal RealNVP in 2-D, written directly in torch (the baseline).

    ``x = f_K ∘ … ∘ f_1(z)``; layer k transforms one coordinate given the other (k even: x₁
    conditions x₂; k odd: the reverse) by ``x_t = z_t·exp(s) + t``, ``(s, t) = MLP(x_c)``, with
    the last layer zero-initialised. The two coordinates are carried as separate (N, 1)
    columns, so no gather/scatter/cat is needed.
    """

    def __init__(self, n_layers: int) -> None:
        super().__init__()
        self.nets = nn.ModuleList(_mlp(1, 2) for _ in range(n_layers))
        for net in self.nets:
            nn.init.zeros_(net[-1].weight)
            nn.init.zeros_(net[-1].bias)

    def log_prob(self, x: Tensor) -> Tensor:
        x1, x2 = x[:, :1], x[:, 1:]
        log_det = torch.zeros_like(x1)
        for k in range(len(self.nets) - 1, -1, -1):
            if k % 2 == 0:
                s, t = self.nets[k](x1).chunk(2, dim=1)
                x2 = (x2 - t) * torch.exp(-s)
            else:
                s, t = self.nets[k](x2).chunk(2, dim=1)
                x1 = (x1 - t) * torch.exp(-s)
            log_det = log_det - s
        return (log_det - 0.5 * (x1 * x1 + x2 * x2)).squeeze(1) - LOG_2PI


def _adam_step(params: list[Tensor], lr: float, loss_fn: Callable[[], Tensor]
               ) -> Callable[[], float]:
    """The textbook loop body: zero_grad, loss, backward, Adam step, ``loss.item()``."""
    opt = torch.optim.Adam(params, lr=lr)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def bench_realnvp(args: argparse.Namespace, peers: dict[str, Any]) -> dict[str, Any]:
    seed, lr, batch = args.seed, 1e-3, 512
    train = toy_data("two_moons", 20_000, seed=seed, noise=0.05)
    test = toy_data("two_moons", 5_000, seed=seed + 1, noise=0.05)
    mean, std = train.mean(0), train.std(0)
    train, test = (train - mean) / std, (test - mean) / std

    # nfwidgets builds the reference initialisation; every other contender copies it.
    torch.manual_seed(seed)
    masks = [[1, 0] if k % 2 == 0 else [0, 1] for k in range(N_COUPLINGS)]
    nfw = Flow([AffineCoupling(m, conditioner=MLPConditioner(1, 1, hidden=HIDDEN), scale="exp")
                for m in masks])
    nfw_nets = [layer.conditioner.net for layer in nfw.layers]
    contenders: list[Contender] = []
    log_probs: dict[str, Callable[[Tensor], Tensor]] = {}

    trainer = MaximumLikelihood(nfw, train, batch_size=batch, lr=lr, seed=seed)
    contenders.append(Contender("nfwidgets", "exp (unbounded)",
                                step=lambda: trainer.step().loss))
    log_probs["nfwidgets"] = nfw.log_prob

    # The engine's default, bounded rule (same init and batches): is the grid finite with it?
    nfw_tanh = Flow([AffineCoupling(m, conditioner=MLPConditioner(1, 1, hidden=HIDDEN))
                     for m in masks])
    for k in range(N_COUPLINGS):
        _copy_mlp(nfw_nets[k], [nfw_tanh.layers[k].conditioner.net[i] for i in (0, 2, 4)])
    trainer_tanh = MaximumLikelihood(nfw_tanh, train, batch_size=batch, lr=lr, seed=seed)
    rule = nfw_tanh.layers[0]
    contenders.append(Contender(f"nfwidgets ({rule.scale})",
                                f"{rule.scale}: ℓ = {rule.bound:g}·tanh(s/{rule.bound:g}) "
                                "(engine default)",
                                step=lambda: trainer_tanh.step().loss))
    log_probs[f"nfwidgets ({rule.scale})"] = nfw_tanh.log_prob

    plain = PlainRealNVP(N_COUPLINGS)
    for k in range(N_COUPLINGS):
        _copy_mlp(nfw_nets[k], [plain.nets[k][i] for i in (0, 2, 4)])
    batches = EpochBatches(train, batch, seed)
    contenders.append(Contender("plain torch", "exp (unbounded)", step=_adam_step(
        list(plain.parameters()), lr, lambda: -plain.log_prob(batches()).mean())))
    log_probs["plain torch"] = plain.log_prob

    zuko = peers.get("zuko")
    if zuko is None:
        contenders.append(Contender("zuko", "—", skip="not installed"))
    else:
        from zuko.distributions import DiagNormal
        from zuko.flows import Flow as ZFlow
        from zuko.flows import GeneralCouplingTransform, UnconditionalDistribution
        # zuko's transforms map data -> noise, applied first to last: list index j acts like
        # nfwidgets layer K-1-j. mask: True = conditioning coordinate (as in nfwidgets).
        transforms = [GeneralCouplingTransform(2, mask=torch.tensor(masks[N_COUPLINGS - 1 - j],
                                                                    dtype=torch.bool),
                                               hidden_features=HIDDEN)
                      for j in range(N_COUPLINGS)]
        for j, t in enumerate(transforms):
            _copy_mlp(nfw_nets[N_COUPLINGS - 1 - j], [t.hyper[i] for i in (0, 2, 4)])
        zflow = ZFlow(transforms, UnconditionalDistribution(
            DiagNormal, torch.zeros(2), torch.ones(2), buffer=True))
        zb = EpochBatches(train, batch, seed)
        contenders.append(Contender(
            "zuko", "soft clip: ℓ = s/(1+|s|/6.91)",
            step=_adam_step(list(zflow.parameters()), lr,
                            lambda: -zflow().log_prob(zb()).mean())))
        log_probs["zuko"] = lambda x: zflow().log_prob(x)

    nflows = peers.get("nflows")
    if nflows is None:
        contenders.append(Contender("nflows", "—", skip="not installed"))
    else:
        from nflows.distributions.normal import StandardNormal as NStandardNormal
        from nflows.flows.base import Flow as NFlow
        from nflows.transforms.base import CompositeTransform
        from nflows.transforms.coupling import AffineCouplingTransform

        class _ContextMLP(nn.Module):
            """nflows calls its conditioner as ``net(inputs, context)``."""

            def __init__(self, in_features: int, out_features: int) -> None:
                super().__init__()
                self.net = _mlp(in_features, out_features)

            def forward(self, inputs: Tensor, context: Tensor | None = None) -> Tensor:
                return self.net(inputs)

        # nflows: transform = data -> noise; mask > 0 marks the *transformed* coordinate.
        ntrans = [AffineCouplingTransform([1 - v for v in masks[N_COUPLINGS - 1 - j]],
                                          transform_net_create_fn=_ContextMLP)
                  for j in range(N_COUPLINGS)]
        for j, t in enumerate(ntrans):
            _copy_mlp(nfw_nets[N_COUPLINGS - 1 - j],
                      [t.transform_net.net[i] for i in (0, 2, 4)])
        nflow = NFlow(CompositeTransform(ntrans), NStandardNormal([2]))
        nb = EpochBatches(train, batch, seed)
        contenders.append(Contender(
            "nflows", "σ(s+2)+1e-3 (bounded; ≈0.88 at init)",
            step=_adam_step(list(nflow.parameters()), lr,
                            lambda: -nflow.log_prob(nb()).mean())))
        log_probs["nflows"] = lambda x: nflow.log_prob(x)

    nf = peers.get("normflows")
    if nf is None:
        contenders.append(Contender("normflows", "—", skip="not installed"))
    else:
        # normflows' RealNVP recipe: AffineCouplingBlock (first half conditions the second)
        # then Permute(swap), so layer k alternates like nfwidgets layer k; flows run
        # base -> data and forward_kld goes through the inverses.
        flows: list[nn.Module] = []
        for k in range(N_COUPLINGS):
            net = nf.nets.MLP([1, *HIDDEN, 2], init_zeros=True)
            _copy_mlp(nfw_nets[k], [net.net[i] for i in (0, 2, 4)])
            flows += [nf.flows.AffineCouplingBlock(net, scale_map="exp"),
                      nf.flows.Permute(2, mode="swap")]
        nfm = nf.NormalizingFlow(nf.distributions.DiagGaussian(2, trainable=False), flows)
        mb = EpochBatches(train, batch, seed)
        contenders.append(Contender(
            "normflows", "exp (unbounded; its default)",
            step=_adam_step(list(nfm.parameters()), lr, lambda: nfm.forward_kld(mb()))))
        log_probs["normflows"] = nfm.log_prob

    run_interleaved(contenders, args.steps, args.chunk)

    _, _, pts = grid_points(BOX, GRID_N)
    cell = (BOX[0][1] - BOX[0][0]) * (BOX[1][1] - BOX[1][0]) / GRID_N**2
    for c in contenders:
        if c.skip is not None:
            continue
        lp = log_probs[c.name]
        with torch.no_grad():
            test_lp = lp(test)
        c.extra["test_nll"] = float(-test_lp.mean()) if bool(torch.isfinite(test_lp).all()) \
            else math.nan
        c.extra.update(_grid_stats(lp, pts, cell))
    dg = density_grid(nfw, BOX, GRID_N)
    return {"contenders": contenders, "density_grid_mass": dg.mass,
            "density_grid_clipped": int(dg.clipped.sum())}


# --------------------------------------------------------------------------------------------
# (b) planar flows, reverse KL on U1
# --------------------------------------------------------------------------------------------


class PlainPlanarStack(nn.Module):
    """K planar layers ``z ← z + û_k tanh(w_kᵀz + b_k)`` written directly in torch (the
    baseline). Parameters are stored stacked, (K, 2) and (K,), and û is computed for all layers
    at once: ``û = u + (m(wᵀu) - wᵀu) w/‖w‖²``, ``m(a) = -1 + softplus(a)``, so
    ``wᵀû = m(wᵀu) > -1`` and ``log|det J_k| = log1p(sech²(a_k)·m_k)``."""

    def __init__(self, w: Tensor, u: Tensor, b: Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w.clone())
        self.u = nn.Parameter(u.clone())
        self.b = nn.Parameter(b.clone())

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        w, u = self.w, self.u
        wtu = (w * u).sum(1)
        m = torch.nn.functional.softplus(wtu) - 1.0
        u_hat = u + ((m - wtu) / (w * w).sum(1)).unsqueeze(1) * w
        log_det = torch.zeros(z.shape[0], dtype=z.dtype)
        for k in range(w.shape[0]):
            h = torch.tanh(z @ w[k] + self.b[k])
            z = z + h.unsqueeze(1) * u_hat[k]
            log_det = log_det + torch.log1p((1.0 - h * h) * m[k])
        return z, log_det


class _NegEnergy:
    """normflows' target interface: ``log_prob(z) = -U(z)`` (unnormalised)."""

    def __init__(self, u: Callable[[Tensor], Tensor]) -> None:
        self.u = u

    def log_prob(self, z: Tensor) -> Tensor:
        return -self.u(z)


def bench_planar(args: argparse.Namespace, peers: dict[str, Any]) -> dict[str, Any]:
    seed, lr, n_samples, K = args.seed, 1e-2, 256, PLANAR_K_TRAIN
    u1 = energy("U1")
    # normflows' init scheme (u ~ U(±√2), w ~ U(±√(2/D)), b = 0), drawn once, shared by all.
    g = torch.Generator().manual_seed(seed + 2)
    w0 = (torch.rand(K, 2, generator=g) * 2 - 1) * math.sqrt(2.0 / 2)
    u0 = (torch.rand(K, 2, generator=g) * 2 - 1) * math.sqrt(2.0)
    b0 = torch.zeros(K)
    contenders: list[Contender] = []
    pushers: dict[str, Callable[[Tensor], tuple[Tensor, Tensor]]] = {}

    nfw = Flow([Planar(w0[k], u0[k], float(b0[k])) for k in range(K)])
    trainer = ReverseKL(nfw, u1, n_samples=n_samples, anneal_steps=0, lr=lr, seed=seed)
    contenders.append(Contender("nfwidgets", "û: softplus, /‖w‖²",
                                step=lambda: trainer.step().loss))
    pushers["nfwidgets"] = nfw

    plain = PlainPlanarStack(w0, u0, b0)
    gen = torch.Generator().manual_seed(seed)  # same base draws as the nfwidgets trainer

    def plain_loss() -> Tensor:
        z0 = torch.randn(n_samples, 2, generator=gen)
        x, log_det = plain(z0)
        log_q = -0.5 * (z0 * z0).sum(1) - LOG_2PI - log_det
        return (log_q + u1(x)).mean()

    contenders.append(Contender("plain torch", "û: softplus, /‖w‖²",
                                step=_adam_step(list(plain.parameters()), lr, plain_loss)))
    pushers["plain torch"] = plain

    for name in ("zuko", "nflows"):
        skip = "not installed" if peers.get(name) is None else "no planar layer"
        contenders.append(Contender(name, "—", skip=skip))

    nf = peers.get("normflows")
    if nf is None:
        contenders.append(Contender("normflows", "—", skip="not installed"))
    else:
        flows = [nf.flows.Planar((2,), u=u0[k][None].clone(), w=w0[k][None].clone(),
                                 b=b0[k:k + 1].clone()) for k in range(K)]
        nfm = nf.NormalizingFlow(nf.distributions.DiagGaussian(2, trainable=False), flows,
                                 p=_NegEnergy(u1))
        contenders.append(Contender(
            "normflows", "û: log(1+exp(·)), /‖w‖²",
            step=_adam_step(list(nfm.parameters()), lr,
                            lambda: nfm.reverse_kld(n_samples, beta=1.0)),
            context=GlobalRNG(seed)))  # normflows samples its base from the global RNG
        pushers["normflows"] = nfm.forward_and_log_det

    run_interleaved(contenders, args.planar_steps, args.chunk)

    # F at β = 1 from the same 10k fresh base samples for everyone; KL = F + ln Z.
    log_z = u1.log_z
    z0 = torch.randn(10_000, 2, generator=torch.Generator().manual_seed(seed + 7))
    log_q0 = -0.5 * (z0 * z0).sum(1) - LOG_2PI
    for c in contenders:
        if c.name not in pushers:
            continue
        with torch.no_grad():
            x, log_det = pushers[c.name](z0)
            f = log_q0 - log_det + u1(x)
        finite = torch.isfinite(f)
        c.extra["free_energy"] = float(f[finite].mean()) if bool(finite.any()) else math.nan
        c.extra["kl"] = c.extra["free_energy"] + log_z
        c.extra["nonfinite_samples"] = int((~finite).sum())
        c.extra["in_box"] = float(((x.abs() <= 4).all(1)).double().mean())
    return {"contenders": contenders, "log_z": log_z, "annealing": "off (β = 1 throughout)"}


# --------------------------------------------------------------------------------------------
# (c) exact grid density vs push-forward
# --------------------------------------------------------------------------------------------


def bench_grid(args: argparse.Namespace) -> dict[str, Any]:
    g = torch.Generator().manual_seed(args.seed + 3)
    layers = [Planar(torch.randn(2, generator=g), torch.randn(2, generator=g),
                     float(0.5 * torch.randn((), generator=g))) for _ in range(PLANAR_K_GRID)]
    flow = Flow(layers)
    _, _, pts = grid_points(BOX, GRID_N)

    def exact() -> object:
        return density_grid(flow, BOX, GRID_N)

    @torch.no_grad()
    def push() -> tuple[Tensor, Tensor]:  # what sample-based plotting needs: points, log q
        x, log_det = flow(pts)
        return x, flow.base.log_prob(pts) - log_det

    for fn in (exact, push, exact, push):  # warm-up
        fn()
    times: dict[str, list[float]] = {"exact": [], "push": []}
    for r in range(args.repeats):
        order = (("exact", exact), ("push", push)) if r % 2 == 0 else (("push", push),
                                                                       ("exact", exact))
        for name, fn in order:
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    t_exact, t_push = statistics.median(times["exact"]), statistics.median(times["push"])

    with torch.no_grad():
        x, log_det = flow(pts)
        lp_push = flow.base.log_prob(pts) - log_det
        lp_exact = flow.log_prob(x)
    diff = (lp_exact - lp_push).abs()
    finite = torch.isfinite(diff)
    # How much of the view the push-forward actually covers (cells hit by ≥ 1 pushed point).
    inside = (x.abs() < 4).all(1)
    ij = ((x[inside] + 4) / 8 * GRID_N).long().clamp(0, GRID_N - 1)
    covered = torch.unique(ij[:, 1] * GRID_N + ij[:, 0]).numel() / GRID_N**2
    dg = exact()
    return {
        "t_exact_ms": 1e3 * t_exact, "t_push_ms": 1e3 * t_push, "ratio": t_exact / t_push,
        "times_exact_ms": [1e3 * t for t in times["exact"]],
        "times_push_ms": [1e3 * t for t in times["push"]],
        "max_abs_logp_diff": float(diff[finite].max()) if bool(finite.any()) else math.nan,
        "median_abs_logp_diff": float(diff[finite].median()) if bool(finite.any()) else math.nan,
        "nonfinite_diff": int((~finite).sum()),
        "pushed_inside_box": float(inside.double().mean()),
        "cells_covered_by_push": covered,
        "exact_mass": dg.mass, "exact_clipped": int(dg.clipped.sum()),
        "min_wtu_hat": min(float(layer.wtu_hat.detach()) for layer in layers),
        "repeats": args.repeats,
    }


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


RATE_HEADERS = ["steps/s", "×plain", "round ×plain IQR", "CPU-time ×plain"]


def _rate_cells(c: Contender, ref: Contender) -> list[str]:
    if c.skip is not None:
        return [c.skip, "—", "—", "—"]
    rate, ref_rate = c.rate, ref.rate
    ratio = rate / ref_rate if rate and ref_rate else None
    cpu = c.cpu_rate / ref.cpu_rate if c.cpu_rate and ref.cpu_rate else None
    q = _quartiles(_paired_ratios(c, ref))
    iqr = f"{q[0]:.2f}–{q[1]:.2f}" if q else "—"
    return [_fmt(rate, ".1f"), _fmt(ratio, ".2f") + "×", iqr, _fmt(cpu, ".2f") + "×"]


def _nonfinite_cell(c: Contender) -> str:
    e = c.extra
    if "nonfinite" not in e:
        return "—"
    if e["nonfinite"] == 0:
        return "0"
    parts = [f"{e[k]} {label}" for k, label in (("nan", "NaN"), ("neg_inf", "−inf"),
                                                  ("pos_inf", "+inf")) if e[k]]
    return f"{e['nonfinite']} ({', '.join(parts)})"


def _status(c: Contender) -> str:
    if c.skip is not None:
        return "skipped"
    return "diverged " + c.diverged if c.diverged else f"ok ({c.steps_done} steps)"


def _targets(res_a: dict | None, res_b: dict | None, res_c: dict | None
             ) -> list[tuple[str, str, bool | None]]:
    out: list[tuple[str, str, bool | None]] = []
    for tag, res in (("(a)", res_a), ("(b)", res_b)):
        if res is None:
            continue
        cs = {c.name: c for c in res["contenders"]}
        eng, ref = cs["nfwidgets"], cs["plain torch"]
        if eng.rate and ref.rate:
            r = eng.rate / ref.rate
            out.append((f"{tag} engine steps/s ≥ 1.0× plain-torch loop",
                        f"{eng.rate:.1f} vs {ref.rate:.1f} steps/s = {r:.2f}×", r >= 1.0))
        else:
            out.append((f"{tag} engine steps/s ≥ 1.0× plain-torch loop", "no rate", False))
        peers = [c for c in res["contenders"] if c.name in PEERS and c.rate]
        if peers:
            best = max(peers, key=lambda c: c.rate or 0.0)
            ok = bool(eng.rate) and all((eng.rate or 0) > (c.rate or 0) for c in peers)
            out.append((f"{tag} engine steps/s above every peer",
                        f"{_fmt(eng.rate, '.1f')} vs best peer {best.name} {best.rate:.1f}", ok))
        else:
            out.append((f"{tag} engine steps/s above every peer", "no peer ran", None))
    if res_a is not None:
        for c in res_a["contenders"]:
            if c.name.startswith("nfwidgets") and "nonfinite" in c.extra:
                n_bad = c.extra["nonfinite"]
                out.append((f"(a) zero non-finite grid log p ({c.name}, {c.rule.split(':')[0]})",
                            f"{_nonfinite_cell(c)} of {GRID_N**2}", n_bad == 0))
    if res_c is not None:
        out.append(("(c) exact K=8 planar grid ≤ 10× push-forward",
                    f"{res_c['t_exact_ms']:.1f} / {res_c['t_push_ms']:.1f} ms = "
                    f"{res_c['ratio']:.1f}×", res_c["ratio"] <= 10.0))
    return out


def _contender_json(c: Contender, ref: Contender | None) -> dict[str, Any]:
    d = {"name": c.name, "scale_rule": c.rule, "skip": c.skip, "steps_done": c.steps_done,
         "timed_steps": c.timed_steps, "timed_seconds": c.timed_seconds, "steps_per_s": c.rate,
         "timed_cpu_seconds": c.timed_cpu_seconds, "cpu_steps_per_s": c.cpu_rate,
         "round_rates": c.round_rates, "first_loss": c.first_loss, "last_loss": c.last_loss,
         "diverged": c.diverged, **c.extra}
    if ref is not None and c.rate and ref.rate:
        d["ratio_to_plain"] = c.rate / ref.rate
        d["paired_round_ratios"] = _paired_ratios(c, ref)
    return d


def _nan_to_none(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_nan_to_none(v) for v in obj]
    return obj


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 300 training steps per contender, 10 grid repeats per side")
    p.add_argument("--seed", type=int, default=0, help="seed of data, init and batches")
    p.add_argument("--steps", type=int, help="(a) training steps per contender [2000]")
    p.add_argument("--planar-steps", type=int, help="(b) training steps per contender [2000]")
    p.add_argument("--chunk", type=int, help="steps per contender per interleaved round [100]")
    p.add_argument("--repeats", type=int, help="(c) timed repeats per side [40]")
    p.add_argument("--only", default="abc", help="which parts to run, e.g. 'ac' [abc]")
    p.add_argument("--out", type=Path, help="JSON path [benchmarks/results/engine.json, "
                                             "engine-quick.json with --quick]")
    args = p.parse_args(argv)
    q = args.quick
    args.steps = args.steps or (300 if q else 2000)
    args.planar_steps = args.planar_steps or (300 if q else 2000)
    args.chunk = args.chunk or (50 if q else 100)
    args.repeats = args.repeats or (20 if q else 40)
    out = args.out or HERE / "results" / ("engine-quick.json" if q else "engine.json")

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    t_start = time.perf_counter()
    peers = {}
    versions = {"torch": torch.__version__, "nfwidgets": nfwidgets.__version__
                if hasattr(nfwidgets, "__version__") else "?"}
    for name in PEERS:
        mod, err = _import_peer(name)
        peers[name] = mod
        versions[name] = getattr(mod, "__version__", "?") if mod is not None else None
        if mod is None:
            versions[f"{name}_error"] = err
    if versions.get("nflows") == "?":
        try:
            from importlib.metadata import version
            versions["nflows"] = version("nflows")
        except Exception:
            pass
    header = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": platform.python_version(), "cpu": _cpu_model(),
        "cores": __import__("os").cpu_count(), "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(), "git": _git_revision(),
        "versions": versions, "seed": args.seed, "quick": q, "steps_a": args.steps,
        "steps_b": args.planar_steps, "chunk": args.chunk, "repeats_c": args.repeats,
    }
    print("nfwidgets engine benchmark" + (" (--quick)" if q else ""))
    print(f"  date {header['date']}   git {header['git']}   python {header['python']}")
    print(f"  cpu  {header['cpu']} ({header['cores']} cores)")
    print(f"  torch {torch.__version__}: threads = {header['threads']} "
          f"(torch.set_num_threads(1) for every contender; intra-op threads thrash on a shared "
          f"2-core box), interop = {header['interop_threads']}")
    print("  peers " + ", ".join(f"{n} {versions[n]}" if versions[n] else f"{n} not installed"
                                 for n in PEERS))
    print(f"  timing: interleaved, {args.chunk} steps per contender per round, order rotated "
          f"each round; round 0 is warm-up; time.perf_counter")
    sys.stdout.flush()

    res_a = res_b = res_c = None
    durations = {}
    if "a" in args.only:
        t0 = time.perf_counter()
        res_a = bench_realnvp(args, peers)
        durations["a"] = time.perf_counter() - t0
        cs = res_a["contenders"]
        ref = next(c for c in cs if c.name == "plain torch")
        rows = [[c.name, c.rule, *_rate_cells(c, ref),
                 _fmt(c.extra.get("test_nll"), ".4f"),
                 _nonfinite_cell(c), _fmt(c.extra.get("mass"), ".4f"),
                 _fmt(c.first_loss, ".4f"), _status(c)] for c in cs]
        print(f"\n(a) RealNVP, {N_COUPLINGS} affine couplings (MLP 1-64-64-2, ReLU, alternating "
              f"masks), two moons noise 0.05, 20k train / 5k test, standardised;\n"
              f"    Adam 1e-3, batch 512, {args.steps} steps, same init and batches for all "
              f"[{durations['a']:.0f} s]")
        print(_table(["contender", "scale rule", *RATE_HEADERS, "test NLL", "non-finite",
                      "grid mass", "loss@1", "status"], rows))
        print(f"    grid: {GRID_N}² cell centres on [-4,4]² (standardised); nfwidgets "
              f"density_grid mass = {res_a['density_grid_mass']:.4f}, clipped cells = "
              f"{res_a['density_grid_clipped']}")
        sys.stdout.flush()
    if "b" in args.only:
        t0 = time.perf_counter()
        res_b = bench_planar(args, peers)
        durations["b"] = time.perf_counter() - t0
        cs = res_b["contenders"]
        ref = next(c for c in cs if c.name == "plain torch")
        rows = [[c.name, c.rule, *_rate_cells(c, ref), _fmt(c.extra.get("kl"), ".4f"),
                 _fmt(c.extra.get("free_energy"), ".4f"), _fmt(c.extra.get("in_box"), ".3f"),
                 _fmt(c.first_loss, ".4f"), _status(c)] for c in cs]
        print(f"\n(b) K={PLANAR_K_TRAIN} planar, reverse KL on U1, 256 samples/step, Adam 1e-2, "
              f"{args.planar_steps} steps, annealing {res_b['annealing']}, same init and base "
              f"draws [{durations['b']:.0f} s]")
        print(_table(["contender", "û rule", *RATE_HEADERS, "KL", "F", "in box", "loss@1",
                      "status"], rows))
        print(f"    KL = F + ln Z, F from 10k fresh base samples (same for all) at β = 1, "
              f"ln Z = {res_b['log_z']:.4f} on [-4,4]²")
        sys.stdout.flush()
    if "c" in args.only:
        t0 = time.perf_counter()
        res_c = bench_grid(args)
        durations["c"] = time.perf_counter() - t0
        print(f"\n(c) K={PLANAR_K_GRID} planar (seeded random w, u ~ N(0,1), b ~ N(0,0.25), "
              f"float32), {GRID_N}² grid on [-4,4]², median of {args.repeats} interleaved "
              f"repeats [{durations['c']:.0f} s]")
        print(_table(["path", "median ms", "ratio"], [
            ["exact density_grid (inverse)", f"{res_c['t_exact_ms']:.2f}",
             f"{res_c['ratio']:.2f}×"],
            ["push-forward (forward + log-det)", f"{res_c['t_push_ms']:.2f}", "1.00×"]]))
        print(f"    accuracy at the {GRID_N**2} pushed points: max |log p_exact − log p_push| = "
              f"{res_c['max_abs_logp_diff']:.2e} (median {res_c['median_abs_logp_diff']:.1e}, "
              f"non-finite {res_c['nonfinite_diff']}); min wᵀû = {res_c['min_wtu_hat']:.3f}")
        print(f"    push-forward lands {100 * res_c['pushed_inside_box']:.1f}% of points in "
              f"the view and covers {100 * res_c['cells_covered_by_push']:.1f}% of its cells; "
              f"exact grid mass = {res_c['exact_mass']:.4f}")

    targets = _targets(res_a, res_b, res_c)
    verdict = {True: "PASS", False: "FAIL", None: "n/a"}
    print("\nTargets (reported, not asserted)")
    print(_table(["target", "measured", "verdict"],
                 [[t, m, verdict[ok]] for t, m, ok in targets]))
    total = time.perf_counter() - t_start
    print(f"\ntotal {total:.0f} s; JSON → {out}")

    result: dict[str, Any] = {"header": header, "durations_s": durations, "total_s": total,
                              "targets": [{"target": t, "measured": m, "pass": ok}
                                          for t, m, ok in targets]}
    for key, res in (("a_realnvp", res_a), ("b_planar", res_b)):
        if res is not None:
            ref = next(c for c in res["contenders"] if c.name == "plain torch")
            result[key] = {k: v for k, v in res.items() if k != "contenders"}
            result[key]["contenders"] = [_contender_json(c, ref) for c in res["contenders"]]
    if res_c is not None:
        result["c_grid"] = res_c
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(_nan_to_none(result), indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
