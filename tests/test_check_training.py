"""nfwidgets.check.training (lessons 05–08): the solution and correct answers written
differently pass with one ✓ line and nothing on stderr; every catalogued mistake fails with its
own message; malformed answers are named."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nfwidgets import check
from nfwidgets.check import CheckFailed
from nfwidgets.check._training_mistakes import (
    ANNEALED_OBJECTIVE,
    AVERAGE_NLL,
    COUPLING_INVERSE,
    ONE_LOBE_FREE_ENERGY,
)
from nfwidgets.targets import energy

pytestmark = pytest.mark.filterwarnings("error")  # a warning would reach stderr

U1 = energy("U1")


# --- correct answers, written several ways -----------------------------------------------------
def inverse_solution(layer, x):
    x1, x2 = x[:, :1], x[:, 1:]
    s_and_t = layer.conditioner(x1)
    return torch.cat([x1, (x2 - s_and_t[1]) * torch.exp(-s_and_t[0])], dim=1)


def inverse_divide(layer, x):  # divides by exp(ℓ), builds z with stack, in NumPy
    s, t = layer.conditioner(x[:, :1])
    z2 = (x[:, 1:] - t) / torch.exp(s)
    return np.stack([x[:, 0].numpy(), z2[:, 0].numpy()], axis=1)


def inverse_loop(layer, x):  # one point at a time, float64 inside
    rows = []
    for p in x.double():
        s, t = layer.conditioner(p[:1].reshape(1, 1).to(x.dtype))
        rows.append([float(p[0]), float((p[1] - t.double()) * torch.exp(-s.double()))])
    return torch.tensor(rows)


def nll_solution(flow, x):
    with torch.no_grad():
        log_q = flow.log_prob(x)
    return -log_q.mean().item()


def nll_tensor(flow, x):  # a 0-d tensor
    return -flow.log_prob(x).mean()


def nll_numpy(flow, x):  # a NumPy float from a sum divided by N
    return np.float64(-flow.log_prob(x).double().sum().numpy() / x.shape[0])


def objective_solution(log_q, u, beta):
    return (log_q + beta * u).mean()


def objective_float(log_q, u, beta):  # a Python float from a loop
    return sum(float(a) + beta * float(b) for a, b in zip(log_q, u, strict=True)) / len(u)


def objective_numpy(log_q, u, beta):  # NumPy, written as two means
    return np.mean(log_q.numpy()) + beta * np.mean(u.numpy())


SOLUTIONS = {
    "coupling_inverse": [inverse_solution, inverse_divide, inverse_loop],
    "average_nll": [nll_solution, nll_tensor, nll_numpy],
    "annealed_objective": [objective_solution, objective_float, objective_numpy],
}
CATALOGUES = {"coupling_inverse": COUPLING_INVERSE, "average_nll": AVERAGE_NLL,
              "annealed_objective": ANNEALED_OBJECTIVE}


def one_tick(capsys) -> str:
    out, err = capsys.readouterr()
    assert err == ""
    assert len(out.splitlines()) == 1 and out.startswith("✓ "), out
    return out


@pytest.mark.parametrize("name, fn", [(n, f) for n, fs in SOLUTIONS.items() for f in fs],
                         ids=lambda v: getattr(v, "__name__", v))
def test_correct_answers_pass_with_one_tick(name, fn, capsys) -> None:
    capsys.readouterr()
    getattr(check, name)(fn)
    one_tick(capsys)


@pytest.mark.parametrize("name, key", [(n, m.key) for n, c in CATALOGUES.items()
                                       for m in c.mistakes])
def test_every_mistake_fails_with_its_own_message(name, key, capsys) -> None:
    cat = CATALOGUES[name]
    mistake = next(m for m in cat.mistakes if m.key == key)
    capsys.readouterr()
    with pytest.raises(CheckFailed) as info:
        getattr(check, name)(mistake.function)
    text = str(info.value)
    assert mistake.message in text
    assert not [m.key for m in cat.mistakes if m.key != key and m.message in text]
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("name", sorted(SOLUTIONS))
def test_unwritten_and_broken_code_is_named(name) -> None:
    def unwritten(*args):
        return ...

    def half_written(*args):
        value = ...
        return value + 1

    def none(*args):
        return None

    for fn, words in ((unwritten, "not written yet"), (half_written, "not written yet"),
                      (none, "None")):
        with pytest.raises(CheckFailed, match=words):
            getattr(check, name)(fn)
    with pytest.raises(ValueError, match=r"must be your function .*; got 'text'"):
        getattr(check, name)("text")  # not an answer at all: refused, not judged


def test_an_unknown_wrong_answer_gets_the_hint_and_the_numbers() -> None:
    with pytest.raises(CheckFailed, match=r"expected .* got .*\n.*mean"):
        check.annealed_objective(lambda log_q, u, beta: (log_q + beta * u).mean() + 0.1)
    with pytest.raises(CheckFailed, match=r"expected z = .*got"):
        check.coupling_inverse(lambda layer, x: inverse_solution(layer, x) * 1.01)


def test_average_nll_is_checked_on_the_lessons_flow_too(capsys) -> None:
    from nfwidgets.training_setup import make_flow

    flow = make_flow("coupling", 2, seed=0)
    x = torch.randn(30, 2, generator=torch.Generator().manual_seed(0))
    check.average_nll(nll_solution, flow, x)
    assert "lesson's flow" in one_tick(capsys)


# --- lesson 08: a value --------------------------------------------------------------------
@pytest.mark.parametrize("answer", [
    math.log(2) - U1.log_z, torch.tensor(math.log(2) - U1.log_z),
    torch.tensor([math.log(2) - U1.log_z], dtype=torch.float64),
    np.float64(math.log(2) - U1.log_z), np.log(2) - np.float64(U1.log_z)])
def test_one_lobe_free_energy_accepts_any_number_type(answer, capsys) -> None:
    check.one_lobe_free_energy(answer, U1)
    one_tick(capsys)


def test_an_int_is_judged_by_its_value() -> None:
    with pytest.raises(CheckFailed, match="not the F"):
        check.one_lobe_free_energy(-1, U1)


@pytest.mark.parametrize("key", [m.key for m in ONE_LOBE_FREE_ENERGY.mistakes])
def test_every_wrong_value_fails_with_its_own_message(key, capsys) -> None:
    mistake = next(m for m in ONE_LOBE_FREE_ENERGY.mistakes if m.key == key)
    with pytest.raises(CheckFailed) as info:
        check.one_lobe_free_energy(mistake.function(U1.log_z), U1)
    text = str(info.value)
    assert mistake.message in text
    assert not [m.key for m in ONE_LOBE_FREE_ENERGY.mistakes
                if m.key != key and m.message in text]
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("answer, words", [(..., "not written yet"), (None, "None"),
                                           ("-1.18", "number"), (True, "number"),
                                           (-1.185, "rounded"), (3.0, "On the lobe"),
                                           (torch.ones(2), "one number")])
def test_one_lobe_free_energy_names_what_is_wrong(answer, words) -> None:
    with pytest.raises(CheckFailed, match=words):
        check.one_lobe_free_energy(answer, U1)


def test_one_lobe_free_energy_reports_the_trained_flows_F(capsys) -> None:
    from nfwidgets.training_setup import make_flow

    check.one_lobe_free_energy(math.log(2) - U1.log_z, U1, flow=make_flow("planar", 2, 0))
    assert "Your trained flow has F = " in one_tick(capsys)


def test_catalogued_mistakes_differ_from_the_solution_and_each_other() -> None:
    from nfwidgets.check.training import _objective_cases

    cases = _objective_cases(torch.Generator().manual_seed(0))
    values = [[float(torch.as_tensor(m.function(*c)).double().sum()) for c in cases]
              for m in ANNEALED_OBJECTIVE.mistakes]
    values.append([float(objective_solution(*c).double()) for c in cases])
    assert len({tuple(round(v, 6) for v in row) for row in values}) == len(values)


def test_hints_point_to_the_lesson_without_the_answer() -> None:
    with pytest.raises(CheckFailed) as info:
        check.one_lobe_free_energy(3.0, U1)
    assert "ln(2p)" not in str(info.value) and "ln 2" not in str(info.value)
    with pytest.raises(CheckFailed) as info:
        check.average_nll(lambda flow, x: nll_solution(flow, x) + 0.1)
    assert "log_prob" not in str(info.value) and "TODO" in str(info.value)
    with pytest.raises(CheckFailed) as info:
        check.annealed_objective(lambda log_q, u, beta: (log_q + beta * u).mean() + 0.1)
    assert "the energy scaled by β" not in str(info.value)


def _flow():
    from nfwidgets import ElementwiseAffine, Flow
    return Flow([ElementwiseAffine([0.0, 0.0], [0.0, 0.0])])


def nll_of(flow, x):
    return -flow.log_prob(x).mean()


@pytest.mark.parametrize("flow, x, words", [
    (None, torch.zeros(3, 2), "give both flow and x, or neither; got only x"),
    ("flow", torch.zeros(3, 2), "flow must be an nfwidgets Flow"),
    (_flow(), torch.zeros(3), r"x must be a real tensor of points of shape \(N, 2\)"),
    (_flow(), torch.tensor([[0.0, float("nan")]]), r"x\[0\] = \[0.0, nan\] is not"),
])
def test_average_nll_refuses_a_lesson_flow_or_points_it_cannot_use(flow, x, words) -> None:
    with pytest.raises(ValueError, match=words):
        check.average_nll(nll_of, flow, x)


def test_average_nll_takes_the_lessons_points_in_any_dtype(capsys) -> None:
    check.average_nll(nll_of, _flow(), np.zeros((4, 2)))  # float64 array, float32 flow
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize("energy_, flow, words", [
    ("U1", None, "energy must be an Energy; got 'U1'"),
    (U1, "flow", "flow must be an nfwidgets Flow"),
])
def test_one_lobe_free_energy_refuses_what_is_not_an_answer(energy_, flow, words) -> None:
    with pytest.raises(ValueError, match=words):
        check.one_lobe_free_energy(math.log(2) - U1.log_z, energy_, flow)


@pytest.mark.parametrize("seed", [-1, 2.0, True, "0", 2**40])
def test_a_bad_seed_is_refused(seed) -> None:
    with pytest.raises(ValueError, match=r"check.annealed_objective: seed must be an integer"):
        check.annealed_objective(lambda log_q, u, beta: (log_q + beta * u).mean(), seed)
