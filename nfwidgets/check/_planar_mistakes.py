"""Catalogue ``"planar_layer"``: typical wrong ``u_hat(w, u)`` and ``planar_forward(z, w, u, b)``.

Each mistake is a complete wrong implementation with the learner's signature, written the way a
learner would (plain torch), so that its source can be pasted into a notebook as a mutated
submission. A wrong ``planar_forward`` calls ``u_hat`` by name; in this module that name is the
engine's ``nfwidgets.flows.planar.u_hat`` (the checker runs ``planar_forward`` only after the
learner's ``u_hat`` has passed, so the two agree).

The maths (Rezende & Mohamed 2015, eq. 10–12 and App. A.1): ``f(z) = z + û tanh(wᵀz + b)``,
``ln|det ∂f/∂z| = ln|1 + tanh′(wᵀz + b) wᵀû|``, ``û = u + (m(wᵀu) − wᵀu) w/‖w‖²``,
``m(a) = −1 + softplus(a)``.
"""

from __future__ import annotations

import torch

from nfwidgets.flows.planar import u_hat  # called by name by the mistakes below

from ._report import Catalogue

__all__ = ["CAT"]

CAT = Catalogue("planar_layer")


# ---- u_hat(w, u) ----------------------------------------------------------------------------

@CAT.mistake("u_hat", "norm_not_squared",
             "the correction along w is divided by ‖w‖ instead of ‖w‖² (the two agree only "
             "when ‖w‖ = 1), so wᵀû misses the value m(wᵀu) the reparametrisation promises.")
def u_hat__norm_not_squared(w, u):
    wtu = w @ u
    m = -1 + torch.nn.functional.softplus(wtu)
    return u + (m - wtu) * w / torch.linalg.norm(w)


@CAT.mistake("u_hat", "norm_elementwise",
             "‖w‖² is computed elementwise (w**2 without the sum), so w/‖w‖² became 1/w: "
             "‖w‖² is one number, the sum of the squares.")
def u_hat__norm_elementwise(w, u):
    wtu = w @ u
    m = -1 + torch.nn.functional.softplus(wtu)
    return u + (m - wtu) * w / w**2


@CAT.mistake("u_hat", "no_minus_one",
             "m(a) is missing its −1: with softplus alone wᵀû > 0, so the layer can never "
             "use −1 < wᵀû ≤ 0 (and û differs from the paper's).")
def u_hat__no_minus_one(w, u):
    wtu = w @ u
    m = torch.nn.functional.softplus(wtu)
    return u + (m - wtu) * w / (w @ w)


@CAT.mistake("u_hat", "forgot_minus_wtu",
             "the correction adds m(wᵀu) along w without first taking away the wᵀu that u "
             "already has along w, so wᵀû = wᵀu + m(wᵀu) instead of m(wᵀu).")
def u_hat__forgot_minus_wtu(w, u):
    wtu = w @ u
    m = -1 + torch.nn.functional.softplus(wtu)
    return u + m * w / (w @ w)


@CAT.mistake("u_hat", "correction_sign",
             "the correction has the wrong sign (wᵀu − m instead of m − wᵀu): it pushes wᵀû "
             "away from m(wᵀu) instead of onto it.")
def u_hat__correction_sign(w, u):
    wtu = w @ u
    m = -1 + torch.nn.functional.softplus(wtu)
    return u + (wtu - m) * w / (w @ w)


@CAT.mistake("u_hat", "exp_instead_of_softplus",
             "m(a) uses exp(a) where softplus(a) = ln(1 + eᵃ) belongs.")
def u_hat__exp_instead_of_softplus(w, u):
    wtu = w @ u
    m = -1 + torch.exp(wtu)
    return u + (m - wtu) * w / (w @ w)


@CAT.mistake("u_hat", "log_without_exp",
             "softplus(a) is ln(1 + eᵃ); ln(1 + a) lost the exponential (and is NaN for a < −1).")
def u_hat__log_without_exp(w, u):
    wtu = w @ u
    m = -1 + torch.log(1 + wtu)
    return u + (m - wtu) * w / (w @ w)


@CAT.mistake("u_hat", "along_u",
             "the correction points along u; it must point along w (only a change along w "
             "changes wᵀû).")
def u_hat__along_u(w, u):
    wtu = w @ u
    m = -1 + torch.nn.functional.softplus(wtu)
    return u + (m - wtu) * u / (u @ u)


@CAT.mistake("u_hat", "wtu_not_summed",
             "wᵀu is computed as w * u, a vector of products; wᵀu is one number, their sum "
             "(w @ u).")
def u_hat__wtu_not_summed(w, u):
    wtu = w * u
    m = -1 + torch.nn.functional.softplus(wtu)
    return u + (m - wtu) * w / (w @ w)


@CAT.mistake("u_hat", "no_reparametrisation",
             "û is u unchanged: without the reparametrisation wᵀû < −1 stays possible, and then "
             "the layer is not invertible.")
def u_hat__no_reparametrisation(w, u):
    return u


# ---- planar_forward(z, w, u, b) -----------------------------------------------------------

@CAT.mistake("planar_forward", "raw_u",
             "the raw u is used where û = u_hat(w, u) belongs (in x and in the log-det): "
             "without û the layer need not be invertible.")
