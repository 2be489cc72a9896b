"""Lesson 08's exercise: assemble the negative ELBO of a flow VAE from its parts, with checked
feedback that names the usual mistake.

The learner gets ``ElboParts`` (Monte Carlo draws for one image) and writes
``fn(parts) -> −ELBO`` (one number, the mean over the draws); ``check_negative_elbo(fn)``
compares it with

.. math:: -\\text{ELBO} = \\overline{\\ln q_0(z_0|x) - \\textstyle\\sum_k \\ln|\\det J_k|
          - \\ln p(x|z_K) - \\ln p(z_K)}

(Rezende & Mohamed 2015, eq. 15) on several draws and, when it differs, with the typical
wrong versions: the log-det's sign, ``ln p(z_K)`` forgotten or evaluated at ``z₀``, the
log-det forgotten, the ELBO instead of its negative.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from .model import FlowVAE

__all__ = ["ElboParts", "Feedback", "check_negative_elbo", "elbo_parts", "negative_elbo_solution"]


@dataclass(frozen=True)
class ElboParts:
    """S draws for one image x (tensors; z's shape (S, D), the rest (S,)):
    ``z0 ~ q₀(·|x)``, ``z_k`` its image under the x's K layers, ``log_q0 = ln q₀(z₀|x)``,
    ``sum_log_det = Σₖ ln|det Jₖ|``, ``log_px_given_z = ln p(x|z_K)``. ``FlowVAE.log_prior``
    gives ``ln p(z)`` of the standard normal prior."""

    z0: Tensor
    z_k: Tensor
    log_q0: Tensor
    sum_log_det: Tensor
    log_px_given_z: Tensor


@dataclass(frozen=True)
class Feedback:
    """``ok``: the answer is right; ``message``: what was expected, what came, the likely slip."""

    ok: bool
    message: str

    def __str__(self) -> str:
        return self.message


@torch.no_grad()
def elbo_parts(model: FlowVAE, x: Tensor, n_samples: int = 1000, seed: int = 0) -> ElboParts:
    """``n_samples`` draws of the parts of −ELBO for the single image ``x`` (64,)."""
    gen = torch.Generator().manual_seed(seed)
    x = x.reshape(1, -1) if x.ndim == 1 else x
    if x.shape[0] != 1:
        raise ValueError(f"give one image (64,); got {x.shape[0]}")
    z0, z_k, log_q0, sld, log_px = model._samples(x, n_samples, gen)  # negative_elbo's draws
    return ElboParts(z0=z0[:, 0], z_k=z_k[:, 0], log_q0=log_q0, sum_log_det=sld[:, 0],
                     log_px_given_z=log_px[:, 0])


def negative_elbo_solution(p: ElboParts) -> Tensor:
    """The reference: ``mean(ln q₀ − Σ ln|det J| − ln p(x|z_K) − ln p(z_K))``."""
    return (p.log_q0 - p.sum_log_det - p.log_px_given_z - FlowVAE.log_prior(p.z_k)).mean()


def _mistakes(p: ElboParts) -> dict[str, Tensor]:
    prior_k, prior_0 = FlowVAE.log_prior(p.z_k), FlowVAE.log_prior(p.z0)
    q, ld, rec = p.log_q0, p.sum_log_det, -p.log_px_given_z
    return {
        "The log-det has the wrong sign: q_K(z_K|x) = q₀(z₀|x) / |det J|, so ln q_K = "
        "ln q₀ − Σ ln|det J| (subtract it).": (q + ld + rec - prior_k).mean(),
        "The log-det is missing: ln q_K(z_K|x) = ln q₀(z₀|x) − Σₖ ln|det Jₖ|.":
            (q + rec - prior_k).mean(),
        "The prior is missing: subtract ln p(z_K) (FlowVAE.log_prior(parts.z_k)).":
            (q - ld + rec).mean(),
        "The prior is evaluated at z₀: the decoder and the prior see the flow's output z_K "
        "(parts.z_k), not z₀.": (q - ld + rec - prior_0).mean(),
        "The prior has the wrong sign: −ELBO subtracts ln p(z_K).": (q - ld + rec + prior_k).mean(),
        "The reconstruction has the wrong sign: −ELBO adds −ln p(x|z_K).":
            (q - ld - rec - prior_k).mean(),
        "That is the ELBO; the exercise asks for its negative (a loss, ≥ −ln p(x)).":
            -(q - ld + rec - prior_k).mean(),
    }


def check_negative_elbo(fn: Callable[[ElboParts], object], model: FlowVAE | None = None,
                        x: Tensor | None = None, seeds: tuple[int, ...] = (0, 1, 2),
                        verbose: bool = True) -> Feedback:
    """Check ``fn(parts)`` against the reference on draws of several ``seeds`` (default model:
    the shipped ``flowvae-digits``; default image: test digit 0); prints and returns the
    ``Feedback``."""
    if model is None:
        from ..pretrained import load_pretrained

        model = load_pretrained("flowvae-digits")
    if x is None:
        from ...data import binarize, digits

        x = binarize(digits("test"))[0]
    feedback = _judge(fn, [elbo_parts(model, x, 500, s) for s in seeds])
    if verbose:
        print(feedback.message)
    return feedback


def _judge(fn: Callable[[ElboParts], object], draws: list[ElboParts]) -> Feedback:
    if not callable(fn):
        return Feedback(False, f"Not yet: pass a function parts -> −ELBO; got "
                               f"{type(fn).__name__}.")
    for parts in draws:
        expected = float(negative_elbo_solution(parts))
        try:
            got = fn(parts)
        except Exception as err:  # the learner's code: report, don't raise
            return Feedback(False, f"Not yet: your function raised {type(err).__name__}: {err}")
        if got is ... or got is None:
            return Feedback(False, "Not yet: your function returns nothing yet (replace the "
                                   "... with the formula).")
        try:
            value = torch.as_tensor(got, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            return Feedback(False, f"Not yet: return a number; got {type(got).__name__}.")
        if value.numel() != 1:
            return Feedback(False, f"Not yet: return one number, the mean over the "
                                   f"{parts.log_q0.shape[0]} draws; got shape "
                                   f"{tuple(value.shape)} (add .mean()).")
        value = float(value)
        if abs(value - expected) <= 1e-4 * (1.0 + abs(expected)):
            continue
        for hint, wrong in _mistakes(parts).items():
            if abs(value - float(wrong)) <= 1e-4 * (1.0 + abs(float(wrong))):
                return Feedback(False, f"Not yet: expected −ELBO = {expected:.3f}, you got "
                                       f"{value:.3f}. {hint}")
        return Feedback(False, f"Not yet: expected −ELBO = {expected:.3f}, you got "
                               f"{value:.3f}. Four terms, averaged over the draws: "
                               "ln q₀ − Σ ln|det J| − ln p(x|z_K) − ln p(z_K).")
    return Feedback(True, f"Correct: −ELBO = {expected:.3f} nats for this draw; its four "
                          "terms are exactly what FlowVAE.negative_elbo returns.")
