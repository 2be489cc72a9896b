"""The typical mistakes of the exercises in lessons 05–08, as wrong implementations with the
learner's signature (``nfwidgets.check.training`` runs them to name the misconception).

Each function is self-contained (torch and math only), so its source can be pasted into a
notebook as a submission. A value exercise (lesson 08) catalogues wrong *answers*: functions of
what the answer is written from (``ln Z``) that return the wrong value.
"""

from __future__ import annotations

import math

import torch

from ._report import Catalogue

__all__ = ["ANNEALED_OBJECTIVE", "AVERAGE_NLL", "COUPLING_INVERSE", "ONE_LOBE_FREE_ENERGY"]

# --- lesson 05: the inverse of x₂ = z₂·exp(ℓ(z₁)) + t(z₁), mask [1, 0], rule "exp" -----------
COUPLING_INVERSE = Catalogue("lesson05_coupling_inverse")
_05 = COUPLING_INVERSE.mistake


@_05("my_inverse", "wrong_order",
     "You divided by the scale before taking off the shift. The forward map scaled first and "
     "shifted last, so the inverse undoes the shift first, then the scale.")
def my_inverse__wrong_order(layer, x):
    x1, x2 = x[:, :1], x[:, 1:]
    log_scale, shift = layer.conditioner(x1)
    return torch.cat([x1, x2 * torch.exp(-log_scale) - shift], dim=1)


@_05("my_inverse", "scale_not_inverted",
     "You multiplied by exp(ℓ) again. The forward map multiplied z₂ by exp(ℓ), so the inverse "
     "has to divide by it.")
def my_inverse__scale_not_inverted(layer, x):
    x1, x2 = x[:, :1], x[:, 1:]
    log_scale, shift = layer.conditioner(x1)
    return torch.cat([x1, (x2 - shift) * torch.exp(log_scale)], dim=1)


@_05("my_inverse", "forward_again",
     "This applies the forward map to x a second time. The inverse must give the z that the "
     "layer sends to x.")
def my_inverse__forward_again(layer, x):
    x1, x2 = x[:, :1], x[:, 1:]
    log_scale, shift = layer.conditioner(x1)
    return torch.cat([x1, x2 * torch.exp(log_scale) + shift], dim=1)


@_05("my_inverse", "shift_added",
     "You added the shift t a second time. The forward map added t, so the inverse subtracts "
     "it.")
def my_inverse__shift_added(layer, x):
    x1, x2 = x[:, :1], x[:, 1:]
    log_scale, shift = layer.conditioner(x1)
    return torch.cat([x1, (x2 + shift) * torch.exp(-log_scale)], dim=1)


@_05("my_inverse", "divided_by_log_scale",
     "You divided by ℓ itself. ℓ is the log of the scale, and the scale is exp(ℓ).")
def my_inverse__divided_by_log_scale(layer, x):
    x1, x2 = x[:, :1], x[:, 1:]
    log_scale, shift = layer.conditioner(x1)
    return torch.cat([x1, (x2 - shift) / log_scale], dim=1)


@_05("my_inverse", "forgot_shift",
     "The shift t is never taken off: z₂ = (x₂ − t)·exp(−ℓ) has two parts to undo.")
def my_inverse__forgot_shift(layer, x):
    x1, x2 = x[:, :1], x[:, 1:]
    log_scale, _ = layer.conditioner(x1)
    return torch.cat([x1, x2 * torch.exp(-log_scale)], dim=1)


@_05("my_inverse", "conditioner_on_x2",
     "The conditioner was given x₂. It always reads the coordinate that passes through "
     "unchanged: x₁, which equals z₁.")
def my_inverse__conditioner_on_x2(layer, x):
    x1, x2 = x[:, :1], x[:, 1:]
    log_scale, shift = layer.conditioner(x2)
    return torch.cat([x1, (x2 - shift) * torch.exp(-log_scale)], dim=1)


@_05("my_inverse", "only_z2",
     "Your function returns z₂ alone. It should return the whole point, z = (z₁, z₂) with "
     "z₁ = x₁, of shape (N, 2).")
def my_inverse__only_z2(layer, x):
    x1, x2 = x[:, :1], x[:, 1:]
    log_scale, shift = layer.conditioner(x1)
    return (x2 - shift) * torch.exp(-log_scale)


# --- lesson 06: the average negative log-likelihood -------------------------------------------
AVERAGE_NLL = Catalogue("lesson06_average_nll")
_06 = AVERAGE_NLL.mistake


@_06("average_nll", "log_likelihood",
     "That is the average log-likelihood. The loss is its negative, and it can never go below "
     "the entropy floor.")
def average_nll__log_likelihood(flow, x):
    return flow.log_prob(x).mean().item()


@_06("average_nll", "summed",
     "That is the sum over the points. The NLL here is their average, so it does not grow "
     "with the number of points.")
def average_nll__summed(flow, x):
    return -flow.log_prob(x).sum().item()


