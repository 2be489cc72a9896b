"""Tests of ``nfwidgets.check.reverse_kl``: free energy, annealing schedule, missed mode.

Correct answers written differently pass (value and gradient); every catalogued mistake fails
with its own message, from the catalogue and pasted as a submission; broken code gives a clear
``CheckFailed``; nothing reaches stderr.
"""

from __future__ import annotations

import inspect
import math
import re

import numpy as np
import pytest
import torch
from check_solutions_coupling import BETA_VARIANTS, FREE_ENERGY_VARIANTS, free_energy
from hypothesis import given
from hypothesis import strategies as st

from nfwidgets import check
from nfwidgets.check import CheckFailed
from nfwidgets.check import reverse_kl as rk
from nfwidgets.diagnostics import mode_names
from nfwidgets.flows import ElementwiseAffine, Flow
from nfwidgets.targets import energy

FREE = rk.FREE.mistakes
ANNEAL = rk.ANNEAL.mistakes


def _fails(capsys, fn, *args) -> str:
    with pytest.raises(CheckFailed) as info:
        fn(*args)
    out = capsys.readouterr()
    assert out.err == "" and out.out == ""
    return str(info.value)


def _passes(capsys, fn, *args) -> str:
    fn(*args)
    out = capsys.readouterr()
    assert out.err == "" and len(out.out.splitlines()) == 1 and out.out.startswith("✓")
    return out.out


def _pasted(mistake):
    """The mistake's source with its ``def`` renamed, run in a namespace holding only torch."""
    lines = inspect.getsource(mistake.function).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("def "))
    head = lines[start]
    lines = [f"def {mistake.target}{head[head.index('('):]}", *lines[start + 1:]]
    namespace = {"torch": torch}
    exec("\n".join(lines), namespace)
    return namespace[mistake.target]


# ---- free energy ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(FREE_ENERGY_VARIANTS))
def test_free_energy_variants_pass(name, capsys):
    out = _passes(capsys, check.free_energy, FREE_ENERGY_VARIANTS[name])
    assert out.startswith("✓ free_energy: value and gradient agree")
    assert ("compared statistically" in out) == (name == "free_energy_other_draws")


@pytest.mark.parametrize("mistake", FREE, ids=[m.key for m in FREE])
@pytest.mark.parametrize("pasted", [False, True], ids=["catalogue", "pasted"])
def test_every_free_energy_mistake_fails_with_its_own_message(mistake, pasted, capsys):
    text = _fails(capsys, check.free_energy, _pasted(mistake) if pasted else mistake.function)
    assert text.startswith("free_energy(a 2-layer coupling flow")
    assert f"Likely mistake: {mistake.message}" in text
    assert sum(m.message in text for m in FREE) == 1


def test_free_energy_catalogue_covers_the_brief():
    keys = {m.key for m in FREE}
    assert {"forgot_log_det", "log_det_sign", "minus_energy", "base_density_of_x",
            "sum_not_mean", "forgot_log_q", "detached_samples", "no_gradient"} <= keys


def test_an_unknown_bias_fails_statistically(capsys):
    def biased(flow, energy, n_samples, generator):
        return free_energy(flow, energy, n_samples, generator) + 0.3

    text = _fails(capsys, check.free_energy, biased)
    assert text.startswith("free_energy(a 2-layer coupling flow (float32), U = U1")
    assert "standard errors of the difference" in text and "none of the typical" in text


def test_a_wrong_gradient_with_the_right_value_fails(capsys):
    def pushed(flow, energy, n_samples, generator):
        p = next(flow.parameters())
        return free_energy(flow, energy, n_samples, generator) + (p - p.detach()).sum()

    text = _fails(capsys, check.free_energy, pushed)
    assert "is right, but its gradient is not" in text


@pytest.mark.parametrize(("fn", "said"), [
    (lambda f, u, n, g: (_ for _ in ()).throw(NotImplementedError()), "not written yet"),
    (lambda f, u, n, g: ..., "not written yet"),
    (lambda f, u, n, g: None, "returned None"),
    (lambda f, u, n, g: 1 / 0, "raised ZeroDivisionError"),
    (lambda f, u, n, g: f.sample_and_log_prob(n, generator=g)[1], "average them"),
    (lambda f, u, n, g: "F", "should be one number"),
    (lambda f, u, n, g: free_energy(f, u, n, g) * float("nan"), "F is nan"),
])
def test_broken_free_energy_gives_a_clear_failure(fn, said, capsys):
    assert said in _fails(capsys, check.free_energy, fn)


def test_what_is_not_a_function_is_refused():
    with pytest.raises(ValueError, match=r"free_energy must be your function .*; got None"):
        check.free_energy(None)
    with pytest.raises(ValueError, match=r"beta must be your function beta\(step, n_steps\)"):
        check.annealing(0.5)


def test_free_energy_leaves_the_global_rng_alone(capsys):
    state = torch.get_rng_state()
    check.free_energy(FREE_ENERGY_VARIANTS["free_energy_global_rng"])
    capsys.readouterr()
    assert torch.equal(state, torch.get_rng_state())


def test_free_energy_cases_use_both_dtypes_and_energies():
    cases = rk.free_energy_cases()
    assert {c[0] for c in cases} == {torch.float32, torch.float64}
    assert {c[1] for c in cases} >= {"U1"} and len({c[1] for c in cases}) == 2
    assert {c[3] for c in cases} == {1, 7, 256}
    flow = rk.tiny_flow()
    _, log_det = flow(torch.randn(5, 2))
    assert float(log_det.detach().abs().min()) > 0  # every log-det matters


