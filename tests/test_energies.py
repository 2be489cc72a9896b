"""Tests for nfwidgets.targets.energies: U1–U4, their normalisers, confinement and samples."""

from __future__ import annotations

import math

import pytest
import torch

from nfwidgets.targets import (
    ENERGY_NAMES,
    Energy,
    energies,
    energy,
)

# --------------------------------------------------------------------------------------------
# Energies: reference values computed by hand from Table 1 with the math module
# --------------------------------------------------------------------------------------------


def _neg_log_add_exp(a: float, b: float) -> float:
    return -math.log(math.exp(a) + math.exp(b))


def _w1(z1: float) -> float:
    return math.sin(2 * math.pi * z1 / 4)


def _w2(z1: float) -> float:
    return 3 * math.exp(-0.5 * ((z1 - 1) / 0.6) ** 2)


def _w3(z1: float) -> float:
    return 3 / (1 + math.exp(-(z1 - 1) / 0.3))


def _u_by_hand(name: str, z1: float, z2: float) -> float:
    if name == "U1":
        r = math.hypot(z1, z2)
        return 0.5 * ((r - 2) / 0.4) ** 2 + _neg_log_add_exp(
            -0.5 * ((z1 - 2) / 0.6) ** 2, -0.5 * ((z1 + 2) / 0.6) ** 2
        )
    if name == "U2":
        return 0.5 * ((z2 - _w1(z1)) / 0.4) ** 2
    if name == "U3":
        return _neg_log_add_exp(
            -0.5 * ((z2 - _w1(z1)) / 0.35) ** 2, -0.5 * ((z2 - _w1(z1) + _w2(z1)) / 0.35) ** 2
        )
    return _neg_log_add_exp(
        -0.5 * ((z2 - _w1(z1)) / 0.4) ** 2, -0.5 * ((z2 - _w1(z1) + _w3(z1)) / 0.35) ** 2
    )


POINTS = [(2.0, 0.0), (1.0, 1.0), (0.0, 1.0), (1.0, 0.0), (-1.3, 0.7), (0.4, -2.9), (3.5, 3.9)]


@pytest.mark.parametrize("name", ENERGY_NAMES)
def test_energy_matches_hand_computation(name: str) -> None:
    z = torch.tensor(POINTS, dtype=torch.float64)
    expected = torch.tensor([_u_by_hand(name, *p) for p in POINTS], dtype=torch.float64)
    torch.testing.assert_close(energy(name)(z), expected, rtol=1e-12, atol=1e-12)


