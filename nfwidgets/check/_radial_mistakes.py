"""Catalogue ``"radial_inverse"``: typical wrong ``preimage_radius(rho, alpha, beta)`` and
``radial_inverse(x, z0, alpha, beta)``.

Each mistake is a complete wrong implementation with the learner's signature, written the way a
learner would (plain torch), so that its source can be pasted into a notebook as a mutated
submission. A wrong ``radial_inverse`` calls ``preimage_radius`` by name; in this module that
name is the engine's root (``nfwidgets.flows.Radial.radius_of_preimage``), which the checker's
learner has matched before ``radial_inverse`` is run.

The maths (Rezende & Mohamed 2015, eq. 14 and App. A.2): ``f(z) = z + β h(r)(z − z0)``,
``r = ‖z − z0‖``, ``h = 1/(α + r)``; ``ln|det ∂f/∂z| = (d − 1) ln(1 + βh) + ln(1 + βh + βh′r)``.
The inverse: ``ρ = ‖x − z0‖`` gives ``r`` from ``r + βr/(α + r) = ρ`` (a quadratic), then
``z − z0 = (x − z0)/(1 + βh(r))`` and ``ln|det ∂z/∂x|`` is minus the forward log-det at z.
"""

from __future__ import annotations

import torch

from nfwidgets.flows import Radial

from ._report import Catalogue

__all__ = ["CAT", "preimage_radius"]

CAT = Catalogue("radial_inverse")


def preimage_radius(rho, alpha, beta):
    """The engine's non-negative root, under the learner's name (see the module docstring)."""
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731  (float64 α, β exactly)
    layer = Radial(torch.zeros(1, dtype=torch.float64), t(alpha), t(beta), constrain=False)
    return layer.radius_of_preimage(rho.double()).to(rho.dtype)


# ---- preimage_radius(rho, alpha, beta) ------------------------------------------------------

@CAT.mistake("preimage_radius", "wrong_root",
             "this is the other root of the quadratic (minus before the square root): it is "
             "negative, and a radius is ≥ 0.")
def preimage_radius__wrong_root(rho, alpha, beta):
    q = alpha + beta - rho
    return (-q - torch.sqrt(q**2 + 4 * alpha * rho)) / 2


@CAT.mistake("preimage_radius", "linear_sign",
             "the linear coefficient of the quadratic has the wrong sign (or the other, "
             "negative root was made positive with abs): multiply r + βr/(α + r) = ρ by "
             "(α + r), collect the terms in r again and keep the root that is ≥ 0.")
def preimage_radius__linear_sign(rho, alpha, beta):
    q = rho - alpha - beta
    return (-q + torch.sqrt(q**2 + 4 * alpha * rho)) / 2


@CAT.mistake("preimage_radius", "constant_sign",
             "the quadratic's constant term has the wrong sign (it shows in the discriminant): "
             "multiply r + βr/(α + r) = ρ by (α + r) and move everything to one side again.")
def preimage_radius__constant_sign(rho, alpha, beta):
    q = alpha + beta - rho
    return (-q + torch.sqrt(q**2 - 4 * alpha * rho)) / 2


@CAT.mistake("preimage_radius", "no_half",
             "the quadratic formula's denominator 2a (here a = 1) is missing.")
def preimage_radius__no_half(rho, alpha, beta):
    q = alpha + beta - rho
    return -q + torch.sqrt(q**2 + 4 * alpha * rho)


@CAT.mistake("preimage_radius", "returned_rho",
             "r = ρ only when β = 0: the preimage's radius r solves r + βr/(α + r) = ρ.")
def preimage_radius__returned_rho(rho, alpha, beta):
    return rho


@CAT.mistake("preimage_radius", "applied_forward",
             "this applies the forward map's radius change to ρ; the inverse needs the r that "
             "the forward map sends to ρ.")
def preimage_radius__applied_forward(rho, alpha, beta):
    return rho + beta * rho / (alpha + rho)


# ---- radial_inverse(x, z0, alpha, beta) -----------------------------------------------------

