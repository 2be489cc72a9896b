"""Catalogue ``"coupling_layer"``: typical wrong ``coupling_forward(z, mask, conditioner)`` and
``coupling_inverse(x, mask, conditioner)``.

The convention (``nfwidgets.check.coupling``): ``mask`` (2,) of 0/1, 1 = the coordinate passes
through unchanged and is what the conditioner sees; the conditioner is called on ``mask ⊙ z``
and returns ``(log_scale, shift)``, each of z's shape, whose entries at the masked coordinates
are ignored. The maths (Dinh et al. 2017, RealNVP, eq. 9):
``x = b⊙z + (1−b)⊙(z⊙exp(s) + t)``, ``ln|det ∂x/∂z| = Σⱼ (1−bⱼ) sⱼ``, with ``s, t`` taken at
``b⊙z``; the inverse recomputes ``s, t`` at ``b⊙x`` (= ``b⊙z``).

Each mistake is a complete wrong implementation with the learner's signature, in plain torch,
so its source can be pasted into a notebook as a mutated submission.
"""

from __future__ import annotations

import torch

from ._report import Catalogue

__all__ = ["CAT"]

CAT = Catalogue("coupling_layer")


# ---- coupling_forward(z, mask, conditioner) -------------------------------------------------

@CAT.mistake("coupling_forward", "forward_log_det_sum_exp",
             "the log-det adds up the scales exp(s) instead of the log-scales s: the log of a "
             "product of scales is the sum of their logs.")
def coupling_forward__log_det_sum_exp(z, mask, conditioner):
    log_scale, shift = conditioner(mask * z)
    x = mask * z + (1 - mask) * (z * torch.exp(log_scale) + shift)
    return x, ((1 - mask) * torch.exp(log_scale)).sum(-1)


@CAT.mistake("coupling_forward", "forward_log_det_all_coordinates",
             "the log-det sums the log-scale over every coordinate, including those the mask "
             "passes through unchanged: their diagonal entry of the Jacobian is 1 (ln 1 = 0), "
             "whatever the conditioner outputs there.")
def coupling_forward__log_det_all_coordinates(z, mask, conditioner):
    log_scale, shift = conditioner(mask * z)
    x = mask * z + (1 - mask) * (z * torch.exp(log_scale) + shift)
    return x, log_scale.sum(-1)


@CAT.mistake("coupling_forward", "forward_scale_without_exp",
             "the transformed coordinates are multiplied by the log-scale s itself; the "
             "conditioner outputs a *log*-scale, and the scale is its exponential (always "
             "positive, so the layer stays invertible).")
def coupling_forward__scale_without_exp(z, mask, conditioner):
    log_scale, shift = conditioner(mask * z)
    x = mask * z + (1 - mask) * (z * log_scale + shift)
    return x, ((1 - mask) * log_scale).sum(-1)


@CAT.mistake("coupling_forward", "forward_shift_then_scale",
             "the shift is added before scaling, so it gets scaled too; RealNVP scales the "
             "coordinate first and then shifts it.")
def coupling_forward__shift_then_scale(z, mask, conditioner):
    log_scale, shift = conditioner(mask * z)
    x = mask * z + (1 - mask) * ((z + shift) * torch.exp(log_scale))
    return x, ((1 - mask) * log_scale).sum(-1)


@CAT.mistake("coupling_forward", "forward_conditioner_sees_transformed",
             "the conditioner is fed the coordinates being transformed ((1 − mask) ⊙ z); it "
             "must see only those that pass through unchanged, or the inverse could not "
             "recompute the same scale and shift from x.")
def coupling_forward__conditioner_sees_transformed(z, mask, conditioner):
    log_scale, shift = conditioner((1 - mask) * z)
    x = mask * z + (1 - mask) * (z * torch.exp(log_scale) + shift)
    return x, ((1 - mask) * log_scale).sum(-1)


@CAT.mistake("coupling_forward", "forward_conditioner_sees_all",
             "the conditioner is fed all of z, unmasked: the scale and shift then depend on the "
             "coordinates they transform, the Jacobian is no longer triangular and the inverse "
             "cannot recompute them from x.")
def coupling_forward__conditioner_sees_all(z, mask, conditioner):
    log_scale, shift = conditioner(z)
    x = mask * z + (1 - mask) * (z * torch.exp(log_scale) + shift)
    return x, ((1 - mask) * log_scale).sum(-1)


@CAT.mistake("coupling_forward", "forward_mask_inverted",
             "the mask is read the other way round: here mask = 1 marks the coordinates that "
             "pass through unchanged and feed the conditioner, mask = 0 those that are scaled "
             "and shifted.")
def coupling_forward__mask_inverted(z, mask, conditioner):
    keep = 1 - mask
    log_scale, shift = conditioner(keep * z)
    x = keep * z + (1 - keep) * (z * torch.exp(log_scale) + shift)
    return x, ((1 - keep) * log_scale).sum(-1)


@CAT.mistake("coupling_forward", "forward_log_det_sign",
             "the log-det has the wrong sign: the forward map stretches where s > 0, so its "
             "log-det is positive there (the minus sign belongs to the inverse).")
def coupling_forward__log_det_sign(z, mask, conditioner):
    log_scale, shift = conditioner(mask * z)
    x = mask * z + (1 - mask) * (z * torch.exp(log_scale) + shift)
    return x, -((1 - mask) * log_scale).sum(-1)


@CAT.mistake("coupling_forward", "forward_log_det_over_batch",
             "the log-det was summed over the whole batch as well: each point has its own "
             "log-det, a sum over its coordinates only.")
def coupling_forward__log_det_over_batch(z, mask, conditioner):
    log_scale, shift = conditioner(mask * z)
    x = mask * z + (1 - mask) * (z * torch.exp(log_scale) + shift)
    return x, ((1 - mask) * log_scale).sum()


