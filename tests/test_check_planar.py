"""``check.u_hat`` and ``check.planar_layer``: the solution and correct variants pass, every
catalogued mistake fails with its own message, broken code gives a clear CheckFailed, and
nothing is written to stderr."""

from __future__ import annotations

import inspect
import math

import check_solutions as sol
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from nfwidgets import check
from nfwidgets.check import CheckFailed
from nfwidgets.check import planar as cp
from nfwidgets.flows import Planar

CAT = cp.CAT
U_HAT = CAT.for_target("u_hat")
FORWARD = CAT.for_target("planar_forward")


def passes(capfd, fn, *args) -> str:
    fn(*args)
    out, err = capfd.readouterr()
    assert err == ""
    assert out.count("\n") == 1 and out.startswith("✓ "), out
    return out


def failure(fn, *args) -> str:
    with pytest.raises(CheckFailed) as info:
        fn(*args)
    return str(info.value)


# ---- correct answers, written differently -----------------------------------------------

def u_hat_log1p(w, u):
    wtu = torch.dot(w, u)
    return u + (-1 + torch.log1p(torch.exp(wtu)) - wtu) * w / w.norm() ** 2


def u_hat_math(w, u):  # Python floats for the scalars
    a = float(w @ u)
    m = -1 + math.log(1 + math.exp(a))
    return u + (m - a) / float(w @ w) * w


def u_hat_numpy(w, u):
    wn, un = w.numpy(), u.numpy()
    a = wn @ un
    return torch.from_numpy(un + (np.logaddexp(0, a) - 1 - a) * wn / np.sum(wn**2))


def u_hat_float32(w, u):  # computes in float32 whatever comes in
    w, u = w.float(), u.float()
    return u + (F.softplus(w @ u) - 1 - w @ u) * w / (w @ w)


def u_hat_in_place(w, u):
    u += (F.softplus(w @ u) - 1 - w @ u) * w / (w @ w)
    return u


def forward_loop(z, w, u, b):
    uh = u_hat(w, u)
    xs, lds = [], []
    for point in z:
        a = torch.dot(w, point) + b
        xs.append(point + uh * torch.tanh(a))
        lds.append(torch.log(torch.abs(1 + (1 / torch.cosh(a) ** 2) * torch.dot(w, uh))))
    return torch.stack(xs), torch.stack(lds)


def forward_einsum(z, w, u, b):
    uh = u_hat(w, u)
    h = torch.tanh(torch.einsum("nd,d->n", z, w) + b)
    return z + torch.outer(h, uh), torch.log1p((1 - h * h) * (w @ uh))


def forward_numpy(z, w, u, b):
    uh = u_hat(w, u).numpy()
    zn, wn = z.numpy(), w.numpy()
    h = np.tanh(zn @ wn + b)
    return zn + h[:, None] * uh, np.log(np.abs(1 + (1 - h**2) * (wn @ uh)))


def forward_float32(z, w, u, b):
    x, log_det = sol.planar_forward(z.float(), w.float(), u.float(), b)
    return x, log_det


u_hat = sol.u_hat  # the name the forward variants call


@pytest.mark.parametrize("fn", [sol.u_hat, u_hat_log1p, u_hat_math, u_hat_numpy, u_hat_float32,
                                u_hat_in_place])
def test_correct_u_hat_passes(capfd, fn) -> None:
    out = passes(capfd, check.u_hat, fn)
    assert "20 (w, u) pairs, float64 and float32" in out
    passes(capfd, check.planar_layer, fn, sol.planar_forward)


@pytest.mark.parametrize("fn", [sol.planar_forward, forward_loop, forward_einsum, forward_numpy,
                                forward_float32])
def test_correct_planar_forward_passes(capfd, fn) -> None:
    out = passes(capfd, check.planar_layer, sol.u_hat, fn)
    assert "116 points of 20 layers" in out and "float64 and float32" in out


# ---- the catalogue ----------------------------------------------------------------------