def planar_forward__raw_u(z, w, u, b):
    a = z @ w + b
    x = z + torch.tanh(a)[:, None] * u
    psi = (1 - torch.tanh(a) ** 2)[:, None] * w
    return x, torch.log(torch.abs(1 + psi @ u))


@CAT.mistake("planar_forward", "x_u_hat_log_det_raw_u",
             "x uses û but the log-det uses the raw u: the log-det belongs to the map you "
             "applied, so both need û.")
def planar_forward__x_u_hat_log_det_raw_u(z, w, u, b):
    uh = u_hat(w, u)
    a = z @ w + b
    x = z + torch.tanh(a)[:, None] * uh
    psi = (1 - torch.tanh(a) ** 2)[:, None] * w
    return x, torch.log(torch.abs(1 + psi @ u))


@CAT.mistake("planar_forward", "x_raw_u_log_det_u_hat",
             "x uses the raw u but the log-det uses û: the map itself must use û too.")
def planar_forward__x_raw_u_log_det_u_hat(z, w, u, b):
    uh = u_hat(w, u)
    a = z @ w + b
    x = z + torch.tanh(a)[:, None] * u
    psi = (1 - torch.tanh(a) ** 2)[:, None] * w
    return x, torch.log(torch.abs(1 + psi @ uh))


@CAT.mistake("planar_forward", "b_forgotten",
             "b is missing inside tanh: the layer bends along the line wᵀz + b = 0, not "
             "wᵀz = 0.")
def planar_forward__b_forgotten(z, w, u, b):
    uh = u_hat(w, u)
    a = z @ w
    x = z + torch.tanh(a)[:, None] * uh
    psi = (1 - torch.tanh(a) ** 2)[:, None] * w
    return x, torch.log(torch.abs(1 + psi @ uh))


@CAT.mistake("planar_forward", "forgot_z",
             "x is missing the identity part: the layer adds a step û h(wᵀz + b) *to z*.")
def planar_forward__forgot_z(z, w, u, b):
    uh = u_hat(w, u)
    a = z @ w + b
    x = torch.tanh(a)[:, None] * uh
    psi = (1 - torch.tanh(a) ** 2)[:, None] * w
    return x, torch.log(torch.abs(1 + psi @ uh))


@CAT.mistake("planar_forward", "one_minus_tanh",
             "tanh′(a) is 1 − tanh²(a); 1 − tanh(a) lost the square.")
def planar_forward__one_minus_tanh(z, w, u, b):
    uh = u_hat(w, u)
    a = z @ w + b
    x = z + torch.tanh(a)[:, None] * uh
    psi = (1 - torch.tanh(a))[:, None] * w
    return x, torch.log(torch.abs(1 + psi @ uh))


@CAT.mistake("planar_forward", "psi_without_w",
             "ψ, the gradient of tanh(wᵀz + b) with respect to z, lacks the chain rule's "
             "factor w: with h′ alone the log-det adds up û's coordinates instead of "
             "taking wᵀû.")
def planar_forward__psi_without_w(z, w, u, b):
    uh = u_hat(w, u)
    a = z @ w + b
    x = z + torch.tanh(a)[:, None] * uh
    psi = (1 - torch.tanh(a) ** 2)[:, None]
    return x, torch.log(torch.abs(1 + (psi * uh).sum(1)))


@CAT.mistake("planar_forward", "missing_one",
             "the 1 that the identity contributes to det(I + û ψᵀ) is missing (matrix "
             "determinant lemma).")
def planar_forward__missing_one(z, w, u, b):
    uh = u_hat(w, u)
    a = z @ w + b
    x = z + torch.tanh(a)[:, None] * uh
    psi = (1 - torch.tanh(a) ** 2)[:, None] * w
    return x, torch.log(torch.abs(psi @ uh))


@CAT.mistake("planar_forward", "det_not_log",
             "log_det holds |det ∂x/∂z| itself: return its logarithm.")
def planar_forward__det_not_log(z, w, u, b):
    uh = u_hat(w, u)
    a = z @ w + b
    x = z + torch.tanh(a)[:, None] * uh
    psi = (1 - torch.tanh(a) ** 2)[:, None] * w
    return x, torch.abs(1 + psi @ uh)


@CAT.mistake("planar_forward", "log_det_sign",
             "the log-det has the wrong sign: the forward map returns ln|det ∂x/∂z|, not "
             "ln|det ∂z/∂x|.")
def planar_forward__log_det_sign(z, w, u, b):
    uh = u_hat(w, u)
    a = z @ w + b
    x = z + torch.tanh(a)[:, None] * uh
    psi = (1 - torch.tanh(a) ** 2)[:, None] * w
    return x, -torch.log(torch.abs(1 + psi @ uh))


@CAT.mistake("planar_forward", "log_det_summed",
             "the log-det is summed over the batch: return one value per point, shape (N,).")
def planar_forward__log_det_summed(z, w, u, b):
    uh = u_hat(w, u)
    a = z @ w + b
    x = z + torch.tanh(a)[:, None] * uh
    psi = (1 - torch.tanh(a) ** 2)[:, None] * w
    return x, torch.log(torch.abs(1 + psi @ uh)).sum()
