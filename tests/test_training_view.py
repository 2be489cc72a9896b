"""TrainingView, the dashboard's view model, without any widget: frames match the engine,
never disturb training, and say honestly what the reverse-KL curve is."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nfwidgets.diagnostics import mode_masses, variational_bound
from nfwidgets.grid import density_grid
from nfwidgets.train import MaximumLikelihood, ReverseKL
from nfwidgets.training_setup import DRAW, Target, make_flow, make_target
from nfwidgets.training_view import (
    MASS_SAMPLES,
    MASS_SEED,
    TrainingView,
    density_top,
    target_peak,
)

BOX = ((-4.0, 4.0), (-4.0, 4.0))
ROOT = Path(__file__).resolve().parents[1]


def _ml_view(**kw: object) -> TrainingView:
    target = make_target("eight_gaussians", 300, 3)
    flow = make_flow("coupling", 3, 3)
    trainer = MaximumLikelihood(flow, target.data, batch_size=64, lr=1e-2, seed=3)
    return TrainingView(target, flow, trainer, BOX, **kw)


def _rkl_view(anneal_steps: int = 20) -> TrainingView:
    target = make_target("U1", 0, 5)
    flow = make_flow("planar", 4, 5)
    trainer = ReverseKL(flow, target.energy, n_samples=64, anneal_steps=anneal_steps,
                        lr=2e-2, seed=5)
    return TrainingView(target, flow, trainer, BOX)


def test_the_view_module_imports_no_widget_library() -> None:
    # nfwidgets/__init__ may import widgets: load the package without running it
    code = ("import sys, types, importlib; p = types.ModuleType('nfwidgets'); "
            f"p.__path__ = [{str(ROOT / 'nfwidgets')!r}]; sys.modules['nfwidgets'] = p; "
            "importlib.import_module('nfwidgets.training_view'); "
            "importlib.import_module('nfwidgets.figure3'); "
            "print(sorted(m for m in ('ipywidgets', 'bqplot') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_a_frame_shows_the_exact_density_and_the_mass_per_mode() -> None:
    view = _ml_view()
    view.trainer.run(5)
    frame = view.frame(24, total_steps=100)
    grid = density_grid(view.flow, BOX, 24)
    np.testing.assert_array_equal(frame.density, grid.density)
    assert frame.mass == grid.mass and frame.peak == float(grid.density.max())
    assert frame.step == 5 and frame.after_layer == 3 and frame.beta is None
    assert frame.loss == pytest.approx(np.mean(view.trainer.history))
    assert frame.bound is None and frame.curve.x_max == 100.0
    gen = torch.Generator().manual_seed(MASS_SEED)
    assert frame.masses == mode_masses("eight_gaussians",
                                       view.flow.sample(MASS_SAMPLES, generator=gen))
    assert frame.reference_masses == mode_masses("eight_gaussians", view.target.data)
    truncated = view.frame(16, after_layer=1)
    np.testing.assert_array_equal(truncated.density,
                                  density_grid(view.flow.truncated(1), BOX, 16).density)
    assert truncated.after_layer == 1


def test_mode_masses_are_estimated_once_per_step_and_follow_training() -> None:
    view = _ml_view()
    first = view.frame(16).masses
    assert view.frame(16, after_layer=1).masses is first  # a scrub: the same flow, not resampled
    view.trainer.run(20)
    gen = torch.Generator().manual_seed(MASS_SEED)
    now = view.frame(16).masses
    assert now is not first
    assert now == mode_masses("eight_gaussians", view.flow.sample(MASS_SAMPLES, generator=gen))


def test_frames_do_not_change_training() -> None:
    watched, alone = _ml_view(), _ml_view()
    for _ in range(4):
        watched.trainer.run(3)
        watched.frame(12)
    alone.trainer.run(12)
    for a, b in zip(watched.flow.parameters(), alone.flow.parameters(), strict=True):
        assert torch.equal(a, b)


def test_reverse_kl_frames_track_the_bound_once_per_step() -> None:
    view = _rkl_view()
    view.trainer.run(3)
    first = view.frame(12)
    assert first.bound == pytest.approx(variational_bound(view.flow, view.target.energy, 2048))
    again = view.frame(12)  # same step: the same estimate, not a second point
    assert again.bound == first.bound and again.curve.bound_x.tolist() == [3.0]
    view.trainer.run(2)
    assert view.frame(12).curve.bound_x.tolist() == [3.0, 5.0]
    assert view.floor == pytest.approx(-view.target.energy.log_z)


def test_the_reverse_kl_curve_is_called_the_annealed_objective_until_beta_is_one() -> None:
    view = _rkl_view(anneal_steps=20)
    view.trainer.run(2)
    frame = view.frame(12)
    assert frame.beta < 1 and frame.curve.loss_label == "annealed objective (β_t < 1)"
    assert "only F at β = 1" in frame.curve.reference_label
    view.trainer.run(20)
    frame = view.frame(12)
    assert frame.beta == 1.0
    # β_t = min(1, 0.01 + t/20) reaches 1 at t = 19.8, so at step 20
    assert frame.curve.loss_label == "objective (annealed until step 20, then β = 1)"
    assert _rkl_view(anneal_steps=0).loss_label() == "objective F (β = 1)"
    assert _ml_view().loss_label() == "loss per step"


def test_the_plateau_is_fed_with_beta_one_losses_only() -> None:
    view = _rkl_view(anneal_steps=20)
    view.trainer.run(25)
    seen: list[int] = []
    update = view.plateau.update
    view.plateau.update = lambda s, v: (seen.append(s), update(s, v))[1]  # type: ignore
    view.frame(8)
    assert seen == list(range(20, 26))
    view.frame(8)  # nothing new
    assert seen == list(range(20, 26))


def test_colour_range_and_overlay_per_target() -> None:
    u1 = make_target("U1", 0, 0)
    peak = target_peak(u1, BOX)
    top = density_top(u1, BOX)
    assert 1.2 * peak <= top <= 2 * 1.2 * peak
    assert top in {m * 10.0 ** e for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8) for e in (-2, -1, 0, 1)}
    empty = Target(DRAW, data=torch.zeros(0, 2))
    assert target_peak(empty, BOX) == 0.25
    view = TrainingView(empty, make_flow("planar", 2, 0), None, BOX)
    frame = view.frame(8)
    assert view.overlay.kind == "points" and view.overlay.x.size == 0
    assert frame.step == 0 and math.isnan(frame.loss) and frame.masses is None
    assert view.floor is None
    energy_view = _rkl_view()
    assert energy_view.overlay.kind == "contours" and energy_view.overlay.x.ndim == 2
    many = TrainingView(make_target("rings", 2000, 0), make_flow("planar", 2, 0), None, BOX)
    assert many.overlay.x.shape == (500,)