@CAT.mistake("coupling_forward", "forward_pass_through_not_kept",
             "the scaled-and-shifted part is not restricted to the coordinates with mask = 0, "
             "so the pass-through coordinates change too (they must come out exactly as they "
             "went in).")
def coupling_forward__pass_through_not_kept(z, mask, conditioner):
    log_scale, shift = conditioner(mask * z)
    x = mask * z + z * torch.exp(log_scale) + shift
    return x, ((1 - mask) * log_scale).sum(-1)


# ---- coupling_inverse(x, mask, conditioner) -------------------------------------------------

@CAT.mistake("coupling_inverse", "inverse_scale_sign",
             "the inverse multiplies by the scale exp(s) again; undoing a multiplication "
             "means dividing by the same scale.")
def coupling_inverse__scale_sign(x, mask, conditioner):
    log_scale, shift = conditioner(mask * x)
    z = mask * x + (1 - mask) * ((x - shift) * torch.exp(log_scale))
    return z, -((1 - mask) * log_scale).sum(-1)


@CAT.mistake("coupling_inverse", "inverse_wrong_order",
             "the steps are undone in the wrong order: the forward map scaled first and "
             "shifted second, so the inverse must take the shift away before undoing the "
             "scale.")
def coupling_inverse__wrong_order(x, mask, conditioner):
    log_scale, shift = conditioner(mask * x)
    z = mask * x + (1 - mask) * (x * torch.exp(-log_scale) - shift)
    return z, -((1 - mask) * log_scale).sum(-1)


@CAT.mistake("coupling_inverse", "inverse_log_det_sign",
             "the inverse returns the forward's log-det; the log-det of the inverse map, "
             "ln|det ∂z/∂x|, is its negative (the inverse shrinks where the forward "
             "stretches).")
def coupling_inverse__log_det_sign(x, mask, conditioner):
    log_scale, shift = conditioner(mask * x)
    z = mask * x + (1 - mask) * ((x - shift) * torch.exp(-log_scale))
    return z, ((1 - mask) * log_scale).sum(-1)


@CAT.mistake("coupling_inverse", "inverse_log_det_all_coordinates",
             "the log-det sums the log-scale over every coordinate, including those the mask "
             "passes through unchanged: their diagonal entry of the Jacobian is 1 (ln 1 = 0).")
def coupling_inverse__log_det_all_coordinates(x, mask, conditioner):
    log_scale, shift = conditioner(mask * x)
    z = mask * x + (1 - mask) * ((x - shift) * torch.exp(-log_scale))
    return z, -log_scale.sum(-1)


@CAT.mistake("coupling_inverse", "inverse_log_det_sum_exp",
             "the log-det adds up scales exp(s) instead of log-scales s: the log of a product "
             "of scales is the sum of their logs.")
def coupling_inverse__log_det_sum_exp(x, mask, conditioner):
    log_scale, shift = conditioner(mask * x)
    z = mask * x + (1 - mask) * ((x - shift) * torch.exp(-log_scale))
    return z, -((1 - mask) * torch.exp(log_scale)).sum(-1)


@CAT.mistake("coupling_inverse", "inverse_scale_without_exp",
             "the inverse divides by the log-scale s itself; the scale the forward map applied "
             "is the exponential of s.")
def coupling_inverse__scale_without_exp(x, mask, conditioner):
    log_scale, shift = conditioner(mask * x)
    z = mask * x + (1 - mask) * ((x - shift) / log_scale)
    return z, -((1 - mask) * log_scale).sum(-1)


@CAT.mistake("coupling_inverse", "inverse_conditioner_sees_transformed",
             "the conditioner is fed the transformed coordinates of x ((1 − mask) ⊙ x); the "
             "forward map computed scale and shift from the pass-through coordinates, which x "
             "still holds unchanged, so those are what the inverse must feed it.")
def coupling_inverse__conditioner_sees_transformed(x, mask, conditioner):
    log_scale, shift = conditioner((1 - mask) * x)
    z = mask * x + (1 - mask) * ((x - shift) * torch.exp(-log_scale))
    return z, -((1 - mask) * log_scale).sum(-1)


@CAT.mistake("coupling_inverse", "inverse_conditioner_sees_all",
             "the conditioner is fed all of x, unmasked; the forward map fed it only the "
             "pass-through coordinates, so the inverse gets a different scale and shift.")
def coupling_inverse__conditioner_sees_all(x, mask, conditioner):
    log_scale, shift = conditioner(x)
    z = mask * x + (1 - mask) * ((x - shift) * torch.exp(-log_scale))
    return z, -((1 - mask) * log_scale).sum(-1)


@CAT.mistake("coupling_inverse", "inverse_mask_inverted",
             "the mask is read the other way round: mask = 1 marks the coordinates that pass "
             "through unchanged and feed the conditioner, mask = 0 those to be un-scaled and "
             "un-shifted.")
def coupling_inverse__mask_inverted(x, mask, conditioner):
    keep = 1 - mask
    log_scale, shift = conditioner(keep * x)
    z = keep * x + (1 - keep) * ((x - shift) * torch.exp(-log_scale))
    return z, -((1 - keep) * log_scale).sum(-1)


@CAT.mistake("coupling_inverse", "inverse_log_det_over_batch",
             "the inverse's log-det was summed over the whole batch as well: each point x has "
             "its own ln|det ∂z/∂x|, a sum over its coordinates only.")
def coupling_inverse__log_det_over_batch(x, mask, conditioner):
    log_scale, shift = conditioner(mask * x)
    z = mask * x + (1 - mask) * ((x - shift) * torch.exp(-log_scale))
    return z, -((1 - mask) * log_scale).sum()
