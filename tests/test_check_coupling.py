"""Tests of ``nfwidgets.check.coupling``: the affine coupling check and the entropy-floor check.

Every catalogued mistake must fail with its own message (run from the catalogue and from its
source pasted into a fresh namespace, as a notebook submission would be); correct answers
written differently must pass; broken learner code must give a clear ``CheckFailed``; nothing
may reach stderr.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
from check_solutions_coupling import COUPLING_VARIANTS, coupling_forward, coupling_inverse

from nfwidgets import check
from nfwidgets.check import CheckFailed
from nfwidgets.check import coupling as cc
from nfwidgets.flows import AffineCoupling, ElementwiseAffine, Flow, MLPConditioner
from nfwidgets.targets import toy_data
from nfwidgets.train import MaximumLikelihood

MISTAKES = cc.CAT.mistakes


def _fails(capsys, *args, fn=check.coupling_layer) -> str:
    with pytest.raises(CheckFailed) as info:
        fn(*args)
    out = capsys.readouterr()
    assert out.err == "" and out.out == ""
    return str(info.value)


def _pasted(mistake):
    """The mistake's source, its ``def`` renamed to the learner's function, run in a namespace
    holding only torch: what an nbgrader round trip does with a mutated submission."""
    lines = inspect.getsource(mistake.function).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("def "))
    head = lines[start]
    lines = [f"def {mistake.target}{head[head.index('('):]}", *lines[start + 1:]]
    namespace = {"torch": torch}
    exec("\n".join(lines), namespace)
    return namespace[mistake.target]


@pytest.mark.parametrize("variant", sorted(COUPLING_VARIANTS))
def test_correct_variants_pass_with_one_line(variant, capsys):
    check.coupling_layer(*COUPLING_VARIANTS[variant])
    out = capsys.readouterr()
    assert out.err == ""
    assert len(out.out.splitlines()) == 1 and out.out.startswith("✓ coupling_forward")


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.key for m in MISTAKES])
@pytest.mark.parametrize("pasted", [False, True], ids=["catalogue", "pasted"])
def test_every_mistake_fails_with_its_own_message(mistake, pasted, capsys):
    wrong = _pasted(mistake) if pasted else mistake.function
    fwd, inv = coupling_forward, coupling_inverse
    if mistake.target == "coupling_forward":
        fwd = wrong
    else:
        inv = wrong
    text = _fails(capsys, fwd, inv)
    assert text.startswith(mistake.target)
    assert f"Likely mistake: {mistake.message}" in text
    assert sum(m.message in text for m in MISTAKES) == 1


def test_catalogue_keys_and_targets():
    assert {m.target for m in MISTAKES} == {"coupling_forward", "coupling_inverse"}
    assert len({m.key for m in MISTAKES}) == len(MISTAKES) >= 18


def test_every_mistake_differs_from_the_reference_on_the_cases():
    for m in MISTAKES:
        cases = cc.forward_cases() if m.target == "coupling_forward" else cc.inverse_cases()
        assert any(not cc._same(m.function(*c.args()), c.want) for c in cases), m.key


def test_an_unknown_mistake_names_point_expected_and_got(capsys):
    def fwd(z, mask, conditioner):
        x, log_det = coupling_forward(z, mask, conditioner)
        return x, log_det + 0.1

    text = _fails(capsys, fwd, coupling_inverse)
    assert "log_det is wrong at z[" in text and "expected" in text and "got" in text
    assert "mask = (" in text and "conditioner = " in text
    assert "none of the typical mistakes" in text


def test_inverse_is_checked_after_a_correct_forward(capsys):
    text = _fails(capsys, coupling_forward, lambda x, mask, c: coupling_forward(x, mask, c))
    assert text.startswith("coupling_inverse") and "z is wrong" in text


def _raise(exc):
    def fn(v, mask, conditioner):
        raise exc
    return fn


@pytest.mark.parametrize(("fn", "said"), [
    (_raise(NotImplementedError()), "not written yet"),
    (lambda z, m, c: ..., "not written yet"),
    (lambda z, m, c: (z, ...), "not written yet"),
    (lambda z, m, c: None, "returned None"),
    (_raise(ZeroDivisionError("boom")), "raised ZeroDivisionError: boom"),
    (lambda z, m, c: z, "should return two values"),
    (lambda z, m, c: (z, z[:, 0], z), "got 3 values"),
    (lambda z, m, c: (z.T, z[:, 0]), "x should have shape"),
    (lambda z, m, c: (z, z), "log_det should have shape"),
    (lambda z, m, c: (z * float("nan"), z[:, 0]), "NaN"),
    (lambda z, m, c: ("x", "ld"), "should be a tensor"),
    (lambda z, m, c: c(z[:, m.bool()]), "conditioner takes the masked points"),
])
def test_broken_code_gives_a_clear_failure(fn, said, capsys):
    assert said in _fails(capsys, fn, coupling_inverse)


def test_learner_output_on_stderr_and_warnings_are_swallowed(capsys):
    import sys
    import warnings

    def noisy(z, mask, conditioner):
        print("debug", file=sys.stderr)
        warnings.warn("careful", stacklevel=1)
        return coupling_forward(z, mask, conditioner)

    check.coupling_layer(noisy, coupling_inverse)
    out = capsys.readouterr()
    assert out.err == "" and out.out.startswith("✓")


def test_inputs_are_not_shared_between_calls(capsys):
    def in_place(z, mask, conditioner):
        x, log_det = coupling_forward(z.clone(), mask, conditioner)
        z.mul_(0)  # vandalises its input: later cases must not see it
        return x, log_det

    check.coupling_layer(in_place, coupling_inverse)
    assert capsys.readouterr().out.startswith("✓")


def test_masks_conditioners_and_dtypes_cover_what_the_docstring_says():
    cases = cc.forward_cases()
    assert {c.mask for c in cases} == {(1.0, 0.0), (0.0, 1.0)}
    assert {c.dtype for c in cases} == {torch.float32, torch.float64}
    assert {c.points.shape[0] for c in cases} == {1, 7}
    big = max(float(c.conditioner(c.points.double())[0].abs().max()) for c in cases)
    assert big > 4  # "large log-scales"
    for c in cases:  # every conditioner reads both inputs: a wrong mask changes s and t
        v = c.points.double()
        for j in range(2):
            moved = v.clone()
            moved[:, j] += 0.5
            assert not torch.allclose(c.conditioner(v)[0], c.conditioner(moved)[0])


def test_reference_matches_the_engine_with_a_column_conditioner():
    """With a conditioner of the masked column only, the adapter changes nothing."""
    torch.manual_seed(0)
    inner = MLPConditioner(1, 1, hidden=(5,)).double()
    torch.nn.init.normal_(inner.net[-1].weight)

    def full(v):  # the check's convention: (N, 2) in, (N, 2) out
        s, t = inner(v[:, :1])
        return s.expand(-1, 2), t.expand(-1, 2)

    z = torch.randn(9, 2, dtype=torch.float64)
    engine = AffineCoupling(torch.tensor([1.0, 0.0], dtype=torch.float64), inner, scale="exp")
    with torch.no_grad():
        for a, b in zip(cc.reference_layer((1.0, 0.0), full)(z), engine(z), strict=True):
            torch.testing.assert_close(a, b)


# ---- fits_entropy_floor -----------------------------------------------------------------------

def _coupling_flow(seed: int = 0) -> Flow:
    torch.manual_seed(seed)
    return Flow([AffineCoupling(m, MLPConditioner(1, 1, hidden=(32, 32)), scale="exp")
                 for m in ([1, 0], [0, 1]) * 2])


@pytest.fixture(scope="module")
def trained_and_untrained():
    untrained = _coupling_flow()
    trained = _coupling_flow()
    MaximumLikelihood(trained, toy_data("eight_gaussians", 4000, seed=0), batch_size=256,
                      lr=1e-2, seed=0).run(300)
    return trained, untrained


def test_entropy_floor_passes_a_trained_flow_and_fails_an_untrained_one(
        trained_and_untrained, capsys):
    trained, untrained = trained_and_untrained
    margin = 1.0  # what a brief training reaches; the untrained flow is ~3 nats off
    check.fits_entropy_floor(trained, "eight_gaussians", margin)
    out = capsys.readouterr()
    assert out.err == "" and out.out.startswith("✓ held-out NLL") and "within the margin" in out.out
    text = _fails(capsys, untrained, "eight_gaussians", margin, fn=check.fits_entropy_floor)
    assert "nats above it, more than the margin" in text
    assert "more steps" in text and "learning rate" in text and "more layers" in text


def test_entropy_floor_never_uses_training_seeds():
    assert cc.HELD_OUT_SEED not in range(100)


def test_entropy_floor_works_in_float64(trained_and_untrained, capsys):
    import copy

    flow = copy.deepcopy(trained_and_untrained[0]).double()
    check.fits_entropy_floor(flow, "EIGHT_GAUSSIANS", 1.0)
    assert capsys.readouterr().out.startswith("✓")


def test_entropy_floor_fails_below_the_floor(capsys):
    flow = Flow([ElementwiseAffine([math.log(0.3)] * 2, [0.0, 0.0])])
    flow.log_prob = lambda x: torch.zeros(x.shape[0])  # ln q = 0 everywhere: not a density
    text = _fails(capsys, flow, "checkerboard", 0.5, fn=check.fits_entropy_floor)
    assert "below" in text and "sign of every log-det" in text


@pytest.mark.parametrize("flow", ["a flow", np.zeros(3), ElementwiseAffine([0.0, 0.0],
                                                                          [0.0, 0.0])])
def test_entropy_floor_refuses_what_is_not_a_flow(flow):
    with pytest.raises(ValueError, match="fits_entropy_floor: flow must be an nfwidgets Flow"):
        check.fits_entropy_floor(flow, "checkerboard", 0.5)


def test_coupling_layer_refuses_what_is_not_a_function():
    with pytest.raises(ValueError, match=r"coupling_forward must be your function .*; got 42"):
        check.coupling_layer(42, coupling_inverse)


def test_entropy_floor_reports_a_broken_log_prob(capsys):
    flow = Flow([ElementwiseAffine([0.0, 0.0], [0.0, 0.0])])
    flow.log_prob = lambda x: x.sum(-1) * float("nan")
    assert "NaN" in _fails(capsys, flow, "checkerboard", 0.5, fn=check.fits_entropy_floor)


@pytest.mark.parametrize(("target", "margin"), [("two_moons", 0.5), ("nope", 0.5), (3, 0.5),
                                                ("checkerboard", 0), ("checkerboard", -1.0),
                                                ("checkerboard", float("nan")),
                                                ("checkerboard", True)])
def test_entropy_floor_bad_arguments_are_value_errors(target, margin):
    with pytest.raises(ValueError, match="fits_entropy_floor"):
        check.fits_entropy_floor(_coupling_flow(), target, margin)


def test_messages_are_distinct():
    messages = [m.message for m in MISTAKES]
    assert not any(a in b for a in messages for b in messages if a is not b)
