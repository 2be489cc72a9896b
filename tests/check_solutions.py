"""Correct learner solutions for the checks in ``nfwidgets.check`` (test-only, plain torch,
written the way a learner would, without nfwidgets' own functions).

Other helpers' tests and the assignments may import these; each function has exactly the
learner's signature. Variants written differently but correctly live in the tests.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# ---- planar layer (Rezende & Mohamed 2015, eq. 10–12, App. A.1) ---------------------------


def u_hat(w, u):
    """û = u + (m(wᵀu) − wᵀu) w/‖w‖², m(a) = −1 + softplus(a): then wᵀû > −1."""
    wtu = w @ u
    m = -1 + F.softplus(wtu)
    return u + (m - wtu) * w / (w @ w)


def planar_forward(z, w, u, b):
    """x = z + û tanh(wᵀz + b); log_det = ln|1 + tanh′(wᵀz + b) wᵀû| per point."""
    uh = u_hat(w, u)
    a = z @ w + b
    x = z + torch.tanh(a)[:, None] * uh
    psi = (1 - torch.tanh(a) ** 2)[:, None] * w
    log_det = torch.log(torch.abs(1 + psi @ uh))
    return x, log_det


# ---- radial layer (eq. 14, App. A.2) --------------------------------------------------------


def preimage_radius(rho, alpha, beta):
    """The r ≥ 0 with r + β r/(α + r) = ρ: the positive root of r² + (α + β − ρ) r − αρ = 0."""
    q = alpha + beta - rho
    return (-q + torch.sqrt(q**2 + 4 * alpha * rho)) / 2


def radial_inverse(x, z0, alpha, beta):
    """z = z0 + (x − z0)/(1 + βh(r)), h = 1/(α + r); log_det = −(forward log-det at z)."""
    d = x.shape[-1]
    diff = x - z0
    rho = torch.linalg.norm(diff, dim=-1)
    r = preimage_radius(rho, alpha, beta)
    h = 1 / (alpha + r)
    z = z0 + diff / (1 + beta * h)[:, None]
    forward_log_det = ((d - 1) * torch.log(1 + beta * h)
                       + torch.log(1 + beta * h - beta * h**2 * r))
    return z, -forward_log_det
