"""``check.preimage_radius`` and ``check.radial_inverse``: the solution and correct variants pass,
every catalogued mistake fails with its own message, broken code gives a clear CheckFailed, and
nothing is written to stderr."""

from __future__ import annotations

import inspect
import math

import check_solutions as sol
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from nfwidgets import check
from nfwidgets.check import CheckFailed
from nfwidgets.check import radial as cr
from nfwidgets.check._report import agree
from nfwidgets.flows import Radial

CAT = cr.CAT
RADIUS = CAT.for_target("preimage_radius")
INVERSE = CAT.for_target("radial_inverse")


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

def radius_stable(rho, alpha, beta):  # the root without cancellation, 2c/(−b ∓ √D)
    q = alpha + beta - rho
    root = torch.sqrt(q * q + 4 * alpha * rho)
    return torch.where(q > 0, 2 * alpha * rho / (q + root), (root - q) / 2)


def radius_numpy(rho, alpha, beta):
    q = alpha + beta - rho.numpy()
    return (np.sqrt(q**2 + 4 * alpha * rho.numpy()) - q) / 2


def radius_loop(rho, alpha, beta):
    out = []
    for p in rho.tolist():
        q = alpha + beta - p
        out.append((-q + math.sqrt(q * q + 4 * alpha * p)) / 2)
    return torch.tensor(out, dtype=rho.dtype)


def inverse_unit_vector(x, z0, alpha, beta):  # z − z0 = r · (x − z0)/ρ
    d = x.shape[1]
    diff = x - z0
    rho = diff.norm(dim=1, keepdim=True)
    r = preimage_radius(rho[:, 0], alpha, beta)[:, None]
    z = z0 + r * diff / rho
    h = 1 / (alpha + r[:, 0])
    log_det = -(d - 1) * torch.log1p(beta * h) - torch.log1p(alpha * beta * h * h)
    return z, log_det


def inverse_loop(x, z0, alpha, beta):
    zs, lds = [], []
    for point in x:
        rho = torch.sqrt(((point - z0) ** 2).sum())
        r = preimage_radius(rho[None], alpha, beta)[0]
        scale = (alpha + r) / (alpha + beta + r)
        zs.append(z0 + scale * (point - z0))
        first = 1 + beta / (alpha + r)
        second = 1 + alpha * beta / (alpha + r) ** 2
        lds.append(-((len(point) - 1) * torch.log(first) + torch.log(second)))
    return torch.stack(zs), torch.stack(lds)


def inverse_float32(x, z0, alpha, beta):
    return sol.radial_inverse(x.float(), z0.float(), alpha, beta)


preimage_radius = sol.preimage_radius  # the name the inverse variants call


@pytest.mark.parametrize("fn", [sol.preimage_radius, radius_stable, radius_numpy, radius_loop])
def test_correct_preimage_radius_passes(capfd, fn) -> None:
    out = passes(capfd, check.preimage_radius, fn)
    assert "float64 and float32" in out
    passes(capfd, check.radial_inverse, fn, sol.radial_inverse)


@pytest.mark.parametrize("fn", [sol.radial_inverse, inverse_unit_vector, inverse_loop,
                                inverse_float32])
def test_correct_radial_inverse_passes(capfd, fn) -> None:
    out = passes(capfd, check.radial_inverse, sol.preimage_radius, fn)
    assert "2-D and 3-D" in out and "float64 and float32" in out


# ---- the catalogue ----------------------------------------------------------------------

def test_catalogue_is_complete_and_its_messages_distinct() -> None:
    keys = {m.key for m in CAT.mistakes}
    assert {"wrong_root", "linear_sign", "no_half", "returned_rho", "applied_forward"} <= keys
    assert {"rho_in_h", "forgot_power", "exponent_d", "forward_log_det", "h_prime_sign",
            "forgot_add_z0", "ignored_z0", "log_det_summed", "scale_inverted"} <= keys
    assert len(RADIUS) >= 6 and len(INVERSE) >= 13
    messages = [m.message for m in CAT.mistakes]
    assert len(set(messages)) == len(messages)
    assert len({m.function.__name__ for m in CAT.mistakes}) == len(CAT.mistakes)


