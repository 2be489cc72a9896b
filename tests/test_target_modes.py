"""Every target's mode regions follow its geometry: samples land in the mode they were drawn
from, and the energies' regions split them where their two terms trade places."""

from __future__ import annotations

import pytest
import torch

from nfwidgets.diagnostics import mode_masses, reference_mode_masses
from nfwidgets.grid import grid_points
from nfwidgets.targets import TOY_DATA_NAMES, Modes, energy, toy_modes
from nfwidgets.targets import energies as E
from nfwidgets.targets import toy as T

F64 = torch.float64
MULTIMODAL_TOYS = [name for name in TOY_DATA_NAMES if name != "checkerboard"]
#: The share of points that must land in the mode they were drawn from: below 1 only because
#: the noise carries a few points nearer another mode (two spirals meet near the origin).
AGREEMENT = {"two_moons": 0.99, "eight_gaussians": 0.995, "rings": 0.995, "pinwheel": 0.99,
             "two_spirals": 0.97}


@pytest.mark.parametrize("name", MULTIMODAL_TOYS)
def test_toy_points_fall_in_the_mode_they_were_drawn_from(name: str) -> None:
    x, labels = T._draw(name, 20_000, 7, F64, {})
    modes = toy_modes(name)
    assert isinstance(modes, Modes) and labels is not None
    agree = (modes.assign(x) == labels).double().mean().item()
    assert agree >= AGREEMENT[name], agree
    # and the counts are the reference masses (each component is drawn with equal weight)
    masses = mode_masses(name, x)
    for key, value in reference_mode_masses(name).items():
        assert masses[key] == pytest.approx(value, abs=0.015), key


def test_noise_free_moons_are_assigned_exactly() -> None:
    x, labels = T._draw("two_moons", 2000, 1, F64, {"noise": 0.0})
    assert torch.equal(toy_modes("two_moons").assign(x), labels)


def test_checkerboard_has_no_modes_and_unknown_names_raise() -> None:
    assert toy_modes("checkerboard") is None
    assert T._draw("checkerboard", 10, 0, F64, {})[1] is None
    with pytest.raises(ValueError, match="unknown toy data set"):
        toy_modes("moons")


@pytest.mark.parametrize("name", ["U1", "U3", "U4"])
def test_energy_regions_follow_the_energys_own_terms(name: str) -> None:
    """Weighted by exp(-U), nearly every point is in the region of the term that dominates U
    there (U1: the lobes at z₁ = ±2; U3, U4: the two ridges where they are apart)."""
    target = energy(name)
    _, _, z = grid_points(target.bounds, 300, dtype=F64)
    if name == "U1":
        plus, minus = E._lobes(z[:, 0])
        dominant = (plus >= minus).long()
        apart = torch.ones(z.shape[0], dtype=torch.bool)
    else:
        shift, widths = (E._w2, E._U3_WIDTHS) if name == "U3" else (E._w3, E._U4_WIDTHS)
        upper, lower = E._ridges(z, shift, widths)
        dominant = (lower > upper).long()
        apart = shift(z[:, 0]) > 2.0 * max(widths)
    weight = torch.exp(-target(z))[apart]
    agree = (target.modes.assign(z)[apart] == dominant[apart]).to(F64)
    # U4's ridges differ in width (0.4, 0.35): the half-way line is near, not on, the
    # line where the terms trade places
    assert float((weight * agree).sum() / weight.sum()) > 0.995


def test_u2_and_confined_energies() -> None:
    assert energy("U2").modes is None
    assert energy("U3").confined().modes is energy("U3").modes
