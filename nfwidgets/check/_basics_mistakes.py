"""The typical mistakes of the exercises in lessons 00–04, as wrong implementations with the
learner's signature (``nfwidgets.check.basics`` runs them to name the misconception).

Each function is self-contained (torch and math only, plus ``ElementwiseAffine`` for lesson 04,
which the notebook imports too), so its source can be pasted into a notebook as a submission.
"""

from __future__ import annotations

import math

import torch

from ..flows.affine import ElementwiseAffine
from ._report import Catalogue

__all__ = ["AFFINE_LOG_PROB", "DENSITY_AT_IMAGE", "PLANAR_LOG_DET", "RADIAL_LOG_DET",
           "SINGLE_AFFINE"]

# --- lesson 00: log p_x of one elementwise affine layer x = z·eˢ + t ---------------------------
AFFINE_LOG_PROB = Catalogue("lesson00_affine_log_prob")
_00 = AFFINE_LOG_PROB.mistake


@_00("my_log_prob", "forward_scale",
     "Your z multiplies by eˢ again: the inverse map must undo the scaling of x = z·eˢ + t, "
     "not repeat it.")
def my_log_prob__forward_scale(x, s, t):
    z = (x - t) * torch.exp(s)
    return -0.5 * (z ** 2).sum(-1) - math.log(2 * math.pi) - s.sum()


@_00("my_log_prob", "shift_after_scale",
     "Your inverse removes the shift after undoing the scale; the shift was added last, so it "
     "must be taken off first.")
def my_log_prob__shift_after_scale(x, s, t):
    z = x * torch.exp(-s) - t
    return -0.5 * (z ** 2).sum(-1) - math.log(2 * math.pi) - s.sum()


@_00("my_log_prob", "no_normaliser",
     "log p_z(z) is missing its constant: the standard normal's log-density is −½‖z‖² plus the "
     "log of its normalising factor, which makes it integrate to 1.")
def my_log_prob__no_normaliser(x, s, t):
    z = (x - t) * torch.exp(-s)
    return -0.5 * (z ** 2).sum(-1) - s.sum()


@_00("my_log_prob", "one_dimensional_normaliser",
     "Your constant is that of a 1-D standard normal; on the plane each of the two coordinates "
     "contributes one such factor.")
def my_log_prob__one_dimensional_normaliser(x, s, t):
    z = (x - t) * torch.exp(-s)
    return -0.5 * (z ** 2).sum(-1) - 0.5 * math.log(2 * math.pi) - s.sum()


@_00("my_log_prob", "forward_log_det",
     "The sign of the log-determinant: you added log|det ∂x/∂z| of the forward map; the inverse "
     "map's log-determinant is its negative.")
def my_log_prob__forward_log_det(x, s, t):
    z = (x - t) * torch.exp(-s)
    return -0.5 * (z ** 2).sum(-1) - math.log(2 * math.pi) + s.sum()


@_00("my_log_prob", "determinant_not_log",
     "You added the determinant itself; log p needs the logarithm of |det ∂z/∂x|.")
def my_log_prob__determinant_not_log(x, s, t):
    z = (x - t) * torch.exp(-s)
    return -0.5 * (z ** 2).sum(-1) - math.log(2 * math.pi) + torch.exp(-s).prod()


@_00("my_log_prob", "no_log_det",
     "The log-determinant term is missing (or 0): squeezing or stretching the plane changes the "
     "density, so log p_x(x) is not just log p_z(f⁻¹(x)).")
def my_log_prob__no_log_det(x, s, t):
    z = (x - t) * torch.exp(-s)
    return -0.5 * (z ** 2).sum(-1) - math.log(2 * math.pi)


@_00("my_log_prob", "log_det_not_summed",
     "Your log-determinant keeps one number per coordinate; the determinant of a diagonal "
     "Jacobian is the product of its entries, so its log is one number: the sum over the "
     "coordinates.")
def my_log_prob__log_det_not_summed(x, s, t):
    z = (x - t) * torch.exp(-s)
    return -0.5 * (z ** 2).sum(-1) - math.log(2 * math.pi) + (-s)


# --- lesson 01: p_x at the image of a base point, 1-D planar map -----------------------------
DENSITY_AT_IMAGE = Catalogue("lesson01_density_at_image")
_01 = DENSITY_AT_IMAGE.mistake


