"""nfwidgets.check.basics: each exercise check of lessons 00–04 passes the solution and correct
answers written differently, and fails every catalogued mistake with that mistake's message."""

from __future__ import annotations

import pytest
import torch
from check_solutions_basics import SOLUTIONS

from nfwidgets import ElementwiseAffine, Flow, check
from nfwidgets.check import CheckFailed, basics
from nfwidgets.check._basics_mistakes import (
    AFFINE_LOG_PROB,
    DENSITY_AT_IMAGE,
    PLANAR_LOG_DET,
    RADIAL_LOG_DET,
    SINGLE_AFFINE,
)

CATALOGUE_OF = {"affine_log_prob": AFFINE_LOG_PROB, "density_at_image": DENSITY_AT_IMAGE,
                "planar_log_det": PLANAR_LOG_DET, "radial_log_det": RADIAL_LOG_DET,
                "single_affine": SINGLE_AFFINE}
MISTAKES = [(name, m) for name, cat in CATALOGUE_OF.items() for m in cat.mistakes]


def _lesson_flow() -> Flow:
    from nfwidgets.widgets.stack_presets import five_affine_layers
    return Flow(five_affine_layers()).double()


@pytest.mark.parametrize("name, solution",
                         [(n, s) for n, sols in SOLUTIONS.items() for s in sols],
                         ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_solutions_pass_with_one_tick_and_no_stderr(name, solution, seed, capsys) -> None:
    getattr(check, name)(solution, seed=seed)
    out, err = capsys.readouterr()
    assert err == ""
    assert len(out.splitlines()) == 1 and out.startswith("✓ ")


def test_single_affine_checks_the_lessons_flow_too(capsys) -> None:
    check.single_affine(SOLUTIONS["single_affine"][0], _lesson_flow())
    assert "the lesson's" in capsys.readouterr().out

    def right_on_random_stacks_only(flow):
        layer = SOLUTIONS["single_affine"][0](flow)
        if len(flow.layers) == 5:
            return ElementwiseAffine(layer.log_scale.detach().flip(0), layer.shift.detach())
        return layer

    with pytest.raises(CheckFailed, match="log-scales"):
        check.single_affine(right_on_random_stacks_only, _lesson_flow())


@pytest.mark.parametrize("name, mistake", MISTAKES, ids=lambda v: getattr(v, "key", v))
@pytest.mark.parametrize("seed", [0, 3])
def test_every_mistake_fails_with_its_own_message(name, mistake, seed, capsys) -> None:
    with pytest.raises(CheckFailed) as info:
        getattr(check, name)(mistake.function, seed=seed)
    text = str(info.value)
    assert mistake.message in text
    others = [m.key for m in CATALOGUE_OF[name].mistakes
              if m is not mistake and m.message in text]
    assert not others, f"{mistake.key}'s failure also shows {others}"
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_mistakes_differ_from_the_solution_on_the_probes() -> None:
    # a mistake that equalled the solution on every probe would "fail" only by accident
    for name, cat in CATALOGUE_OF.items():
        assert len(cat.mistakes) >= 5, name
        assert len({m.message for m in cat.mistakes}) == len(cat.mistakes), name


def _unsolved_00(x, s, t):
    z = ...
    log_base = ...
    log_det_inverse = ...
    return log_base + log_det_inverse + 0 * z


def _unsolved_01(z, w, u_hat, b):
    fprime = ...
    return ... / fprime


def _unsolved_layer(layer, z):
    a = ...
    derivative = ...
    return derivative * a


def _unsolved_04(flow):
    s = ...
    t = ...
    return ElementwiseAffine(log_scale=s, shift=t)


@pytest.mark.parametrize("name, fn", [("affine_log_prob", _unsolved_00),
                                      ("density_at_image", _unsolved_01),
                                      ("planar_log_det", _unsolved_layer),
                                      ("radial_log_det", _unsolved_layer),
                                      ("single_affine", _unsolved_04)])
def test_the_unsolved_exercise_is_feedback_not_a_crash(name, fn) -> None:
    with pytest.raises(CheckFailed, match=r"not written yet: replace every \.\.\."):
        getattr(check, name)(fn)


def test_an_unsummed_log_det_is_checked_feedback_at_any_batch_size() -> None:
    # lesson 00's bug: `log_base + (-s)` raised an uncaught RuntimeError
    def unsummed(x, s, t):
        z = (x - t) * torch.exp(-s)
        return -0.5 * (z ** 2).sum(-1) - torch.log(torch.tensor(2 * torch.pi)) - s

    with pytest.raises(CheckFailed, match="one number: the sum over the"):
        check.affine_log_prob(unsummed)


def test_wrong_shape_and_type_are_named() -> None:
    with pytest.raises(CheckFailed, match="should have shape"):
        check.planar_log_det(lambda layer, z: torch.zeros(z.shape[0], 1))
    with pytest.raises(ValueError, match="my_log_det must be your function my_log_det"):
        check.radial_log_det(3.0)  # not an answer at all: refused, not judged
    with pytest.raises(CheckFailed, match="should return an ElementwiseAffine"):
        check.single_affine(lambda flow: (1.0, 2.0))


def test_density_at_image_fallback_names_a_point_where_the_answer_differs() -> None:
    # lesson 01's old fallback reported z = 0, where the usual slips give the right value
    def off_by_a_bit(z, w, u_hat, b):
        return SOLUTIONS["density_at_image"][0](z, w, u_hat, b) * (1 + 0.01 * z)

    with pytest.raises(CheckFailed) as info:
        check.density_at_image(off_by_a_bit)
    text = str(info.value)
    point = float(text.split("at z = ")[1].split()[0])
    expected = float(text.split("expected ")[1].split(",")[0])
    got = float(text.split("got ")[1].rstrip(".\n").split()[0].rstrip("."))
    assert abs(point) > 0.5 and abs(got - expected) > 1e-4
    assert "check f′" in text


def test_planar_probes_are_off_the_line_where_tanh_prime_is_one() -> None:
    g = torch.Generator().manual_seed(0)
    for layer, z in basics._planar_cases(g):
        a = z.double() @ layer.w.detach().double() + float(layer.b.detach())
        assert bool((a.abs() > 0.3).all())


@pytest.mark.parametrize("name, formula", [
    ("planar_log_det", ["tanh′(a) wᵀû", "1 + tanh"]),
    ("radial_log_det", ["1 + β̂h", "derivative of the new distance"]),
])
def test_an_unknown_wrong_log_det_gets_a_pointer_not_the_formula(name, formula) -> None:
    solution = SOLUTIONS[name][0]

    def off_by_a_bit(layer, z):
        return solution(layer, z) * 1.01 + 0.01

    with pytest.raises(CheckFailed) as info:
        getattr(check, name)(off_by_a_bit)
    text = str(info.value)
    assert "lesson 0" in text
    assert not [f for f in formula if f in text], text


@pytest.mark.parametrize("flow, words", [
    ("flow", "flow must be an nfwidgets Flow"),
    (Flow([ElementwiseAffine([0.0] * 3, [0.0] * 3)]), "flow must be a Flow of 2-D points"),
])
def test_single_affine_refuses_a_lesson_flow_it_cannot_use(flow, words) -> None:
    with pytest.raises(ValueError, match=words):
        check.single_affine(SOLUTIONS["single_affine"][0], flow)


def test_single_affine_takes_a_float32_lesson_flow(capsys) -> None:
    check.single_affine(SOLUTIONS["single_affine"][0], _lesson_flow().float())
    assert capsys.readouterr().out.startswith("✓")