@pytest.mark.parametrize("mistake", RADIUS, ids=lambda m: m.key)
def test_every_preimage_radius_mistake_fails_with_its_own_message(capfd, mistake) -> None:
    for text in (failure(check.preimage_radius, mistake.function),
                 failure(check.radial_inverse, mistake.function, sol.radial_inverse)):
        assert text.startswith("preimage_radius(rho, alpha, beta")
        assert text.endswith(f"Likely mistake: {mistake.message}")
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("mistake", INVERSE, ids=lambda m: m.key)
def test_every_radial_inverse_mistake_fails_with_its_own_message(capfd, mistake) -> None:
    text = failure(check.radial_inverse, sol.preimage_radius, mistake.function)
    assert text.startswith("radial_inverse(x, z0, alpha, beta")
    assert text.endswith(f"Likely mistake: {mistake.message}")
    assert capfd.readouterr() == ("", "")


def pasted(mistake, target: str, namespace: dict):
    """The mistake as a learner's notebook would hold it (source renamed to ``target``), with
    only torch and the learner's other (correct) function in scope."""
    source = inspect.getsource(mistake.function)
    source = source[source.index("def "):].replace(mistake.function.__name__, target, 1)
    scope = {"torch": torch, **namespace}
    exec(source, scope)
    return scope[target]


@pytest.mark.parametrize("mistake", CAT.mistakes, ids=lambda m: m.key)
def test_every_mistake_pasted_into_a_notebook_fails_with_its_own_message(mistake) -> None:
    fn = pasted(mistake, mistake.target, {"preimage_radius": sol.preimage_radius})
    if mistake.target == "preimage_radius":
        text = failure(check.radial_inverse, fn, sol.radial_inverse)
    else:
        text = failure(check.radial_inverse, sol.preimage_radius, fn)
    assert text.endswith(mistake.message)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_every_mistake_shows_in_each_dtype_and_no_two_agree(dtype) -> None:
    for target, cases in (("preimage_radius", cr.preimage_radius_cases()),
                          ("radial_inverse", cr.radial_inverse_cases())):
        cases = [c for c in cases if c.dtype == dtype]
        want = [c.want if len(c.want) > 1 else c.want[0] for c in cases]
        outs = {}
        for m in CAT.for_target(target):
            outs[m.key] = [m.function(*c.fresh_args()) for c in cases]
            assert not all(agree(o, w, dtype) for o, w in zip(outs[m.key], want, strict=True)), m
        keys = list(outs)
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                assert not all(agree(p, q, torch.float32)
                               for p, q in zip(outs[a], outs[b], strict=True)), (a, b)


def test_forgotten_power_shows_only_in_3d() -> None:
    """Why the check has 3-D layers: in 2-D, d − 1 = 1 and the slip is invisible."""
    m = next(m for m in INVERSE if m.key == "forgot_power")
    for case in cr.radial_inverse_cases():
        same = agree(m.function(*case.fresh_args()), case.want, case.dtype)
        assert same == (case.args[0].shape[1] == 2)


# ---- broken learner code ----------------------------------------------------------------

BROKEN_INVERSE = {
    "not written yet": lambda x, z0, alpha, beta: (x, ...),
    "raised NameError": lambda x, z0, alpha, beta: (x, norm(x)),  # noqa: F821
    "should return the 2 values": lambda x, z0, alpha, beta: x,
    "z should have shape": lambda x, z0, alpha, beta: (x[:, :1], x[:, 0]),
    "log_det should have shape": lambda x, z0, alpha, beta: (x, x),
    "NaN or ±inf": lambda x, z0, alpha, beta: (x, torch.log(x[:, 0] - x[:, 0])),
    "should be a torch tensor": lambda x, z0, alpha, beta: (x, x[:, 0].tolist()),
    "none of the typical mistakes": lambda x, z0, alpha, beta: (x, x[:, 0]),
}