def _p_z(z):
    return torch.exp(-0.5 * z ** 2) / math.sqrt(2 * math.pi)


@_01("my_density_at_image", "multiplied",
     "You multiplied by |f′|. Where the map stretches (|f′| > 1) the same probability covers a "
     "longer interval, so the density must fall, not rise.")
def my_density_at_image__multiplied(z, w, u_hat, b):
    fprime = 1 + w * u_hat * (1 - torch.tanh(w * z + b) ** 2)
    return torch.exp(-0.5 * z ** 2) / math.sqrt(2 * math.pi) * fprime.abs()


@_01("my_density_at_image", "no_factor",
     "That is p_z(z) itself: the factor that accounts for the stretch of the map is missing.")
def my_density_at_image__no_factor(z, w, u_hat, b):
    return torch.exp(-0.5 * z ** 2) / math.sqrt(2 * math.pi)


@_01("my_density_at_image", "chain_rule_w",
     "Chain rule: the derivative of tanh(wz + b) with respect to z carries the inner "
     "derivative w; your f′ lacks it.")
def my_density_at_image__chain_rule_w(z, w, u_hat, b):
    fprime = 1 + u_hat * (1 - torch.tanh(w * z + b) ** 2)
    return torch.exp(-0.5 * z ** 2) / math.sqrt(2 * math.pi) / fprime.abs()


@_01("my_density_at_image", "tanh_not_derivative",
     "Your f′ uses tanh itself where its derivative belongs.")
def my_density_at_image__tanh_not_derivative(z, w, u_hat, b):
    fprime = 1 + w * u_hat * torch.tanh(w * z + b)
    return torch.exp(-0.5 * z ** 2) / math.sqrt(2 * math.pi) / fprime.abs()


@_01("my_density_at_image", "derivative_not_squared",
     "The derivative of tanh(a) is 1 − tanh²(a): your f′ forgets the square.")
def my_density_at_image__derivative_not_squared(z, w, u_hat, b):
    fprime = 1 + w * u_hat * (1 - torch.tanh(w * z + b))
    return torch.exp(-0.5 * z ** 2) / math.sqrt(2 * math.pi) / fprime.abs()


@_01("my_density_at_image", "b_missing",
     "Your f′ ignores b: the map is z + û tanh(wz + b), so the slope of tanh is taken at "
     "wz + b.")
def my_density_at_image__b_missing(z, w, u_hat, b):
    fprime = 1 + w * u_hat * (1 - torch.tanh(w * z) ** 2)
    return torch.exp(-0.5 * z ** 2) / math.sqrt(2 * math.pi) / fprime.abs()


@_01("my_density_at_image", "log_density",
     "That is log p_x(f(z)); the function should return the density itself.")
def my_density_at_image__log_density(z, w, u_hat, b):
    fprime = 1 + w * u_hat * (1 - torch.tanh(w * z + b) ** 2)
    return -0.5 * z ** 2 - 0.5 * math.log(2 * math.pi) - torch.log(fprime.abs())


# --- lesson 02: log|det J| of a planar layer ----------------------------------------------
PLANAR_LOG_DET = Catalogue("lesson02_planar_log_det")
_02 = PLANAR_LOG_DET.mistake


@_02("my_log_det", "derivative_one",
     "Your tanh′ is 1 everywhere. That holds only on the line wᵀz + b = 0; away from it the "
     "slope of tanh is smaller.")
def my_log_det__derivative_one(layer, z):
    w, u_hat = layer.w.detach(), layer.u_hat.detach()
    return torch.log(torch.abs(1 + (w @ u_hat)).expand(z.shape[0]))


@_02("my_log_det", "derivative_not_squared",
     "The derivative of tanh(a) is 1 − tanh²(a): your tanh′ forgets the square.")
def my_log_det__derivative_not_squared(layer, z):
    w, b, u_hat = layer.w.detach(), layer.b.detach(), layer.u_hat.detach()
    a = z @ w + b
    return torch.log(torch.abs(1 + (1 - torch.tanh(a)) * (w @ u_hat)))


@_02("my_log_det", "sech_not_squared",
     "Your tanh′ is sech(a) = 1/cosh(a); the derivative of tanh is sech²(a).")
def my_log_det__sech_not_squared(layer, z):
    w, b, u_hat = layer.w.detach(), layer.b.detach(), layer.u_hat.detach()
    a = z @ w + b
    return torch.log(torch.abs(1 + (1 / torch.cosh(a)) * (w @ u_hat)))