@CAT.mistake("radial_inverse", "rho_in_h",
             "h is evaluated at ρ = ‖x − z0‖, the radius of x; h belongs to the radius "
             "r = ‖z − z0‖ of the preimage (the one preimage_radius finds).")
def radial_inverse__rho_in_h(x, z0, alpha, beta):
    d = x.shape[-1]
    diff = x - z0
    rho = torch.linalg.norm(diff, dim=-1)
    h = 1 / (alpha + rho)
    z = z0 + diff / (1 + beta * h)[:, None]
    forward = (d - 1) * torch.log(1 + beta * h) + torch.log(1 + beta * h - beta * h**2 * rho)
    return z, -forward


@CAT.mistake("radial_inverse", "rho_in_z",
             "z uses h at ρ = ‖x − z0‖, the radius of x; the factor to undo is h at the "
             "preimage's radius r (the one preimage_radius finds).")
def radial_inverse__rho_in_z(x, z0, alpha, beta):
    d = x.shape[-1]
    diff = x - z0
    rho = torch.linalg.norm(diff, dim=-1)
    r = preimage_radius(rho, alpha, beta)
    h = 1 / (alpha + r)
    z = z0 + diff / (1 + beta / (alpha + rho))[:, None]
    forward = (d - 1) * torch.log(1 + beta * h) + torch.log(1 + beta * h - beta * h**2 * r)
    return z, -forward


@CAT.mistake("radial_inverse", "log_det_at_rho",
             "z is right but the log-det is evaluated at x's radius ρ; the forward log-det "
             "must be taken at z, i.e. at the preimage's radius r.")
def radial_inverse__log_det_at_rho(x, z0, alpha, beta):
    d = x.shape[-1]
    diff = x - z0
    rho = torch.linalg.norm(diff, dim=-1)
    r = preimage_radius(rho, alpha, beta)
    z = z0 + diff / (1 + beta / (alpha + r))[:, None]
    h = 1 / (alpha + rho)
    forward = (d - 1) * torch.log(1 + beta * h) + torch.log(1 + beta * h - beta * h**2 * rho)
    return z, -forward


@CAT.mistake("radial_inverse", "scale_inverted",
             "z is x pushed once more the forward way: the inverse divides by the factor "
             "(1 + βh) that the forward map multiplied by.")
def radial_inverse__scale_inverted(x, z0, alpha, beta):
    d = x.shape[-1]
    diff = x - z0
    r = preimage_radius(torch.linalg.norm(diff, dim=-1), alpha, beta)
    h = 1 / (alpha + r)
    z = z0 + diff * (1 + beta * h)[:, None]
    forward = (d - 1) * torch.log(1 + beta * h) + torch.log(1 + beta * h - beta * h**2 * r)
    return z, -forward


@CAT.mistake("radial_inverse", "forgot_add_z0",
             "z − z0 is right but z0 is not added back: the result is measured from the "
             "centre z0, z itself is not.")
def radial_inverse__forgot_add_z0(x, z0, alpha, beta):
    d = x.shape[-1]
    diff = x - z0
    r = preimage_radius(torch.linalg.norm(diff, dim=-1), alpha, beta)
    h = 1 / (alpha + r)
    z = diff / (1 + beta * h)[:, None]
    forward = (d - 1) * torch.log(1 + beta * h) + torch.log(1 + beta * h - beta * h**2 * r)
    return z, -forward


@CAT.mistake("radial_inverse", "ignored_z0",
             "z0 is ignored: radii are distances from the centre z0, and the map scales x − z0, "
             "not x.")
def radial_inverse__ignored_z0(x, z0, alpha, beta):
    d = x.shape[-1]
    r = preimage_radius(torch.linalg.norm(x, dim=-1), alpha, beta)
    h = 1 / (alpha + r)
    z = x / (1 + beta * h)[:, None]
    forward = (d - 1) * torch.log(1 + beta * h) + torch.log(1 + beta * h - beta * h**2 * r)
    return z, -forward


@CAT.mistake("radial_inverse", "forward_log_det",
             "log_det is the forward log-det at z, ln|det ∂x/∂z|; the inverse returns "
             "ln|det ∂z/∂x|, its negative.")
