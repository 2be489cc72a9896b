"""Correct learner solutions, written the way learners write them (plain torch), for the tests of
``nfwidgets.check.coupling`` and ``nfwidgets.check.reverse_kl``.

``coupling_forward`` / ``coupling_inverse`` follow the check's convention: mask (2,) of 0/1,
1 = passes through and conditions; ``conditioner(mask * z) -> (log_scale, shift)``, each (N, 2).
The other variants are correct answers written differently; every check must accept them.
"""

from __future__ import annotations

import numpy as np
import torch

# ---- affine coupling ------------------------------------------------------------------------


def coupling_forward(z, mask, conditioner):
    log_scale, shift = conditioner(mask * z)
    x = mask * z + (1 - mask) * (z * torch.exp(log_scale) + shift)
    log_det = ((1 - mask) * log_scale).sum(-1)
    return x, log_det


def coupling_inverse(x, mask, conditioner):
    log_scale, shift = conditioner(mask * x)
    z = mask * x + (1 - mask) * ((x - shift) * torch.exp(-log_scale))
    log_det = -((1 - mask) * log_scale).sum(-1)
    return z, log_det


def coupling_forward_where(z, mask, conditioner):
    keep = mask.bool()
    log_scale, shift = conditioner(torch.where(keep, z, torch.zeros_like(z)))
    x = torch.where(keep, z, z * torch.exp(log_scale) + shift)
    log_det = torch.where(keep, torch.zeros_like(log_scale), log_scale).sum(1)
    return x, log_det


def coupling_inverse_where(x, mask, conditioner):
    keep = mask.bool()
    log_scale, shift = conditioner(torch.where(keep, x, torch.zeros_like(x)))
    z = torch.where(keep, x, (x - shift) / torch.exp(log_scale))
    log_det = -torch.where(keep, torch.zeros_like(log_scale), log_scale).sum(1)
    return z, log_det


def coupling_forward_loop(z, mask, conditioner):
    xs, log_dets = [], []
    for i in range(z.shape[0]):  # one point at a time, one coordinate at a time
        log_scale, shift = conditioner(mask * z[i])
        x_i, ld = z[i].clone(), 0.0
        for j in range(2):
            if mask[j] == 0:
                x_i[j] = z[i, j] * torch.exp(log_scale[j]) + shift[j]
                ld = ld + log_scale[j]
        xs.append(x_i)
        log_dets.append(ld)
    return torch.stack(xs), torch.stack(log_dets)


def coupling_inverse_loop(x, mask, conditioner):
    zs, log_dets = [], []
    for i in range(x.shape[0]):
        log_scale, shift = conditioner(mask * x[i])
        z_i, ld = x[i].clone(), 0.0
        for j in range(2):
            if mask[j] == 0:
                z_i[j] = (x[i, j] - shift[j]) * (1 / torch.exp(log_scale[j]))
                ld = ld - log_scale[j]
        zs.append(z_i)
        log_dets.append(ld)
    return torch.stack(zs), torch.stack(log_dets)


def coupling_forward_numpy(z, mask, conditioner):
    log_scale, shift = conditioner(mask * z)
    z, m = z.numpy(), mask.numpy()
    s, t = log_scale.numpy(), shift.numpy()
    x = np.where(m == 1, z, z * np.exp(s) + t)
    return x, np.sum((1 - m) * s, axis=1)


def coupling_inverse_numpy(x, mask, conditioner):
    log_scale, shift = conditioner(mask * x)
    x, m = x.numpy(), mask.numpy()
    s, t = log_scale.numpy(), shift.numpy()
    z = np.where(m == 1, x, (x - t) * np.exp(-s))
    return z, -np.sum((1 - m) * s, axis=1)


def coupling_forward_float32(z, mask, conditioner):
    z, mask = z.float(), mask.float()  # always computes in float32
    log_scale, shift = conditioner(z * mask)
    x = z * mask + (z * log_scale.exp() + shift) * (1 - mask)
    return x, (log_scale * (1 - mask)).sum(dim=-1)


def coupling_inverse_float32(x, mask, conditioner):
    x, mask = x.float(), mask.float()
    log_scale, shift = conditioner(x * mask)
    z = x * mask + (x - shift) * (-log_scale).exp() * (1 - mask)
    return z, -(log_scale * (1 - mask)).sum(dim=-1)


COUPLING_VARIANTS = {
    "mask arithmetic": (coupling_forward, coupling_inverse),
    "torch.where, .sum(1), 1/exp(s)": (coupling_forward_where, coupling_inverse_where),
    "a loop over points and coordinates": (coupling_forward_loop, coupling_inverse_loop),
    "numpy arrays": (coupling_forward_numpy, coupling_inverse_numpy),
    "always float32": (coupling_forward_float32, coupling_inverse_float32),
}

# ---- free energy ----------------------------------------------------------------------------


def free_energy(flow, energy, n_samples, generator):
    x, log_q = flow.sample_and_log_prob(n_samples, generator=generator)
    return (log_q + energy(x)).mean()


def free_energy_by_layers(flow, energy, n_samples, generator):
    z0 = flow.base.sample(n_samples, generator=generator)
    x, log_det = flow(z0)
    log_q = flow.base.log_prob(z0) - log_det
    return torch.mean(log_q + energy(x))


def free_energy_global_rng(flow, energy, n_samples, generator):
    x, log_q = flow.sample_and_log_prob(n_samples)  # ignores the generator: still correct
    return (log_q + energy(x)).sum() / n_samples


def free_energy_through_inverse(flow, energy, n_samples, generator):
    x = flow.sample(n_samples, generator=generator)
    return (flow.log_prob(x) + energy(x)).mean()


def free_energy_loop(flow, energy, n_samples, generator):
    x, log_q = flow.sample_and_log_prob(n_samples, generator=generator)
    terms = [log_q[i] + energy(x[i:i + 1])[0] for i in range(n_samples)]
    return torch.stack(terms).mean()


def free_energy_other_draws(flow, energy, n_samples, generator):
    dtype = next(flow.parameters()).dtype  # draws in float64, then casts: other samples
    z0 = torch.randn(n_samples, 2, dtype=torch.float64, generator=generator).to(dtype)
    x, log_det = flow(z0)
    return (flow.base.log_prob(z0) - log_det + energy(x)).mean()


FREE_ENERGY_VARIANTS = {f.__name__: f for f in (
    free_energy, free_energy_by_layers, free_energy_global_rng, free_energy_through_inverse,
    free_energy_loop, free_energy_other_draws)}

# ---- annealing ------------------------------------------------------------------------------


def beta(step, n_steps):
    return min(1.0, 0.01 + step / n_steps)


def beta_if(step, n_steps):
    b = 0.01 + step / n_steps
    if b > 1:
        b = 1
    return b


def beta_tensor(step, n_steps):
    return torch.clamp(torch.tensor(0.01 + step / n_steps, dtype=torch.float32), max=1.0)


def beta_numpy(step, n_steps):
    return np.minimum(1.0, 0.01 + np.float64(step) / n_steps)


BETA_VARIANTS = {f.__name__: f for f in (beta, beta_if, beta_tensor, beta_numpy)}