def test_catalogue_is_complete_and_its_messages_distinct() -> None:
    keys = {m.key for m in CAT.mistakes}
    assert {"norm_not_squared", "no_minus_one", "forgot_minus_wtu", "no_reparametrisation"} <= keys
    assert {"raw_u", "one_minus_tanh", "psi_without_w", "log_det_sign", "det_not_log",
            "b_forgotten", "log_det_summed", "x_u_hat_log_det_raw_u",
            "x_raw_u_log_det_u_hat"} <= keys
    assert len(U_HAT) >= 8 and len(FORWARD) >= 11
    messages = [m.message for m in CAT.mistakes]
    assert len(set(messages)) == len(messages)
    assert len({m.function.__name__ for m in CAT.mistakes}) == len(CAT.mistakes)


@pytest.mark.parametrize("mistake", U_HAT, ids=lambda m: m.key)
def test_every_u_hat_mistake_fails_with_its_own_message(capfd, mistake) -> None:
    for text in (failure(check.u_hat, mistake.function),
                 failure(check.planar_layer, mistake.function, sol.planar_forward)):
        assert text.startswith("u_hat(w, u")
        assert text.endswith(f"Likely mistake: {mistake.message}")
        assert "expected" in text or "NaN" in text
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("mistake", FORWARD, ids=lambda m: m.key)
def test_every_planar_forward_mistake_fails_with_its_own_message(capfd, mistake) -> None:
    text = failure(check.planar_layer, sol.u_hat, mistake.function)
    assert text.startswith("planar_forward(z, w, u, b")
    assert text.endswith(f"Likely mistake: {mistake.message}")
    assert capfd.readouterr() == ("", "")


def pasted(mistake, target: str, namespace: dict):
    """The mistake as a learner's notebook would hold it: its source, renamed to ``target``,
    run with only torch and the learner's other (correct) function in scope."""
    source = inspect.getsource(mistake.function)
    source = source[source.index("def "):].replace(mistake.function.__name__, target, 1)
    scope = {"torch": torch, **namespace}
    exec(source, scope)
    return scope[target]


@pytest.mark.parametrize("mistake", CAT.mistakes, ids=lambda m: m.key)
def test_every_mistake_pasted_into_a_notebook_fails_with_its_own_message(mistake) -> None:
    fn = pasted(mistake, mistake.target, {"u_hat": sol.u_hat})
    if mistake.target == "u_hat":
        text = failure(check.planar_layer, fn, sol.planar_forward)
    else:
        text = failure(check.planar_layer, sol.u_hat, fn)
    assert text.endswith(mistake.message)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_every_mistake_shows_in_each_dtype_and_no_two_agree(dtype) -> None:
    """On the float64 cases alone, and on the float32 ones alone, each mistake differs from
    the reference somewhere and from every other mistake of its function somewhere."""
    from nfwidgets.check._report import agree
    for target, cases in (("u_hat", cp.u_hat_cases()), ("planar_forward",
                                                        cp.planar_forward_cases())):
        cases = [c for c in cases if c.dtype == dtype]
        outs = {}
        for m in CAT.for_target(target):
            outs[m.key] = [m.function(*c.fresh_args()) for c in cases]
            want = [c.want if len(c.want) > 1 else c.want[0] for c in cases]
            assert not all(agree(o, w, dtype) for o, w in zip(outs[m.key], want, strict=True)), m
        keys = list(outs)
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                assert not all(agree(p, q, torch.float32)
                               for p, q in zip(outs[a], outs[b], strict=True)), (a, b)


# ---- broken learner code ----------------------------------------------------------------

def _nan_forward(z, w, u, b):
    x, log_det = sol.planar_forward(z, w, u, b)
    return x, log_det * float("nan")


BROKEN_FORWARD = {
    "not written yet": lambda z, w, u, b: ...,
    "raised NameError": lambda z, w, u, b: (z + tanh(z @ w), z),  # noqa: F821
    "should return the 2 values": lambda z, w, u, b: sol.planar_forward(z, w, u, b)[0],
    "x should have shape": lambda z, w, u, b: (z[:, 0], sol.planar_forward(z, w, u, b)[1]),
    "right numbers in the wrong shape": lambda z, w, u, b: (
        sol.planar_forward(z, w, u, b)[0], sol.planar_forward(z, w, u, b)[1][:, None]),
    "NaN or ±inf": _nan_forward,
    "should be a torch tensor": lambda z, w, u, b: (z.tolist(), z[:, 0]),
    "forget the `return`": lambda z, w, u, b: None,
    "none of the typical mistakes": lambda z, w, u, b: (z * 1.5, z[:, 0]),
}