@_02("my_log_det", "tanh_not_derivative",
     "Your tanh′ is tanh(a) itself, not its derivative.")
def my_log_det__tanh_not_derivative(layer, z):
    w, b, u_hat = layer.w.detach(), layer.b.detach(), layer.u_hat.detach()
    a = z @ w + b
    return torch.log(torch.abs(1 + torch.tanh(a) * (w @ u_hat)))


@_02("my_log_det", "raw_u",
     "You used the raw u. The constrained layer moves points along û (layer.u_hat), which the "
     "reparametrisation chose so that wᵀû > −1.")
def my_log_det__raw_u(layer, z):
    w, b, u = layer.w.detach(), layer.b.detach(), layer.u.detach()
    a = z @ w + b
    return torch.log(torch.abs(1 + (1 - torch.tanh(a) ** 2) * (w @ u)))


@_02("my_log_det", "no_abs",
     "The log of a negative number: where the layer folds (wᵀû < −1) det J is negative; the "
     "density uses its absolute value.")
def my_log_det__no_abs(layer, z):
    w, b, u_hat = layer.w.detach(), layer.b.detach(), layer.u_hat.detach()
    a = z @ w + b
    return torch.log(1 + (1 - torch.tanh(a) ** 2) * (w @ u_hat))


@_02("my_log_det", "b_missing",
     "Your a ignores b: the slope of tanh is taken at a = wᵀz + b.")
def my_log_det__b_missing(layer, z):
    w, u_hat = layer.w.detach(), layer.u_hat.detach()
    a = z @ w
    return torch.log(torch.abs(1 + (1 - torch.tanh(a) ** 2) * (w @ u_hat)))


@_02("my_log_det", "not_log",
     "That is |det J| itself; the function should return its logarithm.")
def my_log_det__not_log(layer, z):
    w, b, u_hat = layer.w.detach(), layer.b.detach(), layer.u_hat.detach()
    a = z @ w + b
    return torch.abs(1 + (1 - torch.tanh(a) ** 2) * (w @ u_hat))


# --- lesson 03: log|det J| of a radial layer ----------------------------------------------
RADIAL_LOG_DET = Catalogue("lesson03_radial_log_det")
_03 = RADIAL_LOG_DET.mistake


@_03("my_log_det", "along_only",
     "That is only the stretch along the ray. In 2-D there is one more direction, across the "
     "ray, where a circle around z₀ is scaled too.")
def my_log_det__along_only(layer, z):
    z0, alpha, beta_hat = layer.z0.detach(), layer.alpha.detach(), layer.beta_hat.detach()
    r = torch.linalg.vector_norm(z - z0, dim=-1)
    h = 1 / (alpha + r)
    return torch.log(1 + beta_hat * h - beta_hat * h ** 2 * r)


@_03("my_log_det", "across_only",
     "That is only the stretch across the ray; the distance from z₀ is stretched too (along "
     "the ray), by the derivative of r ↦ r(1 + β̂h(r)).")
def my_log_det__across_only(layer, z):
    z0, alpha, beta_hat = layer.z0.detach(), layer.alpha.detach(), layer.beta_hat.detach()
    r = torch.linalg.vector_norm(z - z0, dim=-1)
    h = 1 / (alpha + r)
    return torch.log(1 + beta_hat * h)


@_03("my_log_det", "across_twice",
     "You counted the stretch across the ray twice: a ray in d dimensions has d − 1 directions "
     "across it, and the plane has d = 2.")
def my_log_det__across_twice(layer, z):
    z0, alpha, beta_hat = layer.z0.detach(), layer.alpha.detach(), layer.beta_hat.detach()
    r = torch.linalg.vector_norm(z - z0, dim=-1)
    h = 1 / (alpha + r)
    return 2 * torch.log(1 + beta_hat * h) + torch.log(1 + beta_hat * h - beta_hat * h ** 2 * r)


@_03("my_log_det", "raw_beta",
     "You used the raw β. The constrained layer uses β̂ = −α + softplus(β) (layer.beta_hat).")
def my_log_det__raw_beta(layer, z):
    z0, alpha, beta = layer.z0.detach(), layer.alpha.detach(), layer.beta.detach()
    r = torch.linalg.vector_norm(z - z0, dim=-1)
    h = 1 / (alpha + r)
    return torch.log(1 + beta * h) + torch.log(1 + beta * h - beta * h ** 2 * r)