def test_energy_closed_form_values() -> None:
    z = torch.tensor([[2.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    u1, u2, u3, u4 = (energy(name)(z) for name in ENERGY_NAMES)
    # U1 on the ring, at the centre of a blob: only the (tiny) far-blob term remains.
    assert u1[0].item() == pytest.approx(-math.log1p(math.exp(-0.5 * (4 / 0.6) ** 2)), abs=1e-15)
    # U2 vanishes on the ridge z₂ = sin(πz₁/2): sin(π/2) = 1.
    assert u2[1].item() == pytest.approx(0.0, abs=1e-15)
    assert u2[2].item() == pytest.approx(0.5 * (1 / 0.4) ** 2)  # 3.125
    # U3 at (1, 0): w₁ = 1, w₂ = 3 → arguments -½(1/0.35)² and -½(2/0.35)².
    a, b = -0.5 * (1 / 0.35) ** 2, -0.5 * (2 / 0.35) ** 2
    assert u3[3].item() == pytest.approx(-math.log(math.exp(a) + math.exp(b)), rel=1e-12)
    # U4 at (1, 0): w₁ = 1, w₃ = 3σ(0) = 1.5 → arguments -½(1/0.4)² and -½(0.5/0.35)².
    a, b = -0.5 * (1 / 0.4) ** 2, -0.5 * (0.5 / 0.35) ** 2
    assert u4[3].item() == pytest.approx(-math.log(math.exp(a) + math.exp(b)), rel=1e-12)


@pytest.mark.parametrize("name", ENERGY_NAMES)
def test_log_density_is_minus_energy_and_shape(name: str) -> None:
    z = torch.randn(17, 2, generator=torch.Generator().manual_seed(1))
    e = energy(name)
    u = e(z)
    assert u.shape == (17,)
    torch.testing.assert_close(e.log_density(z), -u)


@pytest.mark.parametrize("name", ENERGY_NAMES)
def test_float32_agrees_with_float64_and_dtype_is_preserved(name: str) -> None:
    z64 = (
        8 * torch.rand(500, 2, generator=torch.Generator().manual_seed(2), dtype=torch.float64) - 4
    )
    z32 = z64.float()
    u32, u64 = energy(name)(z32), energy(name)(z64)
    assert u32.dtype == torch.float32 and u64.dtype == torch.float64
    torch.testing.assert_close(u32.double(), u64, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ENERGY_NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_no_overflow_at_extreme_inputs(name: str, dtype: torch.dtype) -> None:
    r = 1e3
    z = torch.tensor(
        [[r, 0.0], [-r, 0.0], [0.0, r], [0.0, -r], [r, r], [-r, r], [r, -r], [0.0, 0.0]],
        dtype=dtype,
        requires_grad=True,
    )
    u = energy(name)(z)
    assert torch.isfinite(u).all(), u
    u.sum().backward()
    assert z.grad is not None and torch.isfinite(z.grad).all(), z.grad


def test_u1_gradient_at_origin_is_finite() -> None:
    z = torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)
    energy("U1")(z).sum().backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()


def test_energy_gradient_matches_finite_differences() -> None:
    z = torch.tensor([[0.3, -0.8], [1.7, 2.2]], dtype=torch.float64, requires_grad=True)
    for name in ENERGY_NAMES:
        assert torch.autograd.gradcheck(energy(name), (z,))


LOG_Z_REFERENCE = {"U1": 1.878, "U2": 2.083, "U3": 2.642, "U4": 2.685}


@pytest.mark.parametrize("name", ENERGY_NAMES)
def test_log_z_matches_reference(name: str) -> None:
    log_z = energy(name).log_z
    assert isinstance(log_z, float)
    assert log_z == pytest.approx(LOG_Z_REFERENCE[name], abs=0.005)
    # The quadrature has converged: a grid twice as fine gives the same value.
    assert energies._log_z_on_box(name, 2000) == pytest.approx(log_z, abs=1e-6)


def test_log_z_normalises_the_density_on_the_box() -> None:
    # Independent check by Monte Carlo: Z = 64 · E_{z ~ U([-4,4]²)}[exp(-U(z))].
    g = torch.Generator().manual_seed(3)
    z = 8 * torch.rand(400_000, 2, generator=g, dtype=torch.float64) - 4
    u1 = energy("U1")
    estimate = math.log(64 * torch.exp(u1.log_density(z)).mean().item())
    assert estimate == pytest.approx(u1.log_z, abs=0.02)


def test_energy_metadata() -> None:
    for name in ENERGY_NAMES:
        e = energy(name)
        assert isinstance(e, Energy) and e.name == name
        assert e.bounds == ((-4.0, 4.0), (-4.0, 4.0))
        assert e.description and "[-4, 4]²" in e.domain_note
    assert "not integrable" not in energy("U1").domain_note
    for name in ("U2", "U3", "U4"):
        assert "not integrable" in energy(name).domain_note


def test_energy_names_are_case_insensitive() -> None:
    assert energy("u3") is energy("U3")


@pytest.mark.parametrize("bad", ["u5", "", "ring", 1])
def test_energy_bad_name(bad: object) -> None:
    with pytest.raises(ValueError) as info:
        energy(bad)  # type: ignore[arg-type]
    assert repr(bad) in str(info.value) and "U1, U2, U3, U4" in str(info.value)


@pytest.mark.parametrize(
    ("z", "shape"),
    [
        (torch.zeros(5, 3), r"\(5, 3\)"),
        (torch.zeros(2), r"\(2,\)"),
        (torch.zeros(4, 2, 1), r"\(4, 2, 1\)"),
        ([[0.0, 1.0]], "list"),
    ],
)
def test_energy_bad_shape(z: object, shape: str) -> None:
    with pytest.raises(ValueError, match=shape) as info:
        energy("U2")(z)  # type: ignore[arg-type]
    assert "(N, 2)" in str(info.value)


def test_energy_rejects_integer_tensor() -> None:
    with pytest.raises(ValueError, match="int64"):
        energy("U1")(torch.zeros(3, 2, dtype=torch.int64))


# --------------------------------------------------------------------------------------------
# Confined energies: U plus a smooth wall outside the box
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ENERGY_NAMES)
def test_confined_equals_u_inside_the_box(name: str) -> None:
    g = torch.Generator().manual_seed(0)
    z = 8 * torch.rand(2000, 2, generator=g, dtype=torch.float64) - 4
    plain, confined = energy(name), energy(name).confined(0.3)
    assert torch.equal(confined(z), plain(z))
    assert confined.name == name and confined.envelope == 0.3 and plain.envelope is None
    assert confined.bounds == plain.bounds and "Confined" in confined.domain_note


@pytest.mark.parametrize("name", ENERGY_NAMES)
def test_confined_grows_outside_the_box_by_the_envelope(name: str) -> None:
    s = 0.2
    d = torch.tensor([0.0, 0.1, 0.5, 1.0, 3.0], dtype=torch.float64)
    for direction in ((1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)):
        normal = torch.tensor(direction, dtype=torch.float64)
        along = torch.tensor([0.3, -0.2], dtype=torch.float64) * (1 - normal.abs())
        z = 4.0 * normal + along + d[:, None] * normal  # leaving the box through an edge
        extra = energy(name).confined(s)(z) - energy(name)(z)
        torch.testing.assert_close(extra, 0.5 * (d / s) ** 2)
    # In a corner the distance is Euclidean.
    corner = torch.tensor([[5.0, -6.0]], dtype=torch.float64)
    extra = energy(name).confined(s)(corner) - energy(name)(corner)
    torch.testing.assert_close(extra, torch.tensor([0.5 * 5.0 / s**2], dtype=torch.float64))


@pytest.mark.parametrize("name", ENERGY_NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_confined_is_finite_with_finite_gradients(name: str, dtype: torch.dtype) -> None:
    z = torch.tensor([[1e3, 0.0], [-1e3, 1e3], [4.0, 4.0], [4.0, 0.5], [0.0, 0.0]],
                     dtype=dtype, requires_grad=True)
    u = energy(name).confined()(z)
    assert torch.isfinite(u).all()
    u.sum().backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()
    zz = torch.tensor([[4.05, 0.3], [-4.2, -4.1], [3.9, 1.1]], dtype=torch.float64,
                      requires_grad=True)
    assert torch.autograd.gradcheck(energy(name).confined(0.5), (zz,))


def test_confined_envelope_gradient_is_continuous_at_the_edge() -> None:
    z = torch.tensor([[4.0 - 1e-9, 0.5], [4.0 + 1e-9, 0.5]], dtype=torch.float64,
                     requires_grad=True)
    energy("U2").confined(0.1)(z).sum().backward()
    torch.testing.assert_close(z.grad[0], z.grad[1], atol=1e-6, rtol=0)


def test_confined_log_z_of_u2_matches_the_closed_form_tail() -> None:
    # Outside the box along z₁ every column of U2 carries 0.4·√(2π) (|w₁| ≤ 1 keeps the ridge
    # far from the z₂ edges), and the envelope integrates to s·√(π/2) on each side.
    s = 0.2
    tail = 2 * 0.4 * math.sqrt(2 * math.pi) * s * math.sqrt(math.pi / 2)
    expected = math.log(math.exp(energy("U2").log_z) + tail)
    assert energy("U2").confined(s).log_z == pytest.approx(expected, abs=1e-4)


def test_confined_log_z_by_monte_carlo_and_for_u1() -> None:
    # U1 has ~1e-8 of its mass outside the box: confining it changes nothing measurable.
    assert energy("U1").confined().log_z == pytest.approx(energy("U1").log_z, abs=1e-6)
    # Independent check on the widened box [-6, 6]²: Z_c = 144 · E_uniform[exp(-U_c)].
    g = torch.Generator().manual_seed(4)
    z = 12 * torch.rand(800_000, 2, generator=g, dtype=torch.float64) - 6
    u4 = energy("U4").confined(0.2)
    estimate = math.log(144 * torch.exp(-u4(z)).mean().item())
    assert estimate == pytest.approx(u4.log_z, abs=0.02)
    assert u4.log_z > energy("U4").log_z


@pytest.mark.parametrize("bad", [0, -0.1, float("inf"), float("nan"), "1", True])
def test_confined_bad_width(bad: object) -> None:
    with pytest.raises(ValueError, match="width must be a finite number > 0"):
        energy("U2").confined(bad)  # type: ignore[arg-type]


def test_reverse_kl_on_a_confined_energy_stays_above_minus_log_z() -> None:
    from nfwidgets.flows import Flow, Planar
    from nfwidgets.train import ReverseKL

    g = torch.Generator().manual_seed(0)
    flow = Flow([Planar(0.3 * torch.randn(2, generator=g), 0.3 * torch.randn(2, generator=g))
                 for _ in range(4)])
    u2 = energy("U2").confined()
    vi = ReverseKL(flow, u2, n_samples=128, lr=1e-2, anneal_steps=0, seed=0)
    vi.run(150)
    assert vi.free_energy(4000) > -u2.log_z - 0.05


# --------------------------------------------------------------------------------------------
# Exact samples of an energy (rejection sampling)
# --------------------------------------------------------------------------------------------


def test_energy_samples_shape_dtype_determinism_and_box() -> None:
    a = energy("U3").sample(500, seed=1)
    assert a.shape == (500, 2) and a.dtype == torch.float32
    assert torch.equal(a, energy("U3").sample(500, seed=1))
    assert not torch.equal(a, energy("U3").sample(500, seed=2))
    assert bool((a.abs() <= 4).all())
    state = torch.random.get_rng_state()
    b = energy("U1").sample(3, seed=0, dtype=torch.float64)
    assert b.dtype == torch.float64 and torch.equal(state, torch.random.get_rng_state())


@pytest.mark.parametrize("name", ENERGY_NAMES)
def test_energy_samples_match_quadrature_moments(name: str) -> None:
    # E_p[z₁²] and E_p[z₂] on the box, by quadrature, against the sample means.
    u = energy(name)
    n = 400
    c = -4 + 8 * (torch.arange(n, dtype=torch.float64) + 0.5) / n
    g1, g2 = torch.meshgrid(c, c, indexing="xy")
    grid = torch.stack((g1.reshape(-1), g2.reshape(-1)), dim=1)
    w = torch.softmax(-u(grid), dim=0)
    z = u.sample(40_000, seed=0, dtype=torch.float64)
    for f in (lambda v: v[:, 0] ** 2, lambda v: v[:, 1]):
        exact = float((w * f(grid)).sum())
        values = f(z)
        se = float(values.std()) / math.sqrt(len(values))
        assert float(values.mean()) == pytest.approx(exact, abs=5 * se)


def test_confined_energy_samples_leave_the_box_as_often_as_the_tail_mass() -> None:
    u2 = energy("U2").confined(0.2)
    z = u2.sample(40_000, seed=0, dtype=torch.float64)
    outside = float((z.abs() > 4).any(dim=1).double().mean())
    expected = 1 - math.exp(energy("U2").log_z - u2.log_z)  # mass outside / total mass
    assert outside == pytest.approx(expected, abs=5 * math.sqrt(expected / len(z)))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n": 0}, "n must be a positive integer"), ({"n": 2.0}, "n must be a positive integer"),
    ({"n": 3, "seed": 0.5}, "seed must be an integer"),
    ({"n": 3, "dtype": torch.int64}, "dtype must be a floating-point"),
])
def test_energy_sample_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        energy("U1").sample(**kwargs)


@pytest.mark.parametrize("name", ENERGY_NAMES)
def test_nan_rows_propagate_row_wise(name):
    """``Energy.__call__``/``log_density`` propagate a NaN/inf row (documented), other rows
    exact."""
    u = energy(name)
    clean = torch.tensor([[0.3, -0.2], [1.0, 0.5], [-0.7, 0.1]], dtype=torch.float64)
    for bad in (math.nan, math.inf):
        z = torch.cat([torch.full((1, 2), bad, dtype=torch.float64), clean])
        got = u.log_density(z)
        assert not math.isfinite(float(got[0]))
        assert torch.equal(got[1:], u.log_density(clean))
