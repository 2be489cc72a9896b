"""Trainers: determinism, learning, annealing, the NaN guard and its rollback, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nfwidgets.flows import AffineCoupling, ElementwiseAffine, Flow, Planar
from nfwidgets.targets import energy, toy_data
from nfwidgets.train import (
    MaximumLikelihood,
    ReverseKL,
    StepInfo,
    TrainingDiverged,
    annealing_schedule,
)


def _coupling_flow(seed: int = 0, k: int = 4) -> Flow:
    torch.manual_seed(seed)
    return Flow([AffineCoupling([i % 2, 1 - i % 2]) for i in range(k)])


def _planar_flow(seed: int = 0, k: int = 4) -> Flow:
    g = torch.Generator().manual_seed(seed)
    return Flow([Planar(torch.randn(2, generator=g) * 0.3, torch.randn(2, generator=g) * 0.3,
                        0.0) for _ in range(k)])


def _params(flow: Flow) -> list[torch.Tensor]:
    return [p.detach().clone() for p in flow.parameters()]


def test_same_seed_same_run_different_seed_different_run() -> None:
    data = toy_data("two_moons", 2000, seed=1)
    runs = []
    for seed in (3, 3, 4):
        flow = _coupling_flow(0)
        MaximumLikelihood(flow, data, batch_size=128, lr=1e-2, seed=seed).run(15)
        runs.append(_params(flow))
    assert all(torch.equal(a, b) for a, b in zip(runs[0], runs[1], strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(runs[0], runs[2], strict=True))


def test_trainer_matches_a_bare_loop() -> None:
    data = toy_data("eight_gaussians", 1000, seed=0)
    flow_a = _coupling_flow(1)
    fit = MaximumLikelihood(flow_a, data, batch_size=100, lr=5e-3, seed=7)
    fit.run(12)
    flow_b = _coupling_flow(1)
    opt = torch.optim.Adam(flow_b.parameters(), lr=5e-3)
    gen = torch.Generator().manual_seed(7)
    order, pos = torch.empty(0, dtype=torch.long), 0
    for _ in range(12):
        if pos + 100 > order.shape[0]:
            order, pos = torch.randperm(1000, generator=gen), 0
        batch = data[order[pos:pos + 100]]
        pos += 100
        opt.zero_grad()
        (-flow_b.log_prob(batch).mean()).backward()
        opt.step()
    for a, b in zip(flow_a.parameters(), flow_b.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_maximum_likelihood_learns_and_approaches_the_entropy_floor() -> None:
    torch.manual_seed(0)
    data = toy_data("two_moons", 4000, seed=0)
    data = (data - data.mean(0)) / data.std(0)
    flow = Flow([AffineCoupling([i % 2, 1 - i % 2], scale="tanh") for i in range(6)])
    fit = MaximumLikelihood(flow, data, batch_size=256, lr=3e-3, seed=0)
    before = fit.nll(data)
    fit.run(400)
    after = fit.nll(data)
    assert before == pytest.approx(2 * 0.5 * math.log(2 * math.pi * math.e), abs=0.05)
    assert after < before - 0.5, (before, after)
    assert len(fit.history) == 400 and fit.step_count == 400


def test_reverse_kl_bound_is_above_minus_log_z_and_improves() -> None:
    u1 = energy("U1")
    flow = _planar_flow(0, k=8)
    vi = ReverseKL(flow, u1, n_samples=256, lr=1e-2, anneal_steps=0, seed=0)
    start = vi.free_energy(4000)
    vi.run(300)
    end = vi.free_energy(4000)
    assert end < start - 0.3
    assert end > -u1.log_z - 0.05  # F ≥ -ln Z (up to Monte Carlo error)


def test_annealing_schedule_is_the_papers() -> None:
    assert annealing_schedule(0) == pytest.approx(0.01)
    assert annealing_schedule(5000) == pytest.approx(0.51)
    assert annealing_schedule(20_000) == 1.0
    assert annealing_schedule(7, anneal_steps=0) == 1.0
    vi = ReverseKL(_planar_flow(), energy("U2"), anneal_steps=100)
    infos = [vi.step() for _ in range(3)]
    assert [i.beta for i in infos] == pytest.approx([0.02, 0.03, 0.04])


def test_callbacks_see_every_step() -> None:
    seen: list[StepInfo] = []
    vi = ReverseKL(_planar_flow(), energy("U1"), n_samples=32)
    vi.add_callback(lambda trainer, info: seen.append(info))
    vi.run(5)
    assert [i.step for i in seen] == [1, 2, 3, 4, 5]
    assert [i.loss for i in seen] == vi.history


def test_nan_guard_rolls_back_params_and_optimizer_and_says_why() -> None:
    data = toy_data("checkerboard", 500, seed=0)
    flow = Flow([ElementwiseAffine([0.0, 0.0], [0.0, 0.0])])
    fit = MaximumLikelihood(flow, data, batch_size=50, lr=0.1, seed=0)
    initial = _params(flow)
    fit.step()
    with torch.no_grad():  # diverging on step 2 restores what step 1 evaluated: the start
        flow.layers[0].shift.fill_(float("inf"))
    with pytest.raises(TrainingDiverged):
        fit.step()
    assert fit.step_count == 1 and len(fit.optimizer.state) == 0
    assert all(torch.equal(a, b) for a, b in zip(_params(flow), initial, strict=True))
    fit.step()
    # The parameters step 3 evaluates its (finite) loss at.
    good = _params(flow)
    good_state = {k: {n: v.clone() for n, v in s.items()} for k, s in
                  fit.optimizer.state.items()}
    fit.step()
    assert not torch.equal(_params(flow)[0], good[0])
    with torch.no_grad():  # a step went wrong: the parameters now produce a NaN loss
        flow.layers[0].log_scale.fill_(float("nan"))
    with pytest.raises(TrainingDiverged,
                       match=r"step 4: the loss became nan \(not a number\) .*rolled back"):
        fit.step()
    assert fit.step_count == 3 and fit.last_error is not None
    for restored, expected in zip(_params(flow), good, strict=True):
        assert torch.equal(restored, expected)
    assert len(fit.optimizer.state) == 0 and len(good_state) > 0  # moments were reset
    fit.run(2)  # training goes on from the restored state
    assert fit.step_count == 5 and fit.last_error is None
    assert all(torch.isfinite(p).all() for p in flow.parameters())


def test_divergence_from_a_huge_learning_rate_is_caught() -> None:
    data = toy_data("two_moons", 1000, seed=0)
    flow = _coupling_flow(0)
    for layer in flow.layers:
        layer.scale = "exp"
    fit = MaximumLikelihood(flow, data, batch_size=256, lr=1e6, seed=0)
    with pytest.raises(TrainingDiverged) as err:
        fit.run(200)
    assert "lr = 1e+06" in str(err.value)
    assert "training stopped" in str(err.value) and "smaller learning rate" in str(err.value)
    assert all(torch.isfinite(p).all() for p in flow.parameters())
    assert all(math.isfinite(v) for v in fit.history)
    assert fit.step_count == len(fit.history) < 200


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"lr": 0}, "lr must be a finite number > 0"),
    ({"lr": float("nan")}, "lr must be"),
    ({"batch_size": 0}, r"batch_size must be a positive integer ≤ 10000000"),
    ({"seed": 1.5}, "seed must be an integer"),
    ({"grad_clip": -1.0}, "grad_clip"),
])
def test_bad_settings_raise(kwargs: dict, match: str) -> None:
    data = toy_data("rings", 100, seed=0)
    with pytest.raises(ValueError, match=match):
        MaximumLikelihood(_coupling_flow(), data, **kwargs)


def test_bad_data_and_energy_raise() -> None:
    with pytest.raises(ValueError,
                       match=r"per dimension of the flow \(flow.dim = 2\); got shape \(10, 3\)"):
        MaximumLikelihood(_coupling_flow(), torch.zeros(10, 3))
    with pytest.raises(ValueError, match="finite"):
        MaximumLikelihood(_coupling_flow(), torch.full((10, 2), float("nan")))
    with pytest.raises(ValueError, match=r"energy must be a function U\(x\) mapping points"):
        ReverseKL(_planar_flow(), "U1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"n_steps must be a positive integer; got 0"):
        ReverseKL(_planar_flow(), energy("U1")).run(0)
    with pytest.raises(ValueError, match="Flow"):
        ReverseKL(torch.nn.Linear(2, 2), energy("U1"))  # type: ignore[arg-type]


def test_learning_rate_can_change_between_steps() -> None:
    vi = ReverseKL(_planar_flow(), energy("U3"), n_samples=16)
    vi.lr = 0.05
    assert vi.optimizer.param_groups[0]["lr"] == 0.05
    with pytest.raises(ValueError, match="lr"):
        vi.lr = -1.0


def test_training_needs_no_hook_into_grid_caches():
    """Training only updates parameters; a cache shows the trained flow once it is told that
    everything changed (``invalidate()``), as the dashboard does after its steps."""
    from nfwidgets.fast import InverseCache
    from nfwidgets.grid import density_grid

    flow = Flow([Planar([1.0, 0.5], [0.5, -0.3], 0.1), Planar([0.0, 1.0], [0.2, 0.4], 0.0)])
    data = torch.randn(256, 2, generator=torch.Generator().manual_seed(0)) * 0.5 + 1.0
    trainer = MaximumLikelihood(flow, data, batch_size=64, lr=0.05, seed=0)
    cache = InverseCache()
    bounds = ((-4, 4), (-4, 4))
    before = density_grid(flow, bounds, 32, cache=cache).density
    trainer.run(5)
    cache.invalidate()
    cached = density_grid(flow, bounds, 32, cache=cache).density
    fresh = density_grid(flow, bounds, 32).density
    np.testing.assert_array_equal(cached, fresh)
    assert not np.array_equal(cached, before)


def test_reverse_kl_loss_is_the_reference_free_energy_of_its_draws():
    """``ReverseKL.loss`` goes through the fast forward: the same value and gradients as the
    reference ``flow.sample_and_log_prob`` with the same generator state."""
    flows = [_planar_flow() for _ in range(2)]
    vi = ReverseKL(flows[0], energy("U1"), n_samples=64, seed=3)
    loss_fast = vi.loss(1)
    gen = torch.Generator().manual_seed(3)
    x, log_q = flows[1].sample_and_log_prob(64, generator=gen)
    loss_ref = (log_q + vi.beta(1) * energy("U1")(x)).mean()
    assert torch.allclose(loss_fast, loss_ref, rtol=1e-6, atol=1e-6)
    loss_fast.backward()
    loss_ref.backward()
    for p, q in zip(flows[0].parameters(), flows[1].parameters(), strict=True):
        assert torch.allclose(p.grad, q.grad, rtol=1e-5, atol=1e-6)


def test_non_finite_data_is_refused_naming_the_row() -> None:
    """MaximumLikelihood's data and ``nll``'s points: a NaN/inf row is refused (documented),
    the message names the first bad row."""
    data = toy_data("two_moons", 20, seed=0)
    data[7, 1] = float("inf")
    data[12, 0] = float("nan")
    with pytest.raises(ValueError, match=r"data must be finite; row 7 of .* is \[.*, inf\]"):
        MaximumLikelihood(_coupling_flow(), data)
    trainer = MaximumLikelihood(_coupling_flow(), toy_data("two_moons", 20, seed=0))
    with pytest.raises(ValueError, match=r"x must be finite; row 7 "):
        trainer.nll(data)