@pytest.mark.parametrize("expected", list(BROKEN_INVERSE))
def test_broken_radial_inverse_gives_a_clear_message(capfd, expected) -> None:
    assert expected in failure(check.radial_inverse, sol.preimage_radius, BROKEN_INVERSE[expected])
    assert capfd.readouterr() == ("", "")


def test_broken_preimage_radius() -> None:
    def not_yet(rho, alpha, beta):
        raise NotImplementedError()

    assert "preimage_radius is not written yet" in failure(check.preimage_radius, not_yet)
    with pytest.raises(ValueError, match=r"preimage_radius must be your function .*; got 'r'"):
        check.radial_inverse("r", sol.radial_inverse)
    assert "got shape ()" in failure(check.preimage_radius, lambda rho, a, b: rho.sum())
    text = failure(check.preimage_radius, lambda rho, a, b: torch.round(rho).long())
    assert "dtype int64, which keeps too few digits" in text


# ---- the inputs ---------------------------------------------------------------------------

def test_inputs_are_designed_to_show_every_mistake() -> None:
    layers = cr.layers()
    betas = [beta / alpha for _, alpha, beta, _ in layers]
    assert min(betas) <= -0.85 and min(betas) > -1 and max(betas) >= 5
    assert all(abs(beta) >= 0.2 for _, _, beta, _ in layers)
    radii = torch.cat([(x - z0).norm(dim=1) for z0, _, _, x in layers])
    assert float(radii.min()) < 2e-3 and float(radii.min()) > 0 and float(radii.max()) > 200
    assert all(float(z0.abs().max()) > 0.1 for z0, *_ in layers)
    assert {x.shape[1] for *_, x in layers} == {2, 3} and {len(x) for *_, x in layers} == {1, 7}
    assert any(float(c.args[0].min()) == 0 for c in cr.preimage_radius_cases())
    assert {c.dtype for c in cr.radial_inverse_cases()} == {torch.float32, torch.float64}


@given(alpha=st.floats(0.05, 5), ratio=st.floats(-0.99, 10), dim=st.sampled_from([1, 2, 3]),
       rho=st.lists(st.floats(1e-3, 100), min_size=1, max_size=5), seed=st.integers(0, 99))
def test_the_solution_the_engine_and_autograd_agree(alpha, ratio, dim, rho, seed) -> None:
    """The checker's reference (the engine's exact inverse) is the solution; the solution's
    inverse undoes the forward map and its log_det is ln|det| of its own Jacobian."""
    beta = ratio * alpha
    g = torch.Generator().manual_seed(seed)
    z0 = torch.randn(dim, generator=g, dtype=torch.float64)
    direction = torch.randn(len(rho), dim, generator=g, dtype=torch.float64)
    x = z0 + torch.tensor(rho, dtype=torch.float64)[:, None] * torch.nn.functional.normalize(
        direction, dim=1)
    z, log_det = sol.radial_inverse(x, z0, alpha, beta)
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    layer = Radial(z0, t(alpha), t(beta), constrain=False)
    with torch.no_grad():
        z_ref, ld_ref = layer.inverse(x)
        x_back, _ = layer(z)
    torch.testing.assert_close(z, z_ref)
    torch.testing.assert_close(log_det, ld_ref)
    torch.testing.assert_close(x_back, x)
    for i in range(len(x)):
        jac = torch.autograd.functional.jacobian(
            lambda p: sol.radial_inverse(p[None], z0, alpha, beta)[0][0], x[i])
        torch.testing.assert_close(log_det[i], torch.linalg.slogdet(jac)[1])