@_03("my_log_det", "h_prime_sign",
     "The sign of h′: h = 1/(α + r) falls with r, so h′ = −h² is negative.")
def my_log_det__h_prime_sign(layer, z):
    z0, alpha, beta_hat = layer.z0.detach(), layer.alpha.detach(), layer.beta_hat.detach()
    r = torch.linalg.vector_norm(z - z0, dim=-1)
    h = 1 / (alpha + r)
    return torch.log(1 + beta_hat * h) + torch.log(1 + beta_hat * h + beta_hat * h ** 2 * r)


@_03("my_log_det", "h_prime_not_squared",
     "Your h′ is −h; the derivative of 1/(α + r) is −1/(α + r)² = −h².")
def my_log_det__h_prime_not_squared(layer, z):
    z0, alpha, beta_hat = layer.z0.detach(), layer.alpha.detach(), layer.beta_hat.detach()
    r = torch.linalg.vector_norm(z - z0, dim=-1)
    h = 1 / (alpha + r)
    return torch.log(1 + beta_hat * h) + torch.log(1 + beta_hat * h - beta_hat * h * r)


@_03("my_log_det", "r_squared",
     "Your r is the squared distance ‖z − z₀‖²; the layer uses the distance itself.")
def my_log_det__r_squared(layer, z):
    z0, alpha, beta_hat = layer.z0.detach(), layer.alpha.detach(), layer.beta_hat.detach()
    r = ((z - z0) ** 2).sum(-1)
    h = 1 / (alpha + r)
    return torch.log(1 + beta_hat * h) + torch.log(1 + beta_hat * h - beta_hat * h ** 2 * r)


# --- lesson 04: one elementwise affine layer equal to a stack -------------------------------
SINGLE_AFFINE = Catalogue("lesson04_single_affine")
_04 = SINGLE_AFFINE.mistake


@_04("my_single_layer", "shifts_summed",
     "The shifts do not simply add up: every later layer also scales the shifts added before "
     "it.")
def my_single_layer__shifts_summed(flow):
    s = sum(layer.log_scale.detach() for layer in flow.layers)
    t = sum(layer.shift.detach() for layer in flow.layers)
    return ElementwiseAffine(log_scale=s, shift=t)


@_04("my_single_layer", "reversed_order",
     "You composed the layers in reverse order: flow.layers[0] acts first on z, the last layer "
     "acts last.")
def my_single_layer__reversed_order(flow):
    s = sum(layer.log_scale.detach() for layer in flow.layers)
    t = torch.zeros_like(s)
    for layer in reversed(list(flow.layers)):
        t = t * torch.exp(layer.log_scale.detach()) + layer.shift.detach()
    return ElementwiseAffine(log_scale=s, shift=t)


@_04("my_single_layer", "own_shift_scaled",
     "Each layer scales first and then adds its own shift (x = z·eˢ + t): your composition also "
     "scales each layer's shift by that layer's own scale.")
def my_single_layer__own_shift_scaled(flow):
    s = sum(layer.log_scale.detach() for layer in flow.layers)
    t = torch.zeros_like(s)
    for layer in flow.layers:
        t = (t + layer.shift.detach()) * torch.exp(layer.log_scale.detach())
    return ElementwiseAffine(log_scale=s, shift=t)


@_04("my_single_layer", "scale_not_log",
     "ElementwiseAffine takes log-scales: you passed the scale factors themselves.")
def my_single_layer__scale_not_log(flow):
    s = sum(layer.log_scale.detach() for layer in flow.layers)
    t = torch.zeros_like(s)
    for layer in flow.layers:
        t = t * torch.exp(layer.log_scale.detach()) + layer.shift.detach()
    return ElementwiseAffine(log_scale=torch.exp(s), shift=t)


@_04("my_single_layer", "mean_log_scale",
     "You averaged the log-scales. The scale factors multiply, so their logs add up.")
def my_single_layer__mean_log_scale(flow):
    s = sum(layer.log_scale.detach() for layer in flow.layers) / len(flow.layers)
    t = torch.zeros_like(s)
    for layer in flow.layers:
        t = t * torch.exp(layer.log_scale.detach()) + layer.shift.detach()
    return ElementwiseAffine(log_scale=s, shift=t)
