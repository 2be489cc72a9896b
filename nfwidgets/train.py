"""Step-wise training of flows: maximum likelihood on samples, reverse KL on an energy.

A trainer is an object a widget (or a loop) drives one step or one chunk at a time; it never
imports a widget. Every step is checked for non-finite loss or gradients: on one, the last good
parameters are restored (Adam's moments reset) and ``TrainingDiverged`` is raised with the reason.

Bad input (the contract of ``nfwidgets.flows``): constructors, methods and the ``lr`` setter raise
``ValueError`` naming the parameter, the value and what is allowed; training data holding NaN or
inf is refused (the message names the first bad row), never trained on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from . import fast
from ._checks import (
    MAX_POINTS,
    MAX_SEED,
    check_batch,
    check_count,
    check_finite_rows,
    check_function,
    check_real,
    shown,
)
from .flows.compose import Flow

__all__ = [
    "MaximumLikelihood",
    "ReverseKL",
    "StepInfo",
    "Trainer",
    "TrainingDiverged",
    "annealing_schedule",
]


class TrainingDiverged(RuntimeError):
    """A step produced a non-finite loss or gradient; parameters were rolled back."""


@dataclass
class StepInfo:
    """What one step did: its index (1-based), loss, and the inverse temperature used."""

    step: int
    loss: float
    beta: float = 1.0


def annealing_schedule(step: int, anneal_steps: int = 10_000, start: float = 0.01) -> float:
    """Inverse temperature ``β_t = min(1, start + t / anneal_steps)`` (Rezende & Mohamed 2015,
    sec. 6.1: ``β_t = min(1, 0.01 + t/10⁴)``). ``anneal_steps = 0`` means no annealing."""
    step = check_count("step", step, owner="annealing_schedule", lo=0)
    anneal_steps = check_count("anneal_steps", anneal_steps, owner="annealing_schedule", lo=0)
    start = check_real("start", start, owner="annealing_schedule", lo=0, hi=1)
    if anneal_steps == 0:
        return 1.0
    return min(1.0, start + step / anneal_steps)


def _check_flow(flow: object, owner: str) -> Flow:
    if not isinstance(flow, Flow):
        raise ValueError(f"{owner}: flow must be an nfwidgets Flow; got {shown(flow)}")
    return flow


def _check_points(name: str, x: object, flow: Flow, owner: str) -> Tensor:
    """``x``: at least one point of the flow's dimension, every row finite (the first row with
    NaN or inf is named: training on it would only make the loss NaN)."""
    if isinstance(x, Tensor) and x.ndim == 2 and x.shape[1] != flow.dim:
        raise ValueError(f"{owner}: {name} must have one column per dimension of the flow "
                         f"(flow.dim = {flow.dim}); got shape {tuple(x.shape)}")
    check_batch(x, flow.dim, owner=owner, name=name)
    if x.shape[0] == 0:
        raise ValueError(f"{owner}: {name} must hold at least one point; got shape (0, {flow.dim})")
    check_finite_rows(name, x, owner=owner)
    return x


def _check_energy(energy: object, flow: Flow) -> Callable[[Tensor], Tensor]:
    """A function ``U(x) -> (N,)`` on the flow's points, tried once on two points (so a
    mismatch shows here, not at the first step)."""
    allowed = f"a function U(x) mapping points (N, {flow.dim}) of the flow to energies (N,)"
    check_function("energy", energy, owner="ReverseKL", what=allowed)
    ref = next(flow.parameters())
    try:
        with torch.no_grad():
            u = energy(torch.zeros(2, flow.dim, dtype=ref.dtype, device=ref.device))
        ok = isinstance(u, Tensor) and tuple(u.shape) == (2,)
    except (ValueError, TypeError, RuntimeError, IndexError):
        ok = False
    if not ok:
        raise ValueError(f"ReverseKL: energy must be {allowed}; got {shown(energy)}, which "
                         f"does not map torch.zeros(2, {flow.dim}) to a tensor of shape (2,)")
    return energy


class Trainer:
    """Common machinery: Adam, seeded randomness, history, callbacks and the NaN guard.

    Subclasses implement ``loss(step) -> Tensor``.

    Arguments:
        flow: the ``Flow`` to train (its parameters are updated in place).
        lr: Adam learning rate.
        seed: seeds the trainer's own ``torch.Generator`` (mini-batches, base samples); the
            global RNG is never touched, so the same seed and flow give the same run.
        grad_clip: optional max global gradient norm.
    """

    def __init__(self, flow: Flow, *, lr: float = 1e-3, seed: int = 0,
                 grad_clip: float | None = None) -> None:
        owner = type(self).__name__
        self.flow = _check_flow(flow, owner)
        seed = check_count("seed", seed, owner=owner, lo=0, hi=MAX_SEED)
        lr = check_real("lr", lr, owner=owner, lo=0, lo_open=True)
        grad_clip = check_real("grad_clip", grad_clip, owner=owner, lo=0, lo_open=True,
                               optional=True)
        self.params = [p for p in flow.parameters() if p.requires_grad]
        if not self.params:
            raise ValueError(f"{owner}: flow must have trainable parameters; got a flow with "
                             f"none")
        ref = self.params[0]
        self.dtype, self.device = ref.dtype, ref.device
        self.seed = seed
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        # The fused kernel updates all tensors in one call (several times faster on CPU for the
        # many small tensors of a flow); the maths is Adam's either way.
        fused = all(p.is_floating_point() and p.device.type in ("cpu", "cuda")
                    for p in self.params)
        self.optimizer = torch.optim.Adam(self.params, lr=lr, fused=fused or None)
        self.grad_clip = grad_clip
        self.history: list[float] = []
        self.step_count = 0
        self.callbacks: list[Callable[[Trainer, StepInfo], None]] = []
        self.last_error: str | None = None
        # The last good parameters, kept in preallocated buffers (and detached views of the
        # live parameters, made once).
        self._live: list[Tensor] = []
        self._good: list[Tensor] = []

    # --- settings a widget changes between steps --------------------------------------------
    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    @lr.setter
    def lr(self, value: float) -> None:
        value = check_real("lr", value, owner=type(self).__name__, lo=0, lo_open=True)
        for group in self.optimizer.param_groups:
            group["lr"] = value

    def add_callback(self, fn: Callable[[Trainer, StepInfo], None]) -> None:
        """Call ``fn(trainer, info)`` after every successful step."""
        check_function("fn", fn, owner=f"{type(self).__name__}.add_callback")
        self.callbacks.append(fn)

    # --- the loop ---------------------------------------------------------------------------
    def loss(self, step: int) -> Tensor:  # pragma: no cover - abstract
        """The loss of step ``step`` (an integer ≥ 1), with gradient."""
        raise NotImplementedError

    def beta(self, step: int) -> float:
        """Inverse temperature at ``step`` (1 unless annealing)."""
        check_count("step", step, owner=f"{type(self).__name__}.beta", lo=0)
        return 1.0

    def _save_good(self) -> None:
        live = self._live
        if not live or live[0].data_ptr() != self.params[0].data_ptr():  # (re)built after .to()
            live = self._live = [p.detach() for p in self.params]
            self._good = []
        if not self._good:
            self._good = [t.clone() for t in live]
        else:
            torch._foreach_copy_(self._good, live)

    def _restore_good(self) -> None:
        if self._good:
            with torch.no_grad():
                torch._foreach_copy_([p.detach() for p in self.params], self._good)
        # Adam's moments are reset too: the next steps re-estimate them from good gradients.
        self.optimizer.state.clear()

    def step(self) -> StepInfo:
        """One optimisation step; returns its ``StepInfo``.

        Raises:
            TrainingDiverged: if the loss or a gradient is non-finite. The parameters are those
                of the last step whose loss was finite, and Adam's moments are reset.
        """
        t = self.step_count + 1
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(t)
        loss.backward()
        grads = [p.grad for p in self.params if p.grad is not None]
        norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))) if grads else (
            torch.zeros((), dtype=self.dtype, device=self.device))
        value, gnorm = torch.stack([loss.detach(), norm.to(loss.dtype)]).tolist()
        if not (math.isfinite(value) and math.isfinite(gnorm)):
            what, bad = ("loss", value) if not math.isfinite(value) else ("gradient", gnorm)
            meaning = "not a number" if math.isnan(bad) else "infinite"
            self._restore_good()
            self.last_error = (
                f"step {t}: the {what} became {bad} ({meaning}) at lr = {self.lr:g}, so training "
                f"stopped and the parameters were rolled back to the last good step "
                f"({self.step_count}). Try a smaller learning rate, or a bounded scale rule "
                f"(tanh or softclip) for coupling layers.")
            raise TrainingDiverged(self.last_error)
        self._save_good()
        if self.grad_clip is not None and gnorm > self.grad_clip:
            torch._foreach_mul_(grads, self.grad_clip / gnorm)
        self.optimizer.step()
        self.step_count = t
        self.history.append(value)
        self.last_error = None
        info = StepInfo(step=t, loss=value, beta=self.beta(t))
        for fn in self.callbacks:
            fn(self, info)
        return info

    def run(self, n_steps: int) -> list[float]:
        """Take ``n_steps`` steps (stops early, raising, on divergence); returns their losses."""
        n_steps = check_count("n_steps", n_steps, owner=f"{type(self).__name__}.run")
        return [self.step().loss for _ in range(n_steps)]


class MaximumLikelihood(Trainer):
    r"""Fit a flow to samples by maximum likelihood (forward KL):

    .. math:: \mathcal L(\theta) = -\frac1B \sum_{i\in\text{batch}} \log p_\theta(x_i),

    an unbiased estimate of :math:`\mathrm{KL}(p_\text{data}\,\|\,p_\theta) + H(p_\text{data})`,
    so no model's expected loss can fall below the data's entropy (Papamakarios et al. 2021,
    sec. 2.3.1).

    Arguments:
        flow: the flow to fit.
        data: training points (N, D), all finite: a row with NaN or inf is refused
            (``ValueError`` naming the first one), never trained on.
        batch_size: mini-batch size (sampled without replacement within an epoch), at most
            ``MAX_POINTS``.
        lr, seed, grad_clip: see ``Trainer``.
    """

    def __init__(self, flow: Flow, data: Tensor, *, batch_size: int = 512, lr: float = 1e-3,
                 seed: int = 0, grad_clip: float | None = None) -> None:
        super().__init__(flow, lr=lr, seed=seed, grad_clip=grad_clip)
        owner = "MaximumLikelihood"
        data = _check_points("data", data, flow, owner)
        self.data = data.to(dtype=self.dtype, device=self.device)
        self.batch_size = min(check_count("batch_size", batch_size, owner=owner, hi=MAX_POINTS),
                              self.data.shape[0])
        self._order = torch.empty(0, dtype=torch.long)
        self._pos = 0

    def _next_batch(self) -> Tensor:
        n = self.data.shape[0]
        if self._pos + self.batch_size > self._order.shape[0]:
            self._order = torch.randperm(n, generator=self.generator, device=self.device)
            self._pos = 0
        idx = self._order[self._pos:self._pos + self.batch_size]
        self._pos += self.batch_size
        return self.data[idx]

    def loss(self, step: int) -> Tensor:
        """Mean negative log-likelihood of the next mini-batch (``step`` ≥ 1 is not used)."""
        check_count("step", step, owner="MaximumLikelihood.loss")
        return -fast.log_prob(self.flow, self._next_batch()).mean()  # = flow.log_prob

    @torch.no_grad()
    def nll(self, x: Tensor, batch: int = 8192) -> float:
        """Mean negative log-likelihood (nats) of ``x`` (N, D) under the flow, evaluated
        ``batch`` points at a time. A row with NaN or inf is refused (the mean would be NaN)."""
        x = _check_points("x", x, self.flow, "MaximumLikelihood.nll")
        x = x.to(dtype=self.dtype, device=self.device)
        batch = check_count("batch", batch, owner="MaximumLikelihood.nll", hi=MAX_POINTS)
        total = sum(float(-self.flow.log_prob(x[i:i + batch]).sum())
                    for i in range(0, x.shape[0], batch))
        return total / x.shape[0]


class ReverseKL(Trainer):
    r"""Fit a flow to an unnormalised density :math:`p(x) \propto e^{-U(x)}` by reverse KL
    (the variational free energy of Rezende & Mohamed 2015, eq. 15):

    .. math:: \mathcal F = \mathbb E_{z_0\sim q_0}\Bigl[\ln q_0(z_0) - \sum_k \ln|\det J_k|
              + \beta_t\, U(z_K)\Bigr] \;\ge\; -\ln Z \quad (\beta_t = 1),

    where the bound holds when :math:`e^{-U}` is integrable (U1); U2–U4 do not decay along
    z₁, so on ℝ² the loss has no lower bound and the bound only holds for flows that keep their
    samples in the energy's box (see ``nfwidgets.targets.Energy.domain_note``;
    ``energy("U2").confined()`` adds a smooth wall outside the box, after which the bound holds
    for every flow). With the
    annealing :math:`\beta_t = \min(1, 0.01 + t/10^4)` of the paper (``anneal_steps``
    sets the 10⁴; 0 disables it). Reverse KL is mode-seeking: it may cover only some modes.

    Arguments:
        flow: the flow q.
        energy: callable ``U(x) -> (N,)`` on points (N, D).
        n_samples: Monte Carlo samples per step (at most ``MAX_POINTS``).
        anneal_steps: length of the annealing ramp.
        lr, seed, grad_clip: see ``Trainer``.
    """

    def __init__(self, flow: Flow, energy: Callable[[Tensor], Tensor], *, n_samples: int = 256,
                 anneal_steps: int = 10_000, lr: float = 1e-3, seed: int = 0,
                 grad_clip: float | None = None) -> None:
        super().__init__(flow, lr=lr, seed=seed, grad_clip=grad_clip)
        self.energy = _check_energy(energy, self.flow)
        self.n_samples = check_count("n_samples", n_samples, owner="ReverseKL", hi=MAX_POINTS)
        self.anneal_steps = check_count("anneal_steps", anneal_steps, owner="ReverseKL", lo=0)

    def beta(self, step: int) -> float:
        """``annealing_schedule(step, anneal_steps)``."""
        return annealing_schedule(step, self.anneal_steps)

    def loss(self, step: int) -> Tensor:
        """Monte Carlo reverse KL at inverse temperature ``beta(step)`` (``step`` ≥ 1)."""
        check_count("step", step, owner="ReverseKL.loss")
        # flow.sample_and_log_prob, with runs of planar layers batched (same draws and values)
        x, log_q = fast.sample_and_log_prob(self.flow, self.n_samples, generator=self.generator)
        return (log_q + self.beta(step) * self.energy(x)).mean()

    @torch.no_grad()
    def free_energy(self, n: int = 10_000) -> float:
        """Monte Carlo estimate of F at β = 1 (an upper bound on -ln Z) from ``n`` fresh samples,
        drawn from a generator seeded apart from training (so evaluation does not perturb it)."""
        n = check_count("n", n, owner="ReverseKL.free_energy", hi=MAX_POINTS)
        from .diagnostics import variational_bound  # the one estimator of F (imported here:
        # diagnostics imports targets, which a trainer does not need)

        gen = torch.Generator(device=self.device).manual_seed(self.seed + 1_000_003)
        return variational_bound(self.flow, self.energy, n, generator=gen)[0]
