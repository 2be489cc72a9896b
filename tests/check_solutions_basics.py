"""Solutions of the lessons 00–04 exercises, and correct answers written differently (the
checks of ``nfwidgets.check.basics`` must accept them all)."""

from __future__ import annotations

import math

import numpy as np
import torch

from nfwidgets import ElementwiseAffine


# --- lesson 00 ---------------------------------------------------------------------------
def my_log_prob(x, s, t):
    z = (x - t) * torch.exp(-s)
    log_base = -0.5 * (z ** 2).sum(-1) - math.log(2 * math.pi)
    log_det_inverse = -s.sum()
    return log_base + log_det_inverse


def my_log_prob__divide_and_loop(x, s, t):
    out = []
    for point in x:  # a loop over points, division instead of exp(-s), a python float result
        z = (point - t) / torch.exp(s)
        out.append(float(-0.5 * (z @ z) - math.log(2 * math.pi) - s[0] - s[1]))
    return out


def my_log_prob__numpy(x, s, t):
    x, s, t = x.double().numpy(), s.double().numpy(), t.double().numpy()
    z = (x - t) * np.exp(-s)
    return np.sum(-0.5 * z ** 2 - 0.5 * np.log(2 * np.pi) - s, axis=-1)


# --- lesson 01 ---------------------------------------------------------------------------
def my_density_at_image(z, w, u_hat, b):
    fprime = 1 + w * u_hat * (1 - torch.tanh(w * z + b) ** 2)
    return torch.exp(-0.5 * z ** 2) / math.sqrt(2 * math.pi) / fprime.abs()


def my_density_at_image__cosh(z, w, u_hat, b):
    fprime = 1 + w * u_hat / torch.cosh(w * z + b) ** 2  # sech² written with cosh
    return torch.exp(-0.5 * z ** 2 - torch.log(fprime)) / (2 * math.pi) ** 0.5


# --- lesson 02 ---------------------------------------------------------------------------
def planar_log_det(layer, z):
    w, b, u_hat = layer.w.detach(), layer.b.detach(), layer.u_hat.detach()
    a = z @ w + b
    derivative = 1 - torch.tanh(a) ** 2
    return torch.log(torch.abs(1 + derivative * (w @ u_hat)))


def planar_log_det__loop(layer, z):
    w, b, u_hat = layer.w.detach(), float(layer.b), layer.u_hat.detach()
    out = torch.empty(z.shape[0], dtype=z.dtype)
    for i in range(z.shape[0]):
        a = float(w[0] * z[i, 0] + w[1] * z[i, 1]) + b
        out[i] = math.log(abs(1 + (1 / math.cosh(a)) ** 2 * float(w @ u_hat)))
    return out


# --- lesson 03 ---------------------------------------------------------------------------
def radial_log_det(layer, z):
    z0, alpha, beta_hat = layer.z0.detach(), layer.alpha.detach(), layer.beta_hat.detach()
    r = torch.linalg.vector_norm(z - z0, dim=-1)
    h = 1 / (alpha + r)
    across = torch.log(1 + beta_hat * h)
    along = torch.log(1 + beta_hat * h + beta_hat * (-h ** 2) * r)
    return across + along


def radial_log_det__alpha_form(layer, z):
    z0, alpha, beta_hat = layer.z0.detach(), layer.alpha.detach(), layer.beta_hat.detach()
    r = ((z - z0) ** 2).sum(-1).sqrt()
    h = 1 / (alpha + r)
    return torch.log1p(beta_hat * h) + torch.log1p(alpha * beta_hat / (alpha + r) ** 2)


# --- lesson 04 ---------------------------------------------------------------------------
def my_single_layer(flow):
    s = sum(layer.log_scale.detach() for layer in flow.layers)
    t = torch.zeros(2, dtype=torch.float64)
    for layer in flow.layers:
        t = t * torch.exp(layer.log_scale.detach()) + layer.shift.detach()
    return ElementwiseAffine(log_scale=s, shift=t)


def my_single_layer__image_of_origin(flow):
    with torch.no_grad():
        t = flow(torch.zeros(1, 2, dtype=torch.float64))[0][0]
    s = torch.stack([layer.log_scale.detach() for layer in flow.layers]).sum(0)
    return ElementwiseAffine(log_scale=s.tolist(), shift=t.tolist())  # lists, not tensors


SOLUTIONS = {
    "affine_log_prob": [my_log_prob, my_log_prob__divide_and_loop, my_log_prob__numpy],
    "density_at_image": [my_density_at_image, my_density_at_image__cosh],
    "planar_log_det": [planar_log_det, planar_log_det__loop],
    "radial_log_det": [radial_log_det, radial_log_det__alpha_form],
    "single_affine": [my_single_layer, my_single_layer__image_of_origin],
}


# --- the widget tasks (nfwidgets.check.widget_tasks): control steps from the lesson's state ----
#: task → list of solutions, each a tuple of (method, *args, kwargs) calls on the widget.
WIDGET_SOLUTIONS = {
    "pile_up": [
        (("set", {"kind": "planar", "w": 2.0, "u": -1.0, "b": -2.0}),),
        (("set", {"kind": "planar", "w": -2.0, "u": 1.5, "b": 2.0}),),  # both signs flipped
    ],
    "fold_line": [
        (("set", {"constrain": False, "w1": 0.0, "w2": 2.0, "u1": 0.0, "u2": -1.0,
                  "b": -2.0}),),
        (("set", {"constrain": False, "w1": 0.0, "w2": -1.0, "u1": 0.5, "u2": 2.0,
                  "b": 1.0}),),  # w pointing down, u with a sideways part
    ],
    "mass_pushed_out": [
        (("set", {"z0_1": 0.0, "z0_2": 0.0, "beta": 5.0}),),
        (("set", {"constrain": False, "z0_1": 0.0, "z0_2": 0.0, "alpha": 1.0,
                  "beta": 4.0}),),  # unconstrained but β ≥ −α: still invertible
    ],
    "area_kept": [
        (("edit_layer", 4, {"log_scale1": 0.2, "log_scale2": 0.2}),),
        (("edit_layer", 4, {"log_scale1": 0.7, "log_scale2": -0.3}),),  # each coordinate 0
    ],
}
