"""Catalogues ``"free_energy"`` and ``"annealing"``: typical wrong
``free_energy(flow, energy, n_samples, generator)`` and ``beta(step, n_steps)``.

The maths (Rezende & Mohamed 2015, eq. 15 and sec. 6.1): with ``x = f(z₀)``, ``z₀ ~ q₀``,
``ln q(x) = ln q₀(z₀) − Σₖ ln|det Jₖ|`` and ``F = E_q[ln q(x) + U(x)] = KL(q‖p) − ln Z``,
estimated by the mean over ``n_samples`` samples; the annealing schedule is
``β_t = min(1, 0.01 + t/T)``.

Each mistake is a complete wrong implementation with the learner's signature, in plain torch,
so its source can be pasted into a notebook as a mutated submission.
"""

from __future__ import annotations

import torch

from ._report import Catalogue

__all__ = ["ANNEAL", "FREE"]

FREE = Catalogue("free_energy")
ANNEAL = Catalogue("annealing")


# ---- free_energy(flow, energy, n_samples, generator) ----------------------------------------

@FREE.mistake("free_energy", "forgot_log_det",
              "ln q(x) was taken as the base density ln q₀(z₀) alone: the flow moves and "
              "stretches the mass, and the change of variables needs the log-det of its "
              "layers.")
def free_energy__forgot_log_det(flow, energy, n_samples, generator):
    z0 = flow.base.sample(n_samples, generator=generator)
    x, _ = flow(z0)
    return (flow.base.log_prob(z0) + energy(x)).mean()


@FREE.mistake("free_energy", "log_det_sign",
              "the log-det was added to ln q₀(z₀) instead of subtracted: where the flow "
              "stretches space (log-det > 0) its density gets thinner, not denser.")
def free_energy__log_det_sign(flow, energy, n_samples, generator):
    z0 = flow.base.sample(n_samples, generator=generator)
    x, log_det = flow(z0)
    return (flow.base.log_prob(z0) + log_det + energy(x)).mean()


@FREE.mistake("free_energy", "minus_energy",
              "the energy enters with a minus sign: p(x) ∝ exp(−U(x)), so −ln p(x) = U(x) + "
              "ln Z and the free energy E_q[ln q − ln p] − ln Z carries +U.")
def free_energy__minus_energy(flow, energy, n_samples, generator):
    x, log_q = flow.sample_and_log_prob(n_samples, generator=generator)
    return (log_q - energy(x)).mean()


@FREE.mistake("free_energy", "base_density_of_x",
              "ln q(x) was evaluated with the base density at the flow's output x; q₀ is the "
              "density of z₀, and the density of x = f(z₀) is a different one.")
def free_energy__base_density_of_x(flow, energy, n_samples, generator):
    x, _ = flow.sample_and_log_prob(n_samples, generator=generator)
    return (flow.base.log_prob(x) + energy(x)).mean()


@FREE.mistake("free_energy", "sum_not_mean",
              "the samples' terms were summed: F is an expectation, estimated by their mean "
              "(a sum grows with n_samples).")
def free_energy__sum_not_mean(flow, energy, n_samples, generator):
    x, log_q = flow.sample_and_log_prob(n_samples, generator=generator)
    return (log_q + energy(x)).sum()


@FREE.mistake("free_energy", "forgot_log_q",
              "only E_q[U] was estimated: without E_q[ln q] (minus the entropy of q) nothing "
              "keeps q from collapsing onto the minimum of U.")
def free_energy__forgot_log_q(flow, energy, n_samples, generator):
    x, _ = flow.sample_and_log_prob(n_samples, generator=generator)
    return energy(x).mean()


@FREE.mistake("free_energy", "energy_of_z0",
              "the energy was evaluated at the base sample z₀; the expectation is over q, so "
              "U belongs at the flow's output x = f(z₀).")
def free_energy__energy_of_z0(flow, energy, n_samples, generator):
    z0 = flow.base.sample(n_samples, generator=generator)
    _, log_det = flow(z0)
    return (flow.base.log_prob(z0) - log_det + energy(z0)).mean()


