"""Diagnostics: mode masses per target, plateau hints, the variational bound and its reference."""

from __future__ import annotations

import math

import pytest
import torch

from nfwidgets.diagnostics import (
    PlateauDetector,
    bound_reference,
    has_modes,
    mode_masses,
    mode_names,
    reference_mode_masses,
    variational_bound,
)
from nfwidgets.flows import ElementwiseAffine, Flow, Planar
from nfwidgets.targets import ENERGY_NAMES, TOY_DATA_NAMES, energy, toy_data

MULTIMODAL = ["U1", "U3", "U4", "two_moons", "eight_gaussians", "rings", "pinwheel",
              "two_spirals"]


# --- mode masses --------------------------------------------------------------------------------


def test_which_targets_have_modes() -> None:
    for name in (*ENERGY_NAMES, *TOY_DATA_NAMES):
        assert has_modes(name) == (name in MULTIMODAL), name
    assert has_modes(energy("U1")) and not has_modes(energy("U2"))
    assert has_modes("u3") and has_modes(" Eight_Gaussians ")
    assert not has_modes("nothing") and not has_modes("draw")
    with pytest.raises(ValueError, match="target must be an Energy or a target's name; got 3"):
        has_modes(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", MULTIMODAL)
def test_masses_are_fractions_that_sum_to_one(name: str) -> None:
    g = torch.Generator().manual_seed(0)
    samples = 5.0 * torch.randn(3000, 2, generator=g)  # far-out points belong somewhere too
    masses = mode_masses(name, samples)
    assert list(masses) == mode_names(name)
    assert all(0.0 <= v <= 1.0 for v in masses.values())
    assert sum(masses.values()) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(("name", "k"), [("two_moons", 2), ("eight_gaussians", 8), ("rings", 4),
                                         ("pinwheel", 5), ("two_spirals", 2)])
def test_toy_data_spreads_evenly_over_its_modes(name: str, k: int) -> None:
    masses = mode_masses(name, toy_data(name, 20_000, seed=3))
    assert len(masses) == k
    for v in masses.values():
        assert v == pytest.approx(1.0 / k, abs=0.02), masses


def test_points_of_one_mode_are_counted_there() -> None:
    angle = torch.tensor([3 * math.pi / 4])  # the NW blob
    centre = (4.0 / 1.414) * torch.stack((torch.cos(angle), torch.sin(angle)), dim=1)
    blob = centre + 0.3 * torch.randn(500, 2, generator=torch.Generator().manual_seed(1))
    masses = mode_masses("eight_gaussians", blob)
    assert masses["blob NW"] == 1.0 and sum(masses.values()) == 1.0

    t = torch.linspace(0.1, math.pi - 0.1, 50)
    upper = 2.0 * torch.stack((torch.cos(t), torch.sin(t)), dim=1) + torch.tensor([-1.0, -0.2])
    assert mode_masses("two_moons", upper)["upper moon"] == 1.0
    assert mode_masses("rings", torch.tensor([[0.0, 2.3], [-2.2, 0.0]]))["ring r = 2.25"] == 1.0


def test_energy_modes() -> None:
    left = torch.tensor([[-2.0, 0.1], [-0.01, -3.0]])
    assert mode_masses("U1", left) == {"left lobe (z₁ < 0)": 1.0, "right lobe (z₁ ≥ 0)": 0.0}
    # U3: at z₁ = 1 the lower ridge z₂ = w₁ - w₂ = 1 - 3 = -2 is far below the upper one.
    lower = torch.tensor([[1.0, -2.0], [1.0, -1.4]])
    assert mode_masses(energy("U3"), lower)["lower ridge z₂ = w₁ - w₂"] == 1.0
    # Where the ridges coincide (z₁ = -3, w₂ ≈ 0) there is only the upper ridge, below or not.
    assert mode_masses("U3", torch.tensor([[-3.0, -2.0], [-3.0, 2.0]]))[
        "upper ridge z₂ = w₁"] == 1.0
    # U4: for z₁ ≳ 2 the lower ridge sits 3 below the upper one.
    masses = mode_masses("U4", torch.tensor([[3.0, -4.0], [3.0, -1.0], [-3.0, -1.0]]))
    assert masses["lower ridge z₂ = w₁ - w₃"] == pytest.approx(1 / 3)


def test_non_finite_samples_are_left_out() -> None:
    z = torch.tensor([[-1.0, 0.0], [float("nan"), 0.0], [1.0, float("inf")], [2.0, 0.0]])
    assert mode_masses("U1", z) == {"left lobe (z₁ < 0)": 0.5, "right lobe (z₁ ≥ 0)": 0.5}
    with pytest.raises(ValueError, match="samples must hold at least one finite point"):
        mode_masses("U1", torch.full((3, 2), float("nan")))


@pytest.mark.parametrize("target", ["U2", "checkerboard", energy("U2")])
def test_targets_without_modes_say_which_have_them(target: object) -> None:
    with pytest.raises(ValueError, match=r"has no separate modes.*U1, U3, U4, two_moons"):
        mode_masses(target, torch.zeros(3, 2))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="has no separate modes"):
        mode_names(target)  # type: ignore[arg-type]


