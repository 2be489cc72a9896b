"""Lesson 08's checker: the solution and a differently written correct answer pass; each
typical mistake gets its own message."""

from __future__ import annotations

import math

import pytest
import torch

from nfwidgets.data import binarize, digits
from nfwidgets.models.flowvae import FlowVAE
from nfwidgets.models.flowvae.exercises import (
    check_negative_elbo,
    elbo_parts,
    negative_elbo_solution,
)
from nfwidgets.models.flowvae.grids import engine_flow

X = binarize(digits("test"))[4]


@pytest.fixture(scope="module")
def model() -> FlowVAE:
    torch.manual_seed(0)
    return FlowVAE(layers=3, hidden=16)


def _check(fn, model):
    return check_negative_elbo(fn, model, X, verbose=False)


def test_parts_are_the_models_draws(model: FlowVAE) -> None:
    parts = elbo_parts(model, X, 50, seed=3)
    zk, log_det = engine_flow(model, X)(parts.z0)
    torch.testing.assert_close(zk, parts.z_k)
    torch.testing.assert_close(log_det, parts.sum_log_det)
    terms = model.negative_elbo(X, 50, torch.Generator().manual_seed(3))
    torch.testing.assert_close(negative_elbo_solution(parts), terms.total.detach()[0])


def test_solution_and_a_variant_pass(model: FlowVAE) -> None:
    assert _check(negative_elbo_solution, model).ok

    def variant(p):  # −(ln p(x, z_K) − ln q_K(z_K)), with the prior written out
        log_prior = -0.5 * (p.z_k ** 2).sum(1) - math.log(2 * math.pi)
        log_qk = p.log_q0 - p.sum_log_det
        return float(-(p.log_px_given_z + log_prior - log_qk).mean())

    assert _check(variant, model).ok


MISTAKES = {
    "wrong sign": lambda p: (p.log_q0 + p.sum_log_det - p.log_px_given_z
                             - FlowVAE.log_prior(p.z_k)).mean(),
    "log-det is missing": lambda p: (p.log_q0 - p.log_px_given_z
                                     - FlowVAE.log_prior(p.z_k)).mean(),
    "prior is missing": lambda p: (p.log_q0 - p.sum_log_det - p.log_px_given_z).mean(),
    "evaluated at z₀": lambda p: (p.log_q0 - p.sum_log_det - p.log_px_given_z
                                  - FlowVAE.log_prior(p.z0)).mean(),
    "That is the ELBO": lambda p: -negative_elbo_solution(p),
    "reconstruction has the wrong": lambda p: (p.log_q0 - p.sum_log_det + p.log_px_given_z
                                               - FlowVAE.log_prior(p.z_k)).mean(),
    "prior has the wrong": lambda p: (p.log_q0 - p.sum_log_det - p.log_px_given_z
                                      + FlowVAE.log_prior(p.z_k)).mean(),
    "add .mean()": lambda p: p.log_q0 - p.sum_log_det - p.log_px_given_z
                             - FlowVAE.log_prior(p.z_k),
    "returns nothing": lambda p: ...,
    "raised ZeroDivisionError": lambda p: 1 / 0,
    "Four terms": lambda p: negative_elbo_solution(p) + 1.0,
}


@pytest.mark.parametrize("word", sorted(MISTAKES))
def test_each_mistake_gets_its_message(model: FlowVAE, word: str) -> None:
    feedback = _check(MISTAKES[word], model)
    assert not feedback.ok
    assert word in feedback.message, feedback.message


def test_not_a_function(model: FlowVAE) -> None:
    feedback = _check(3.0, model)
    assert not feedback.ok and "function" in feedback.message
