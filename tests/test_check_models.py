"""nfwidgets.check.models (lessons 09–11): the solution and correct answers written differently
pass with one ✓ line and nothing on stderr; every catalogued mistake fails with its own
message; elbo_parts gives the model's own draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nfwidgets import check, data
from nfwidgets.check import CheckFailed
from nfwidgets.check._models_mistakes import BITS_PER_DIM, NEGATIVE_ELBO, PAIRWISE_AUC
from nfwidgets.models.flowvae import FlowVAE, elbo_parts
from nfwidgets.models.flowvae.grids import engine_flow

pytestmark = pytest.mark.filterwarnings("error")  # a warning would reach stderr

X = data.binarize(data.digits("test"))[4]
NLL = 92.5  # nats per image


@pytest.fixture(scope="module")
def model() -> FlowVAE:
    torch.manual_seed(0)
    return FlowVAE(layers=3, hidden=16)


def one_tick(capsys) -> str:
    out, err = capsys.readouterr()
    assert err == ""
    assert len(out.splitlines()) == 1 and out.startswith("✓ "), out
    return out


def own_message(cat, key: str, text: str) -> None:
    mistake = next(m for m in cat.mistakes if m.key == key)
    assert mistake.message in text
    assert not [m.key for m in cat.mistakes if m.key != key and m.message in text]


# --- lesson 09 -------------------------------------------------------------------------------
def elbo_solution(p):
    return (p.log_q0 - p.sum_log_det - p.log_px_given_z - FlowVAE.log_prior(p.z_k)).mean()


def elbo_written_out(p):  # −(ln p(x, z_K) − ln q_K(z_K)), the prior written out, a float
    log_prior = -0.5 * (p.z_k ** 2).sum(1) - math.log(2 * math.pi)
    return float(-(p.log_px_given_z + log_prior - (p.log_q0 - p.sum_log_det)).mean())


def elbo_numpy(p):  # four means, in NumPy
    parts = (p.log_q0, -p.sum_log_det, -p.log_px_given_z, -FlowVAE.log_prior(p.z_k))
    return np.sum([np.mean(t.numpy()) for t in parts])


def test_parts_are_the_models_draws(model: FlowVAE) -> None:
    parts = elbo_parts(model, X, 50, seed=3)
    assert parts.log_q0.shape == parts.sum_log_det.shape == (50,)
    zk, log_det = engine_flow(model, X)(parts.z0)
    torch.testing.assert_close(zk, parts.z_k)
    torch.testing.assert_close(log_det, parts.sum_log_det)
    terms = model.negative_elbo(X, 50, torch.Generator().manual_seed(3))
    torch.testing.assert_close(elbo_solution(parts), terms.total.detach()[0])
    with pytest.raises(ValueError, match="one image"):
        elbo_parts(model, data.binarize(data.digits("test"))[:2])


@pytest.mark.parametrize("fn", [elbo_solution, elbo_written_out, elbo_numpy])
def test_negative_elbo_correct_answers_pass(fn, model, capsys) -> None:
    check.negative_elbo(fn, model, X)
    one_tick(capsys)


@pytest.mark.parametrize("key", [m.key for m in NEGATIVE_ELBO.mistakes])
def test_negative_elbo_every_mistake_has_its_message(key, model, capsys) -> None:
    fn = next(m for m in NEGATIVE_ELBO.mistakes if m.key == key).function
    with pytest.raises(CheckFailed) as info:
        check.negative_elbo(fn, model, X)
    own_message(NEGATIVE_ELBO, key, str(info.value))
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("fn, words", [(lambda p: ..., "not written yet"),
                                       (lambda p: 1 / 0, "ZeroDivisionError"),
                                       (lambda p: elbo_solution(p) + 1.0, "Four terms")])
def test_negative_elbo_names_broken_answers(fn, words, model) -> None:
    with pytest.raises(CheckFailed, match=words):
        check.negative_elbo(fn, model, X)


@pytest.mark.parametrize("args, words", [
    ((3.0,), "my_negative_elbo must be your function"),
    ((elbo_solution, "vae"), "model must be a trained FlowVAE; got 'vae'"),
    ((elbo_solution, None, X[:10]), "x must have shape"),
    ((elbo_solution, None, X * 0.5), "x must hold only 0 and 1"),
    ((elbo_solution, None, None, 3), "seeds must be a tuple"),
    ((elbo_solution, None, None, (0, -1)), "seeds must be a tuple of 1 to 10 integer seeds"),
])
def test_negative_elbo_refuses_what_is_not_an_answer(args, words) -> None:
    with pytest.raises(ValueError, match=words):
        check.negative_elbo(*args)


def test_negative_elbo_defaults_to_the_shipped_model(capsys) -> None:
    check.negative_elbo(elbo_solution)
    one_tick(capsys)


# --- lesson 10 -------------------------------------------------------------------------------
@pytest.mark.parametrize("answer", [
    NLL / (64 * math.log(2)) + math.log2(17),
    torch.tensor((NLL + 64 * math.log(17)) / 64 / math.log(2)),
    np.float32((NLL + 64 * math.log(17)) / 64 / math.log(2)),
    data.bits_per_dim(NLL)])
def test_bits_per_dim_correct_answers_pass(answer, capsys) -> None:
    check.bits_per_dim(answer, NLL)
    one_tick(capsys)


def test_bits_per_dim_accepts_an_int_nll(capsys) -> None:
    check.bits_per_dim(92 / (64 * math.log(2)) + math.log2(17), 92)
    one_tick(capsys)


@pytest.mark.parametrize("key", [m.key for m in BITS_PER_DIM.mistakes])
def test_bits_per_dim_every_mistake_has_its_message(key, capsys) -> None:
    value = next(m for m in BITS_PER_DIM.mistakes if m.key == key).function(NLL)
    with pytest.raises(CheckFailed) as info:
        check.bits_per_dim(value, NLL)
    own_message(BITS_PER_DIM, key, str(info.value))
    assert "expected" in str(info.value)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("bad, words", [("two", "number"), (None, "None"), (..., "not written"),
                                        (float("nan"), "finite"), ([1.0, 2.0], "one number"),
                                        (1.0, "Three steps")])
def test_bits_per_dim_names_what_is_wrong(bad, words) -> None:
    with pytest.raises(CheckFailed, match=words):
        check.bits_per_dim(bad, NLL)


# --- lesson 11 -------------------------------------------------------------------------------
def auc_solution(s_in, s_out):
    higher = s_out[None, :] > s_in[:, None]
    ties = s_out[None, :] == s_in[:, None]
    return (higher.double().mean() + 0.5 * ties.double().mean()).item()


def auc_loop(s_in, s_out):  # a double loop, plain Python
    total = sum(1.0 if b > a else 0.5 if b == a else 0.0 for a in s_in.tolist()
                for b in s_out.tolist())
    return total / (len(s_in) * len(s_out))


def auc_sign(s_in, s_out):  # (1 + mean sign of the difference) / 2, a 0-d tensor
    return (1 + torch.sign(s_out[None, :] - s_in[:, None]).mean()) / 2


@pytest.mark.parametrize("fn", [auc_solution, auc_loop, auc_sign])
def test_pairwise_auc_correct_answers_pass(fn, capsys) -> None:
    g = torch.Generator().manual_seed(5)
    check.pairwise_auc(fn, torch.randn(30, generator=g), torch.randn(40, generator=g) + 1)
    one_tick(capsys)


@pytest.mark.parametrize("key", [m.key for m in PAIRWISE_AUC.mistakes])
def test_pairwise_auc_every_mistake_has_its_message(key, capsys) -> None:
    fn = next(m for m in PAIRWISE_AUC.mistakes if m.key == key).function
    with pytest.raises(CheckFailed) as info:
        check.pairwise_auc(fn)
    own_message(PAIRWISE_AUC, key, str(info.value))
    assert capsys.readouterr() == ("", "")


def test_the_random_cases_have_ties() -> None:
    from nfwidgets.check.models import _auc_cases

    for s_in, s_out in _auc_cases(torch.Generator().manual_seed(0)):
        assert bool((s_in[:, None] == s_out[None, :]).any())


@pytest.mark.parametrize("nll", [float("nan"), True, "92.5", 1e6, torch.tensor([92.5, 1.0])])
def test_bits_per_dim_refuses_an_nll_that_is_not_a_number_in_range(nll) -> None:
    """``nll`` is the lesson's number, not the learner's answer: refused, not judged."""
    with pytest.raises(ValueError, match=r"check.bits_per_dim: nll must be a finite number in "
                                         r"\[-10000, 10000\]"):
        check.bits_per_dim(1.0, nll)


@pytest.mark.parametrize("s_in, s_out, words", [
    (torch.zeros(3), None, "give both s_in and s_out, or neither; got only s_in"),
    (torch.zeros(3, 2), torch.zeros(3), "s_in must be a 1-D tensor of finite real scores"),
    (torch.zeros(3), torch.tensor([0.0, float("nan")]), "s_out must be a 1-D tensor"),
    (torch.zeros(3), torch.zeros(0), "s_out must be a 1-D tensor"),
])
def test_pairwise_auc_refuses_scores_it_cannot_use(s_in, s_out, words) -> None:
    with pytest.raises(ValueError, match=words):
        check.pairwise_auc(roc_auc_of, s_in, s_out)


def roc_auc_of(s_in, s_out):
    from nfwidgets.outliers import roc_auc
    return roc_auc(s_in, s_out)


def test_pairwise_auc_takes_lists_and_arrays_of_scores(capsys) -> None:
    check.pairwise_auc(roc_auc_of, [0.1, 0.5, 0.3], np.array([0.4, 0.9]))
    one_tick(capsys)
