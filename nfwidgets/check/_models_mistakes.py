"""The typical mistakes of the exercises in lessons 09–11 (flows on data), as wrong
implementations with the learner's signature (``nfwidgets.check.models`` runs them).

Each is self-contained: torch and math, plus ``FlowVAE`` (``FlowVAE.log_prior``), which lesson
09 imports too. A value exercise (lesson 10) catalogues wrong *answers* as functions of what
the answer is computed from (the NLL in nats).
"""

from __future__ import annotations

import math

from ..models.flowvae.model import FlowVAE
from ._report import Catalogue

__all__ = ["BITS_PER_DIM", "NEGATIVE_ELBO", "PAIRWISE_AUC"]

# --- lesson 09: −ELBO of a flow VAE from its Monte Carlo parts --------------------------------
NEGATIVE_ELBO = Catalogue("lesson09_negative_elbo")
_09 = NEGATIVE_ELBO.mistake


@_09("my_negative_elbo", "log_det_sign",
     "The log-det has the wrong sign: q_K(z_K|x) = q₀(z₀|x) / |det J|, so ln q_K subtracts "
     "Σ ln|det J|.")
def my_negative_elbo__log_det_sign(p):
    return (p.log_q0 + p.sum_log_det - p.log_px_given_z - FlowVAE.log_prior(p.z_k)).mean()


@_09("my_negative_elbo", "forgot_log_det",
     "The log-det is missing: the flow changes the density of z, ln q_K(z_K|x) = ln q₀(z₀|x) "
     "− Σₖ ln|det Jₖ|.")
def my_negative_elbo__forgot_log_det(p):
    return (p.log_q0 - p.log_px_given_z - FlowVAE.log_prior(p.z_k)).mean()


@_09("my_negative_elbo", "forgot_prior",
     "The prior is missing: −ELBO also subtracts ln p(z_K) (FlowVAE.log_prior).")
def my_negative_elbo__forgot_prior(p):
    return (p.log_q0 - p.sum_log_det - p.log_px_given_z).mean()


@_09("my_negative_elbo", "prior_at_z0",
     "The prior is evaluated at z₀. The decoder and the prior both see the flow's output z_K "
     "(parts.z_k), not z₀.")
def my_negative_elbo__prior_at_z0(p):
    return (p.log_q0 - p.sum_log_det - p.log_px_given_z - FlowVAE.log_prior(p.z0)).mean()


@_09("my_negative_elbo", "prior_sign",
     "The prior has the wrong sign: −ELBO = E[ln q − ln p(x, z)], and ln p(x, z) contains "
     "+ln p(z_K).")
def my_negative_elbo__prior_sign(p):
    return (p.log_q0 - p.sum_log_det - p.log_px_given_z + FlowVAE.log_prior(p.z_k)).mean()


@_09("my_negative_elbo", "reconstruction_sign",
     "The reconstruction has the wrong sign: −ELBO adds −ln p(x|z_K), the cost of decoding x.")
def my_negative_elbo__reconstruction_sign(p):
    return (p.log_q0 - p.sum_log_det + p.log_px_given_z - FlowVAE.log_prior(p.z_k)).mean()


@_09("my_negative_elbo", "elbo",
     "That is the ELBO. The exercise asks for its negative, a loss that is ≥ −ln p(x).")
def my_negative_elbo__elbo(p):
    return -(p.log_q0 - p.sum_log_det - p.log_px_given_z - FlowVAE.log_prior(p.z_k)).mean()


@_09("my_negative_elbo", "per_draw",
     "You returned one value per draw. Return one number, their mean (the Monte Carlo "
     "estimate).")
def my_negative_elbo__per_draw(p):
    return p.log_q0 - p.sum_log_det - p.log_px_given_z - FlowVAE.log_prior(p.z_k)


# --- lesson 10: bits per dimension from the NLL in nats ---------------------------------------
BITS_PER_DIM = Catalogue("lesson10_bits_per_dim")
_10 = BITS_PER_DIM.mistake


@_10("my_bpd", "forgot_log2_17",
     "The + log₂ 17 is missing. v lives on [0, 1) and each level's interval has width 1/17, so "
     "P(k) ≥ p(v)·(1/17)^64 adds log₂ 17 bits a pixel.")
def my_bpd__forgot_log2_17(nll):
    return nll / (64 * math.log(2))


@_10("my_bpd", "nats",
     "You stayed in nats (ln instead of log₂). Divide the nats by ln 2, and use log₂ 17, not "
     "ln 17.")
def my_bpd__nats(nll):
    return nll / 64 + math.log(17)


@_10("my_bpd", "kept_nats_per_pixel",
     "You divided by 64 but kept nats: divide by ln 2 as well.")
def my_bpd__kept_nats_per_pixel(nll):
    return nll / 64 + math.log2(17)


@_10("my_bpd", "not_per_pixel",
     "You forgot to divide by the 64 pixels: bits/dim is per pixel.")
def my_bpd__not_per_pixel(nll):
    return nll / math.log(2) + math.log2(17)


@_10("my_bpd", "times_ln2",
     "You multiplied by ln 2 instead of dividing: bits = nats / ln 2.")
def my_bpd__times_ln2(nll):
    return nll * math.log(2) / 64 + math.log2(17)


@_10("my_bpd", "minus_log2_17",
     "You subtracted log₂ 17 instead of adding it. The 1/17 is the width of a level's "
     "interval, and a width costs bits.")
def my_bpd__minus_log2_17(nll):
    return nll / (64 * math.log(2)) - math.log2(17)


@_10("my_bpd", "log_likelihood",
     "You used +ln p(v), the log-likelihood. bits/dim counts −ln p(v), the code length.")
def my_bpd__log_likelihood(nll):
    return -nll / (64 * math.log(2)) + math.log2(17)


# --- lesson 11: the AUC from all (normal, outlier) pairs ------------------------------------
PAIRWISE_AUC = Catalogue("lesson11_pairwise_auc")
_11 = PAIRWISE_AUC.mistake


@_11("my_auc", "normal_higher",
     "You counted the pairs where the normal point scores higher. The AUC counts the outlier "
     "scoring higher.")
def my_auc__normal_higher(s_in, s_out):
    higher = s_in[:, None] > s_out[None, :]
    ties = s_out[None, :] == s_in[:, None]
    return (higher.double().mean() + 0.5 * ties.double().mean()).item()


@_11("my_auc", "ties_counted_fully",
     "Ties are counted one and a half times: `>=` already counts every tie as a win, and the "
     "half is added on top. Use a strict comparison.")
def my_auc__ties_counted_fully(s_in, s_out):
    higher = s_out[None, :] >= s_in[:, None]
    ties = s_out[None, :] == s_in[:, None]
    return (higher.double().mean() + 0.5 * ties.double().mean()).item()


@_11("my_auc", "paired_only",
     "You compared normal point i only with outlier i. The AUC compares every normal point "
     "with every outlier: a table of len(s_in) × len(s_out) pairs.")
def my_auc__paired_only(s_in, s_out):
    higher = s_out > s_in
    ties = s_out == s_in
    return (higher.double().mean() + 0.5 * ties.double().mean()).item()


@_11("my_auc", "counted_not_averaged",
     "You counted the pairs but did not divide by how many there are: the AUC is a fraction "
     "between 0 and 1.")
def my_auc__counted_not_averaged(s_in, s_out):
    higher = s_out[None, :] > s_in[:, None]
    ties = s_out[None, :] == s_in[:, None]
    return (higher.double().sum() + 0.5 * ties.double().sum()).item()