@pytest.mark.parametrize("expected", list(BROKEN_FORWARD))
def test_broken_planar_forward_gives_a_clear_message(capfd, expected) -> None:
    assert expected in failure(check.planar_layer, sol.u_hat, BROKEN_FORWARD[expected])
    assert capfd.readouterr() == ("", "")


def test_broken_u_hat_and_non_functions() -> None:
    def not_yet(w, u):
        raise NotImplementedError()

    assert "u_hat is not written yet" in failure(check.u_hat, not_yet)
    with pytest.raises(ValueError, match=r"check.planar_layer: u_hat must be your function "
                                         r"u_hat\(w, u\); got None"):
        check.planar_layer(None, sol.planar_forward)
    with pytest.raises(ValueError, match=r"planar_forward must be your function .*; got 1"):
        check.planar_layer(sol.u_hat, 1)
    assert "û should have shape (2,); got shape ()" in failure(check.u_hat, lambda w, u: w @ u)
    text = failure(check.u_hat, lambda w, u: u.half())
    assert "dtype float16, which keeps too few digits" in text


def test_a_failure_renders_its_message_in_ipython() -> None:
    with pytest.raises(CheckFailed) as info:
        check.planar_layer(sol.u_hat, CAT.for_target("planar_forward")[0].function)
    lines = info.value._render_traceback_()
    assert lines[0].startswith("✗ planar_forward(z, w, u, b): ")
    assert lines[1].startswith("  Likely mistake: ")


# ---- the inputs ---------------------------------------------------------------------------

def test_inputs_are_designed_to_show_every_mistake() -> None:
    layers = cp.layers()
    norms, wtus, sizes = [], [], set()
    for w, u, b, z in layers:
        s = z @ w + b
        assert bool(((s.abs() >= 0.3) & (s.abs() <= 2.2)).all())
        assert abs(b) >= 0.4
        norms.append(float(w.norm()))
        wtus.append(float(w @ u))
        sizes.add(len(z))
    assert all(abs(n - 1) >= 0.25 for n in norms) and min(norms) <= 0.05 and max(norms) >= 6
    assert all(abs(a - math.log(math.e - 1)) >= 0.2 for a in wtus) and max(map(abs, wtus)) <= 6
    assert min(wtus) <= -4 and min(map(abs, wtus)) < 0.01 and sizes == {1, 7}
    assert {c.dtype for c in cp.planar_forward_cases()} == {torch.float32, torch.float64}
    assert [float(c.args[0].sum()) for c in cp.u_hat_cases()] == \
        [float(c.args[0].sum()) for c in cp.u_hat_cases()]  # seeded: the same every time


vector = st.tuples(st.floats(-3, 3), st.floats(-3, 3)).filter(lambda v: math.hypot(*v) > 0.1)


@given(w=vector, u=vector, b=st.floats(-2, 2),
       z=st.lists(st.tuples(st.floats(-3, 3), st.floats(-3, 3)), min_size=1, max_size=5))
def test_the_solution_the_engine_and_autograd_agree(w, u, b, z) -> None:
    """The checker's reference (the engine's Planar) is the solution, and the solution's
    log_det is the log-determinant of its own Jacobian (autograd)."""
    w, u = torch.tensor(w, dtype=torch.float64), torch.tensor(u, dtype=torch.float64)
    z = torch.tensor(z, dtype=torch.float64)
    x, log_det = sol.planar_forward(z, w, u, b)
    with torch.no_grad():
        x_ref, ld_ref = Planar(w, u, torch.tensor(b, dtype=torch.float64))(z)
    torch.testing.assert_close(x, x_ref)
    torch.testing.assert_close(log_det, ld_ref)
    torch.testing.assert_close(sol.u_hat(w, u), cp.reference_u_hat(w, u))
    for i in range(len(z)):
        jac = torch.autograd.functional.jacobian(
            lambda p: sol.planar_forward(p[None], w, u, b)[0][0], z[i])
        torch.testing.assert_close(log_det[i], torch.linalg.slogdet(jac)[1])