def radial_inverse__forward_log_det(x, z0, alpha, beta):
    d = x.shape[-1]
    diff = x - z0
    r = preimage_radius(torch.linalg.norm(diff, dim=-1), alpha, beta)
    h = 1 / (alpha + r)
    z = z0 + diff / (1 + beta * h)[:, None]
    forward = (d - 1) * torch.log(1 + beta * h) + torch.log(1 + beta * h - beta * h**2 * r)
    return z, forward


@CAT.mistake("radial_inverse", "forgot_power",
             "the factor (1 + βh) appears once; each of the d − 1 directions perpendicular to "
             "the radius is stretched by it (the same in 2-D, not in 3-D: these points are 3-D).")
def radial_inverse__forgot_power(x, z0, alpha, beta):
    diff = x - z0
    r = preimage_radius(torch.linalg.norm(diff, dim=-1), alpha, beta)
    h = 1 / (alpha + r)
    z = z0 + diff / (1 + beta * h)[:, None]
    forward = torch.log(1 + beta * h) + torch.log(1 + beta * h - beta * h**2 * r)
    return z, -forward


@CAT.mistake("radial_inverse", "exponent_d",
             "the factor (1 + βh) is raised to the power d; only the d − 1 directions "
             "perpendicular to the radius get it, the radial direction has its own factor.")
def radial_inverse__exponent_d(x, z0, alpha, beta):
    d = x.shape[-1]
    diff = x - z0
    r = preimage_radius(torch.linalg.norm(diff, dim=-1), alpha, beta)
    h = 1 / (alpha + r)
    z = z0 + diff / (1 + beta * h)[:, None]
    forward = d * torch.log(1 + beta * h) + torch.log(1 + beta * h - beta * h**2 * r)
    return z, -forward


@CAT.mistake("radial_inverse", "h_prime_sign",
             "h′ has the wrong sign: h = 1/(α + r) decreases with r, so h′ < 0.")
def radial_inverse__h_prime_sign(x, z0, alpha, beta):
    d = x.shape[-1]
    diff = x - z0
    r = preimage_radius(torch.linalg.norm(diff, dim=-1), alpha, beta)
    h = 1 / (alpha + r)
    z = z0 + diff / (1 + beta * h)[:, None]
    forward = (d - 1) * torch.log(1 + beta * h) + torch.log(1 + beta * h + beta * h**2 * r)
    return z, -forward


@CAT.mistake("radial_inverse", "product_rule",
             "the radial factor lost a term: the derivative of r·h(r) along the radius needs "
             "the product rule.")
def radial_inverse__product_rule(x, z0, alpha, beta):
    d = x.shape[-1]
    diff = x - z0
    r = preimage_radius(torch.linalg.norm(diff, dim=-1), alpha, beta)
    h = 1 / (alpha + r)
    z = z0 + diff / (1 + beta * h)[:, None]
    forward = (d - 1) * torch.log(1 + beta * h) + torch.log(1 - beta * h**2 * r)
    return z, -forward


@CAT.mistake("radial_inverse", "radial_factor_missing",
             "the log-det has only the factor of the directions perpendicular to the radius; "
             "the radial direction's own stretch is missing.")
def radial_inverse__radial_factor_missing(x, z0, alpha, beta):
    d = x.shape[-1]
    diff = x - z0
    r = preimage_radius(torch.linalg.norm(diff, dim=-1), alpha, beta)
    h = 1 / (alpha + r)
    z = z0 + diff / (1 + beta * h)[:, None]
    return z, -(d - 1) * torch.log(1 + beta * h)


@CAT.mistake("radial_inverse", "log_det_summed",
             "the log-det is summed over the batch: return one value per point, shape (N,).")
def radial_inverse__log_det_summed(x, z0, alpha, beta):
    d = x.shape[-1]
    diff = x - z0
    r = preimage_radius(torch.linalg.norm(diff, dim=-1), alpha, beta)
    h = 1 / (alpha + r)
    z = z0 + diff / (1 + beta * h)[:, None]
    forward = (d - 1) * torch.log(1 + beta * h) + torch.log(1 + beta * h - beta * h**2 * r)
    return z, -forward.sum()