# ---- annealing --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(BETA_VARIANTS))
def test_beta_variants_pass(name, capsys):
    assert "paper's schedule" in _passes(capsys, check.annealing, BETA_VARIANTS[name])


@pytest.mark.parametrize("mistake", ANNEAL, ids=[m.key for m in ANNEAL])
@pytest.mark.parametrize("pasted", [False, True], ids=["catalogue", "pasted"])
def test_every_beta_mistake_fails_with_its_own_message(mistake, pasted, capsys):
    text = _fails(capsys, check.annealing, _pasted(mistake) if pasted else mistake.function)
    assert text.startswith("beta(step=") and "expected" in text and "got" in text
    assert f"Likely mistake: {mistake.message}" in text
    assert sum(m.message in text for m in ANNEAL) == 1


@pytest.mark.parametrize(("fn", "said"), [
    (lambda t, n: ..., "not written yet"),
    (lambda t, n: "0.5", "expected"),
    (lambda t, n: [0.1, 0.2], "should return one number"),
    (lambda t, n: float("nan"), "got nan"),
    (lambda t, n: t / 0, "raised ZeroDivisionError"),
    (lambda t, n: 0.01 + t / n if t < n else 0.99, "none of the typical"),
])
def test_broken_beta_gives_a_clear_failure(fn, said, capsys):
    assert said in _fails(capsys, check.annealing, fn)


# ---- missed mode ------------------------------------------------------------------------------

RIGHT_LOBE = Flow([ElementwiseAffine([math.log(0.4)] * 2, [2.0, 0.0])])
COVERS_U1 = Flow([ElementwiseAffine([math.log(1.3), 0.0], [0.0, 0.0])])
BLOB_E = Flow([ElementwiseAffine([math.log(0.3)] * 2, [2.83, 0.0])])


@pytest.mark.parametrize("answer", ["left", "Left lobe", "the left lobe (z₁ < 0)", "LEFT_LOBE",
                                    " left-lobe "])
def test_missed_mode_accepts_reasonable_spellings(answer, capsys):
    out = _passes(capsys, check.missed_mode, answer, RIGHT_LOBE, "U1")
    assert "left lobe" in out


def test_missed_mode_takes_an_energy_object(capsys):
    _passes(capsys, check.missed_mode, "left", RIGHT_LOBE, energy("U1"))


@pytest.mark.parametrize(("answer", "flow", "said"), [
    ("right", RIGHT_LOBE, "is not missed"),
    ("lobe", RIGHT_LOBE, "names none of the modes (or several); the modes are 'left lobe"),
    ("blob N", RIGHT_LOBE, "the modes are"),
    (3, RIGHT_LOBE, "should be the name of a mode"),
    (..., RIGHT_LOBE, "should be the name of a mode"),
    ("none", RIGHT_LOBE, "the flow misses it"),
    ("left", COVERS_U1, "answer 'none'"),
])
def test_missed_mode_failures(answer, flow, said, capsys):
    assert said in _fails(capsys, check.missed_mode, answer, flow, "U1")


def test_missed_mode_none_when_every_mode_is_covered(capsys):
    assert "covers every mode" in _passes(capsys, check.missed_mode, "none", COVERS_U1, "U1")


def test_missed_mode_on_eight_gaussians(capsys):
    _passes(capsys, check.missed_mode, "NE", BLOB_E, "eight_gaussians")
    _passes(capsys, check.missed_mode, "blob n", BLOB_E, "eight_gaussians")
    assert "is not missed" in _fails(capsys, check.missed_mode, "blob E", BLOB_E,
                                     "eight_gaussians")


def test_missed_mode_target_without_modes_is_a_value_error():
    with pytest.raises(ValueError,
                       match=r"check.missed_mode: energy target 'U2' has no separate modes"):
        check.missed_mode("left", RIGHT_LOBE, "U2")


@pytest.mark.parametrize(("flow", "energy_", "said"), [
    ("not a flow", "U1", "flow must be an nfwidgets Flow; got 'not a flow'"),
    (Flow([ElementwiseAffine([0.0] * 3, [0.0] * 3)]), "U1", "flow must be a Flow of 2-D"),
    (RIGHT_LOBE, 3, "energy must be a target's name or an Energy; got 3"),
])
def test_missed_mode_refuses_what_it_cannot_read(flow, energy_, said):
    """The flow and the target are the assignment's, not the answer: a ValueError."""
    with pytest.raises(ValueError, match=re.escape(said)):
        check.missed_mode("left", flow, energy_)


TARGETS = ["U1", "U3", "U4", "eight_gaussians", "two_moons", "rings", "pinwheel",
           "two_spirals"]


@given(target=st.sampled_from(TARGETS), data=st.data())
def test_every_mode_name_matches_itself_in_any_case(target, data):
    names = mode_names(target)
    name = data.draw(st.sampled_from(names))
    flips = data.draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    spelled = "".join(c.upper() if f else c.lower() for c, f in zip(name, flips, strict=True))
    assert rk.match_mode(spelled, names) == name
    assert rk.match_mode("the " + name.replace(" ", "_"), names) == name


def test_numpy_answers_to_beta_are_numbers():
    assert float(BETA_VARIANTS["beta_numpy"](5, 10)) == pytest.approx(0.51)
    assert isinstance(BETA_VARIANTS["beta_numpy"](5, 10), np.floating)


def test_backward_inside_free_energy_is_explained(capsys):
    def trains_itself(flow, energy, n_samples, generator):
        F = free_energy(flow, energy, n_samples, generator)
        F.backward()
        return F

    assert "did free_energy call backward() itself" in _fails(capsys, check.free_energy,
                                                              trains_itself)