@_06("average_nll", "base_density",
     "That is the base density evaluated at x itself. A flow's log q(x) first maps x back "
     "through the layers (f⁻¹) and adds the log-determinant, which is what flow.log_prob does.")
def average_nll__base_density(flow, x):
    return -flow.base.log_prob(x).mean().item()


@_06("average_nll", "density_not_log",
     "You averaged −q(x), the density itself. The NLL averages −log q(x).")
def average_nll__density_not_log(flow, x):
    return -flow.log_prob(x).exp().mean().item()


@_06("average_nll", "log_of_mean",
     "You took −log of the average density. The NLL is the average of −log q: the log comes "
     "first (by Jensen's inequality the two differ).")
def average_nll__log_of_mean(flow, x):
    return -torch.log(flow.log_prob(x).exp().mean()).item()


@_06("average_nll", "bits",
     "You divided by ln 2, which gives bits. The lesson, the floor and the dashboard all "
     "measure in nats.")
def average_nll__bits(flow, x):
    return -flow.log_prob(x).mean().item() / math.log(2)


@_06("average_nll", "per_point",
     "You returned one value per point. Return one number: their average.")
def average_nll__per_point(flow, x):
    return -flow.log_prob(x)


# --- lesson 07: the annealed objective E_q[ln q + β U] ----------------------------------------
ANNEALED_OBJECTIVE = Catalogue("lesson07_annealed_objective")
_07 = ANNEALED_OBJECTIVE.mistake


@_07("my_objective", "no_beta",
     "β is missing: while annealing, the energy is scaled down to β·U (at β = 1 this is F "
     "itself).")
def my_objective__no_beta(log_q, u, beta):
    return (log_q + u).mean()


@_07("my_objective", "beta_on_log_q",
     "β multiplies ln q here. Annealing scales the energy U, the part that pulls q into the "
     "modes, and leaves ln q alone.")
def my_objective__beta_on_log_q(log_q, u, beta):
    return (beta * log_q + u).mean()


@_07("my_objective", "beta_on_both",
     "β multiplies the whole sum here. Only the energy is scaled: ln q + β·U.")
def my_objective__beta_on_both(log_q, u, beta):
    return (beta * (log_q + u)).mean()


@_07("my_objective", "temperature",
     "You divided U by β. β is an inverse temperature: the energy is multiplied by β, so a "
     "small β flattens the target.")
def my_objective__temperature(log_q, u, beta):
    return (log_q + u / beta).mean()


@_07("my_objective", "minus_energy",
     "The energy has the wrong sign. p ∝ exp(−U), so −ln p = U + ln Z, and the KL adds +U.")
def my_objective__minus_energy(log_q, u, beta):
    return (log_q - beta * u).mean()


@_07("my_objective", "minus_log_q",
     "ln q has the wrong sign. The free energy is E_q[ln q − ln p], where E_q[ln q] = −H(q) "
     "is minus the entropy.")
def my_objective__minus_log_q(log_q, u, beta):
    return (-log_q + beta * u).mean()


@_07("my_objective", "summed",
     "That is the sum over the samples. The objective is an expectation, so take their mean.")
def my_objective__summed(log_q, u, beta):
    return (log_q + beta * u).sum()


@_07("my_objective", "per_sample",
     "You returned one value per sample. Return one number: their mean, the Monte Carlo "
     "estimate of the expectation.")
def my_objective__per_sample(log_q, u, beta):
    return log_q + beta * u


# --- lesson 08: F of a flow collapsed perfectly onto one of U1's two lobes --------------------
ONE_LOBE_FREE_ENERGY = Catalogue("lesson08_one_lobe_free_energy")
_08 = ONE_LOBE_FREE_ENERGY.mistake


@_08("expected_F", "ln2_sign",
     "The sign of ln 2 is wrong. On the lobe q = 2p, so ln q − ln p = ln 2 > 0, and a KL is "
     "never negative.")
def expected_F__ln2_sign(log_z):
    return -math.log(2) - log_z


@_08("expected_F", "kl_only",
     "That is KL(q‖p). The free energy also subtracts ln Z: F = KL(q‖p) − ln Z.")
def expected_F__kl_only(log_z):
    return math.log(2)


@_08("expected_F", "log_z_sign",
     "ln Z has the wrong sign: F = KL(q‖p) − ln Z, the KL shifted down by ln Z.")
def expected_F__log_z_sign(log_z):
    return math.log(2) + log_z


@_08("expected_F", "perfect_fit",
     "That is −ln Z, the F of a q equal to p. The collapsed q misses half of p's mass, and "
     "that costs something.")
def expected_F__perfect_fit(log_z):
    return -log_z


@_08("expected_F", "bits",
     "You used log₂ 2 = 1. Free energies are in nats, so the cost is ln 2.")
def expected_F__bits(log_z):
    return math.log2(2) - log_z


@_08("expected_F", "negated",
     "Every sign is flipped: you wrote ln Z − ln 2 = −F.")
def expected_F__negated(log_z):
    return log_z - math.log(2)