@pytest.mark.parametrize(("samples", "match"), [
    (torch.zeros(3, 3), r"shape \(N, 2\); got shape \(3, 3\)"),
    (torch.zeros(3), r"shape \(N, 2\); got shape \(3,\)"),
    ([[0.0, 0.0]], r"got \[\[0.0, 0.0\]\]"),
    (torch.zeros(3, 2, dtype=torch.long), "floating point"),
])
def test_bad_samples_raise(samples: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        mode_masses("U1", samples)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a known target"):
        mode_masses("moons", torch.zeros(3, 2))


def test_reference_masses() -> None:
    u1 = reference_mode_masses("U1")
    assert list(u1.values()) == pytest.approx([0.5, 0.5], abs=1e-9)  # U1 is symmetric in z₁
    for name in ("U3", "U4"):
        ref = reference_mode_masses(name)
        assert sum(ref.values()) == pytest.approx(1.0)
        upper, lower = ref.values()
        assert 0.05 < lower < upper  # the lower branch is real but smaller
    eight = reference_mode_masses("eight_gaussians")
    assert list(eight.values()) == pytest.approx([1 / 8] * 8, abs=0.01)


def test_reference_masses_agree_with_samples_of_the_energy() -> None:
    # Rejection-sample exp(-U3) on the box and count: the same masses as the quadrature.
    # (U3 ≥ -ln 2, so exp(-U3)/2 ≤ 1 is an acceptance probability.)
    u3 = energy("U3")
    g = torch.Generator().manual_seed(0)
    z = 8.0 * torch.rand(400_000, 2, generator=g, dtype=torch.float64) - 4.0
    keep = torch.rand(z.shape[0], generator=g, dtype=torch.float64) < 0.5 * torch.exp(-u3(z))
    sampled = mode_masses(u3, z[keep])
    for key, value in reference_mode_masses(u3).items():
        assert sampled[key] == pytest.approx(value, abs=0.01)


# --- plateau detection ----------------------------------------------------------------------


def _feed(detector: PlateauDetector, losses: list[float]) -> list[str | None]:
    return [detector.update(step, loss) for step, loss in enumerate(losses, start=1)]


def test_a_falling_loss_gives_no_hint() -> None:
    hints = _feed(PlateauDetector(window=100, min_improvement=0.01),
                  [5.0 - 0.01 * t for t in range(400)])
    assert hints == [None] * 400


def test_a_flat_loss_is_a_plateau_once_the_window_is_full() -> None:
    g = torch.Generator().manual_seed(0)
    noise = (0.03 * torch.randn(600, generator=g)).tolist()
    losses = [1.0 + 2.0 * math.exp(-t / 50) + e for t, e in enumerate(noise)]  # falls, then flat
    det = PlateauDetector(window=200, min_improvement=0.01)
    hints = _feed(det, losses)
    assert hints[:199] == [None] * 199
    assert hints[199] is None  # still falling over the first window
    assert all(h is not None and h.startswith("Plateau") for h in hints[500:])
    assert "0.01" in hints[-1] and "200 steps" in hints[-1] and "learning rate" in hints[-1]
    assert det.hint == hints[-1]


def test_hysteresis_keeps_a_plateau_until_clear_progress() -> None:
    det = PlateauDetector(window=10, min_improvement=0.1)
    assert _feed(det, [1.0] * 10)[-1] is not None
    # Older half 1.0, newer half 0.85: an improvement of 0.15 < 2 × 0.1 keeps the plateau ...
    assert det.update(11, 0.85) is not None
    for step in range(12, 16):
        det.update(step, 0.85)
    assert det.hint is not None
    # ... while a fresh detector sees the same window as progress.
    assert _feed(PlateauDetector(window=10, min_improvement=0.1), [1.0] * 5 + [0.85] * 5)[
        -1] is None
    # An improvement of 0.35 > 2 × 0.1 ends the plateau.
    for step in range(16, 21):
        det.update(step, 0.5)
    assert det.hint is None


def test_plateau_at_the_floor_is_convergence() -> None:
    det = PlateauDetector(window=20, min_improvement=0.01, floor=2.83)
    hints = _feed(det, [2.85] * 40)
    assert hints[-1] is not None and hints[-1].startswith("Converged")
    det = PlateauDetector(window=20, min_improvement=0.01, floor=2.0)
    assert _feed(det, [2.85] * 40)[-1].startswith("Plateau")


def test_a_rising_loss_asks_for_a_smaller_learning_rate() -> None:
    losses = [1.0 + 0.01 * t for t in range(50)]
    assert "smaller learning rate" in _feed(PlateauDetector(window=20), losses)[-1]
    assert _feed(PlateauDetector(window=20, detect_rise=False), losses)[-1].startswith("Plateau")


def test_non_finite_losses_are_ignored_and_results_are_deterministic() -> None:
    losses = [2.0 + 0.001 * math.sin(t) for t in range(60)]
    noisy = []
    for i, v in enumerate(losses):
        noisy.append(v)
        if i % 7 == 0:
            noisy += [float("nan"), float("inf"), -float("inf")]
    clean_hints = _feed(PlateauDetector(window=40), losses)
    noisy_hints = [h for h in _feed(PlateauDetector(window=40), noisy) if h is not None]
    assert clean_hints[-1] is not None
    assert noisy_hints[-1] == clean_hints[-1]
    assert _feed(PlateauDetector(window=40), losses) == clean_hints


def test_reset_and_restarted_steps() -> None:
    det = PlateauDetector(window=10)
    assert _feed(det, [1.0] * 10)[-1] is not None
    det.reset()
    assert det.hint is None and det.update(11, 1.0) is None
    _feed(det, [1.0] * 10)  # steps 1..10 again: the detector restarts at step 1
    assert det.hint is not None
    assert det.update(1, 1.0) is None  # a step going back means training restarted


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"window": 3}, "window"), ({"window": 11}, "even"), ({"window": 2.0}, "window"),
    ({"min_improvement": 0}, "min_improvement"), ({"min_improvement": float("nan")}, "min_imp"),
    ({"floor": float("inf")}, "floor"), ({"floor_tolerance": -1}, "floor_tolerance"),
])
def test_plateau_detector_bad_settings(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PlateauDetector(**kwargs)


# --- the variational bound ------------------------------------------------------------------


def _gaussian_energy(x: torch.Tensor) -> torch.Tensor:
    """U(x) = ½‖x‖²: p = N(0, I), ln Z = ln 2π."""
    return 0.5 * (x ** 2).sum(dim=1)


def test_bound_is_exact_when_q_equals_p() -> None:
    flow = Flow([ElementwiseAffine([0.0, 0.0], [0.0, 0.0])])
    f, se = variational_bound(flow, _gaussian_energy, n_samples=512)
    assert f == pytest.approx(-math.log(2 * math.pi), abs=1e-6)
    assert se == pytest.approx(0.0, abs=1e-6)


def test_bound_gap_is_the_kl_divergence() -> None:
    # q = N(μ, I), p = N(0, I): F = -ln 2π + KL(q‖p) = -ln 2π + ½‖μ‖².
    flow = Flow([ElementwiseAffine([0.0, 0.0], [1.0, -2.0])])
    f, se = variational_bound(flow, _gaussian_energy, n_samples=20_000,
                              generator=torch.Generator().manual_seed(5))
    assert 0 < se < 0.05
    assert f == pytest.approx(-math.log(2 * math.pi) + 2.5, abs=4 * se)


def test_bound_on_u1_is_above_minus_log_z_and_deterministic() -> None:
    g = torch.Generator().manual_seed(0)
    flow = Flow([Planar(torch.randn(2, generator=g), torch.randn(2, generator=g), 0.1)
                 for _ in range(4)])
    f1, se = variational_bound(flow, "U1")
    f2, _ = variational_bound(flow, energy("U1"))
    assert f1 == f2  # generator=None: the same private seed every call
    assert f1 > bound_reference("U1") + 3 * se
    state = torch.random.get_rng_state()
    variational_bound(flow, "U1", n_samples=64)
    assert torch.equal(state, torch.random.get_rng_state())  # the global RNG is untouched


def test_bound_reference_is_minus_log_z() -> None:
    assert bound_reference("u2") == -energy("U2").log_z
    assert bound_reference(energy("U1")) == pytest.approx(-1.878, abs=1e-3)
    with pytest.raises(ValueError, match=r"energy.*U9"):
        bound_reference("U9")
    with pytest.raises(ValueError, match="must be an Energy"):
        bound_reference(1.0)  # type: ignore[arg-type]


def test_bound_bad_input_and_non_finite_values() -> None:
    flow = Flow([ElementwiseAffine([0.0, 0.0], [0.0, 0.0])])
    with pytest.raises(ValueError, match="flow must be an nfwidgets Flow"):
        variational_bound(torch.nn.Linear(2, 2), "U1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"n_samples must be an integer in \[2, 10000000\]; got 1"):
        variational_bound(flow, "U1", n_samples=1)
    with pytest.raises(ValueError, match="energy must be"):
        variational_bound(flow, 3.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\d+ of 100 samples gave a non-finite"):
        variational_bound(flow, lambda x: torch.where(x[:, 0] > 0, torch.inf, 0.0),
                          n_samples=100)


def test_plateau_detector_refuses_what_is_not_a_number() -> None:
    detector = PlateauDetector(window=4)
    for step, loss in ((1, "0.5"), (1, True), ("1", 0.5), (-1, 0.5)):
        with pytest.raises(ValueError, match=r"step|loss"):
            detector.update(step, loss)
    assert detector.update(1, float("nan")) is None  # ignored by design
    assert detector.update(2, torch.tensor(0.5)) is None  # a 0-d tensor is a number
    with pytest.raises(ValueError, match="detect_rise must be True or False"):
        PlateauDetector(detect_rise="False")


def test_bound_refuses_an_energy_of_the_wrong_shape() -> None:
    flow = Flow([Planar([1.0, 0.0], [0.5, 0.0], 0.0)])
    with pytest.raises(ValueError, match=r"energy must give one value per point"):
        variational_bound(flow, lambda x: x, n_samples=8)
