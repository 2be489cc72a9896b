"""The shared checker base, ``nfwidgets.check._report`` and the case runner ``_cases``."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
import torch

from nfwidgets.check import CATALOGUES, CheckFailed
from nfwidgets.check._cases import Case, Output, run
from nfwidgets.check._report import (
    Catalogue,
    agree,
    call,
    close,
    fmt,
    judged_dtype,
    passed,
    quietly,
    to_tensor,
    tolerance,
)


@pytest.fixture
def catalogue():
    """A throw-away catalogue, removed from CATALOGUES afterwards."""
    cat = Catalogue("test-only")
    yield cat
    del CATALOGUES["test-only"]


def test_check_failed_is_an_assertion_error_shown_without_traceback() -> None:
    err = CheckFailed("f(x): wrong at x = 1\nLikely mistake: a slip.")
    assert isinstance(err, AssertionError)
    assert err._render_traceback_() == ["✗ f(x): wrong at x = 1", "  Likely mistake: a slip."]


def test_passed_prints_one_line(capfd) -> None:
    passed("all good")
    out, err = capfd.readouterr()
    assert out == "✓ all good\n" and err == ""


def test_call_turns_learner_errors_into_check_failed(capfd) -> None:
    def not_yet(x):
        raise NotImplementedError()

    def typo(x):
        return tanh(x)  # noqa: F821  (the learner's NameError)

    with pytest.raises(CheckFailed, match="not written yet"):
        call(not_yet, "f", (1.0,), "x = 1")
    with pytest.raises(CheckFailed, match=r"f\(x = 1\) raised NameError: name 'tanh'"):
        call(typo, "f", (1.0,), "x = 1")
    with pytest.raises(CheckFailed, match=r"replace the \.\.\."):
        call(lambda x: ..., "f", (1.0,), "x = 1")
    with pytest.raises(CheckFailed, match="forget the `return`"):
        call(lambda x: None, "f", (1.0,), "x = 1")
    with pytest.raises(CheckFailed, match=r"^f\(x\) with x = 1 \(float64\) raised NameError"):
        call(typo, "f", (1.0,), "x = 1", where="f(x) with x = 1 (float64)")
    with pytest.raises(CheckFailed, match="should be a function; got int"):
        call(3, "f", (1.0,), "x = 1")
    assert capfd.readouterr() == ("", "")


def test_call_finds_ellipsis_next_to_arrays() -> None:
    """``... in (array, …)`` would compare arrays with == and raise; ``is`` does not."""
    with pytest.raises(CheckFailed, match="not written yet"):
        call(lambda x: (np.zeros(3), ...), "f", (1.0,), "x")
    with pytest.raises(CheckFailed, match="not written yet"):
        call(lambda x: (torch.zeros(3), ...), "f", (1.0,), "x")
    result = call(lambda x: (np.zeros(3), torch.zeros(3)), "f", (1.0,), "x")
    assert len(result) == 2


def test_learner_warnings_and_prints_stay_silent(capfd) -> None:
    def noisy(x):
        warnings.warn("careful", stacklevel=1)
        print("debug", x)
        print("to stderr", file=sys.stderr)
        return x + 1

    assert call(noisy, "f", (1.0,), "x") == 2.0
    assert quietly(noisy, (2.0,)) == 3.0
    assert capfd.readouterr() == ("", "")


def test_call_lets_a_learner_use_autograd_unless_told_not_to() -> None:
    def log_det_by_autograd(z):  # d/dz of z³ = 3z², taken with torch.autograd
        z = z.clone().requires_grad_()
        (grad,) = torch.autograd.grad((z ** 3).sum(), z)
        return grad
    z = torch.tensor([1.0, 2.0])
    assert call(log_det_by_autograd, "f", (z,), "z").tolist() == [3.0, 12.0]
    x = torch.ones(2, requires_grad=True)
    assert not call(lambda v: v * 2, "f", (x,), "x", grad=False).requires_grad


def test_a_float64_answer_right_only_to_float32_digits_is_told_so() -> None:
    from check_solutions import planar_forward, u_hat

    from nfwidgets import check

    def rounded_b(z, w, u, b):  # torch.tensor(b) of a Python float is float32
        return planar_forward(z, w, u, float(torch.tensor(b, dtype=torch.float32)))
    with pytest.raises(CheckFailed) as failed:
        check.planar_layer(u_hat, rounded_b)
    assert "slightly off" in str(failed.value) and "float32" in str(failed.value)
    assert "Likely mistake" not in str(failed.value)


def test_to_tensor_accepts_tensors_and_arrays_and_names_what_is_wrong() -> None:
    kw = {"what": "y", "shape": (3,), "where": "f(x)"}
    assert to_tensor(np.arange(3.0), **kw, arrays_only=True).dtype == torch.float64
    assert to_tensor([1.0, 2.0, 3.0], **kw).tolist() == [1.0, 2.0, 3.0]
    assert to_tensor(torch.ones(3, dtype=torch.float32), **kw, dtype=torch.float64).shape == (3,)
    with pytest.raises(CheckFailed, match="should be a torch tensor of shape"):
        to_tensor([1.0, 2.0, 3.0], **kw, arrays_only=True)
    with pytest.raises(CheckFailed, match="did you sum over the points"):
        to_tensor(torch.tensor(1.0), **kw)
    with pytest.raises(CheckFailed, match="right numbers in the wrong shape"):
        to_tensor(torch.ones(3, 1), **kw)
    with pytest.raises(CheckFailed, match=r"should have shape \(3,\); got shape \(\)$"):
        to_tensor(torch.tensor(1.0), **kw, per_point=False)
    with pytest.raises(CheckFailed, match=r"shape \(3, 2\), one row per point"):
        to_tensor(torch.ones(3), what="x", shape=(3, 2), where="f")
    with pytest.raises(CheckFailed, match=r"NaN or ±inf \(first at index 1\)"):
        to_tensor(torch.tensor([0.0, float("nan"), 1.0]), **kw)
    with pytest.raises(CheckFailed, match="dtype float16, which keeps too few digits"):
        to_tensor(torch.ones(3, dtype=torch.float16), **kw, dtype=torch.float64)
    with pytest.raises(CheckFailed, match="real tensor"):
        to_tensor(torch.ones(3, dtype=torch.complex64), **kw)
    with pytest.raises(CheckFailed, match="should be a tensor"):
        to_tensor("abc", **kw)


def test_judged_dtype_and_tolerances() -> None:
    assert judged_dtype(torch.ones(1), torch.float64) == torch.float32
    assert judged_dtype(np.ones(1, dtype=np.float32), torch.float64) == torch.float32
    assert judged_dtype(torch.ones(1, dtype=torch.float64), torch.float64) == torch.float64
    assert judged_dtype(torch.ones(1, dtype=torch.float64), torch.float32) == torch.float32
    assert tolerance(torch.float32) > tolerance(torch.float64)
    one = torch.ones(1, dtype=torch.float64)
    assert close(one + 1e-6, one, torch.float32) and not close(one + 1e-6, one)


def test_agree_compares_raw_answers_part_by_part() -> None:
    t = torch.tensor([1.0, float("nan")])
    assert agree((t, 1.0), (t.clone(), 1.0))
    assert agree(np.array([1.0, 2.0]), torch.tensor([1.0, 2.0]))
    assert not agree((t, 1.0), (t,))
    assert not agree(torch.ones(2), torch.ones(2, 1))
    assert not agree(torch.ones(2), torch.ones(2) + 1e-3)
    assert not agree("a", torch.ones(1))


def test_fmt_is_short() -> None:
    assert fmt(0.123456789) == "0.1235"
    assert fmt(torch.tensor([1.0, -2.5])) == "(1, -2.5)"
    assert fmt(torch.arange(5.0)) == "(0, 1, 2, … 5 in all)"
    assert fmt(torch.tensor(3.0)) == "3"
    assert fmt(2) == "2"


def test_catalogue_registers_and_diagnoses(catalogue) -> None:
    @catalogue.mistake("f", "double", "doubled")
    def f__double(x):
        return 2 * x

    @catalogue.mistake("f", "fails", "raises")
    def f__fails(x):
        raise ValueError

    @catalogue.mistake("f", "square", "squared")
    def f__square(x):
        return x * x

    assert "test-only" in CATALOGUES
    with pytest.raises(ValueError, match="exists already"):
        Catalogue("test-only")
    with pytest.raises(ValueError, match="used twice"):
        catalogue.mistake("f", "double", "again")(f__double)
    same = lambda g, w: agree(g, w)  # noqa: E731
    two = torch.tensor([2.0])
    # at x = 2 doubling and squaring agree: one input cannot tell them apart, two can
    assert catalogue.diagnose("f", torch.tensor([4.0]), (two,), same).key == "double"
    pairs = [((two,), torch.tensor([4.0])), ((torch.tensor([3.0]),), torch.tensor([9.0]))]
    assert catalogue.diagnose_many("f", pairs, same).key == "square"
    assert catalogue.diagnose_many("f", [], same) is None
    assert catalogue.diagnose("f", torch.tensor([5.0]), (two,), same) is None
    assert [m.key for m in catalogue.for_target("f")] == ["double", "fails", "square"]


def test_run_reports_the_worst_point_and_the_mistake(catalogue) -> None:
    @catalogue.mistake("g", "plus_one", "added one.")
    def g__plus_one(v):
        return v + 1

    v = torch.tensor([0.5, 1.5, 2.5], dtype=torch.float64)
    case = Case((v,), (v * 2,), torch.float64, "v of shape (3,)",
                point=lambda i: f"v[{i}] = {fmt(v[i])}", context="nothing else")
    run(lambda v: 2 * v, "g", "v", [case], [Output("y")], catalogue, "g")
    with pytest.raises(CheckFailed) as info:
        run(lambda v: v + 1, "g", "v", [case], [Output("y")], catalogue, "g")
    # the worst point relative to the tolerance: v[0] (off by 50 %)
    assert str(info.value) == ("g(v): y is wrong at v[0] = 0.5 with nothing else (float64): "
                               "expected 1, got 1.5.\nLikely mistake: added one.")
    with pytest.raises(CheckFailed, match="none of the typical mistakes"):
        run(lambda v: v * 3, "g", "v", [case], [Output("y")], catalogue, "g")
    # values that agree to 4 digits are shown with as many digits as it takes
    off = torch.tensor([0.0, 1e-6, 0.0], dtype=torch.float64)
    with pytest.raises(CheckFailed, match=r"at v\[1\] = 1\.5 .* expected 3, got 3\.000001\."):
        run(lambda v: 2 * v + off, "g", "v", [case], [Output("y")], catalogue, "g")


def test_run_wants_a_tuple_of_the_right_length(catalogue) -> None:
    v = torch.ones(2, dtype=torch.float64)
    case = Case((v,), (v, v), torch.float64, "v", point=lambda i: f"v[{i}]", context="-")
    outputs = [Output("a"), Output("b")]
    run(lambda v: (v, v), "g", "v", [case], outputs, catalogue, "g")
    run(lambda v: [v.numpy(), v], "g", "v", [case], outputs, catalogue, "g")
    with pytest.raises(CheckFailed, match=r"return a, b`; got one Tensor"):
        run(lambda v: v, "g", "v", [case], outputs, catalogue, "g")
    with pytest.raises(CheckFailed, match="got 3 values"):
        run(lambda v: (v, v, v), "g", "v", [case], outputs, catalogue, "g")
    with pytest.raises(CheckFailed, match="should be a torch tensor"):
        run(lambda v: (v.tolist(), v), "g", "v", [case], outputs, catalogue, "g")


def test_run_does_not_let_learner_edits_leak_between_calls(catalogue) -> None:
    v = torch.ones(2, dtype=torch.float64)
    case = Case((v,), (2 * v,), torch.float64, "v", point=lambda i: f"v[{i}]", context="-")

    def in_place(v):
        v *= 2
        return v

    run(in_place, "g", "v", [case, case, case], [Output("y")], catalogue, "g")
    assert v.tolist() == [1.0, 1.0]