@FREE.mistake("free_energy", "no_gradient",
              "F carries no gradient (computed under torch.no_grad() or from detached "
              "tensors): as a training loss it could not move the flow's parameters.")
def free_energy__no_gradient(flow, energy, n_samples, generator):
    with torch.no_grad():
        x, log_q = flow.sample_and_log_prob(n_samples, generator=generator)
        return (log_q + energy(x)).mean()


@FREE.mistake("free_energy", "returned_number",
              "F was turned into a Python number (.item() or float()): the value is right, but "
              "a number carries no gradient, so it could not train the flow.")
def free_energy__returned_number(flow, energy, n_samples, generator):
    x, log_q = flow.sample_and_log_prob(n_samples, generator=generator)
    return (log_q + energy(x)).mean().item()


@FREE.mistake("free_energy", "detached_samples",
              "the samples were detached before the energy: the gradient of E_q[U] flows "
              "through the samples x = f(z₀) (the reparametrisation trick); without it the "
              "flow does not learn where U is low.")
def free_energy__detached_samples(flow, energy, n_samples, generator):
    x, log_q = flow.sample_and_log_prob(n_samples, generator=generator)
    return (log_q + energy(x.detach())).mean()


@FREE.mistake("free_energy", "log_prob_of_detached",
              "ln q was recomputed at detached samples (flow.log_prob(x.detach())): the "
              "value is right, but the gradient misses the path through the samples "
              "x = f(z₀), so the entropy term is not reparametrised.")
def free_energy__log_prob_of_detached(flow, energy, n_samples, generator):
    x, _ = flow.sample_and_log_prob(n_samples, generator=generator)
    return (flow.log_prob(x.detach()) + energy(x)).mean()


# ---- beta(step, n_steps) --------------------------------------------------------------------

@ANNEAL.mistake("beta", "no_cap",
                "β keeps growing after the ramp: the paper caps it at 1, so that from then on "
                "the loss is the true free energy.")
def beta__no_cap(step, n_steps):
    return 0.01 + step / n_steps


@ANNEAL.mistake("beta", "max_instead_of_min",
                "the cap uses max where it needs min: β never drops below 1, so there is no "
                "annealing at all.")
def beta__max_instead_of_min(step, n_steps):
    return max(1.0, 0.01 + step / n_steps)


@ANNEAL.mistake("beta", "starts_at_zero",
                "β starts at 0: at β = 0 the energy has no say at all; the paper's schedule "
                "starts from a small positive β.")
def beta__starts_at_zero(step, n_steps):
    return min(1.0, step / n_steps)


@ANNEAL.mistake("beta", "offset_after_cap",
                "the start value is added after the cap, so β ends above 1 instead of at 1.")
def beta__offset_after_cap(step, n_steps):
    return 0.01 + min(1.0, step / n_steps)


@ANNEAL.mistake("beta", "start_as_floor",
                "the start value is used as a lower bound for t/T instead of being added to "
                "it, so β lags behind the paper's ramp by the start value.")
def beta__start_as_floor(step, n_steps):
    return min(1.0, max(0.01, step / n_steps))


@ANNEAL.mistake("beta", "decreasing",
                "β decreases over training: annealing starts with a weak energy (a hot, "
                "spread-out target) and strengthens it, not the reverse.")
def beta__decreasing(step, n_steps):
    return 1.0 - step / n_steps


@ANNEAL.mistake("beta", "integer_division",
                "step // n_steps is integer division: it stays 0 for the whole ramp and jumps "
                "at the end; the ramp grows a little every step.")
def beta__integer_division(step, n_steps):
    return min(1.0, 0.01 + step // n_steps)


@ANNEAL.mistake("beta", "off_by_one",
                "the ramp is one step ahead (t + 1): at step 0 β should be exactly the start "
                "value.")
def beta__off_by_one(step, n_steps):
    return min(1.0, 0.01 + (step + 1) / n_steps)
