"""Figure 3 of Rezende & Mohamed: the flows, the fits and the panel (tiny settings)."""

from __future__ import annotations

import dataclasses
import math

import bqplot
import ipywidgets
import pytest
import torch

from nfwidgets.figure3 import (
    FAST,
    FULL,
    AdditiveConditioner,
    Figure3Panel,
    Figure3Result,
    Figure3Settings,
    figure3_panel,
    fit_figure3,
    nice_flow,
    planar_flow,
    results_table,
)
from nfwidgets.flows import AffineCoupling, ElementwiseAffine, Planar
from nfwidgets.targets import energy

TINY = dataclasses.replace(FAST, steps=4, n_samples=32, eval_samples=64, grid=16)


def test_planar_flow_has_k_planar_layers_and_is_seeded() -> None:
    flow = planar_flow(5, seed=3)
    assert len(flow) == 5 and all(isinstance(layer, Planar) for layer in flow.layers)
    again = planar_flow(5, seed=3)
    assert all(torch.equal(a, b) for a, b in zip(flow.parameters(), again.parameters(),
                                                 strict=True))
    other = planar_flow(5, seed=4)
    assert not torch.equal(flow.layers[0].w, other.layers[0].w)


def test_nice_flow_is_additive_volume_preserving_and_starts_as_identity() -> None:
    flow = nice_flow(4, hidden=8, seed=0)
    assert len(flow) == 5
    couplings = list(flow.layers)[:4]
    assert all(isinstance(layer, AffineCoupling) for layer in couplings)
    assert isinstance(flow.layers[4], ElementwiseAffine)
    assert [layer.mask.tolist() for layer in couplings] == [[0, 1], [1, 0], [0, 1], [1, 0]]
    z = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    x, log_det = flow(z)
    torch.testing.assert_close(x, z)  # zero-initialised last layers: the identity
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(1)))
    for layer in couplings:  # every coupling now moves points but keeps volume
        x, log_det = layer(z)
        assert not torch.allclose(x, z)
        torch.testing.assert_close(log_det, torch.zeros(50))
    x, log_det = flow(z)
    torch.testing.assert_close(flow.inverse(x)[0], z, atol=1e-5, rtol=0)
    torch.testing.assert_close(log_det, flow.layers[4].log_scale.sum().expand(50))


def test_nice_flow_global_rng_untouched() -> None:
    state = torch.random.get_rng_state()
    nice_flow(3, seed=5)
    assert torch.equal(state, torch.random.get_rng_state())


def test_additive_conditioner() -> None:
    cond = AdditiveConditioner(1, 1, hidden=4)
    s, t = cond(torch.randn(7, 1))
    assert s.shape == t.shape == (7, 1) and torch.equal(s, torch.zeros(7, 1))
    with pytest.raises(ValueError, match="hidden must be a positive integer"):
        AdditiveConditioner(hidden=0)


@pytest.mark.parametrize(("maker", "bad"), [(planar_flow, 0), (nice_flow, -1),
                                            (planar_flow, 2.0), (nice_flow, True)])
def test_flow_makers_reject_bad_k(maker, bad: object) -> None:
    with pytest.raises(ValueError, match="K must be a positive integer"):
        maker(bad)


def test_fit_returns_one_finite_result_per_energy_kind_and_k() -> None:
    seen: list[Figure3Result] = []
    results = fit_figure3(("U1", "u3"), (2, 1), settings=TINY, progress=seen.append)
    assert seen == results
    assert [(r.energy, r.kind, r.k) for r in results] == [
        (e, kind, k) for e in ("U1", "U3") for kind in ("planar", "nice") for k in (1, 2)]
    for r in results:
        assert math.isfinite(r.bound) and math.isfinite(r.stderr) and r.stderr > 0
        assert r.reference == pytest.approx(-energy(r.energy).confined(TINY.envelope).log_z)
        assert r.gap == pytest.approx(r.bound - r.reference)
        assert r.flow is not None and r.seconds >= 0 and r.restarts == 0
    table = results_table(results)
    assert list(table) == ["U1", "U3"]
    assert list(table["U1"]) == ["-ln Z", "planar K=1", "planar K=2", "nice K=1", "nice K=2"]


def test_fit_is_deterministic_for_a_seed() -> None:
    a = fit_figure3(("U2",), (2,), settings=TINY, seed=1)
    b = fit_figure3(("U2",), (2,), settings=TINY, seed=1)
    c = fit_figure3(("U2",), (2,), settings=TINY, seed=2)
    assert [r.bound for r in a] == [r.bound for r in b]
    assert [r.bound for r in a] != [r.bound for r in c]


def test_training_lowers_the_bound_and_stays_above_minus_log_z() -> None:
    untrained = fit_figure3(("U1",), (4,), kinds=("planar",),
                            settings=dataclasses.replace(TINY, steps=1, eval_samples=2000))[0]
    trained = fit_figure3(("U1",), (4,), kinds=("planar",),
                          settings=dataclasses.replace(FAST, steps=150, eval_samples=2000))[0]
    assert trained.bound < untrained.bound - 0.5
    assert trained.bound > trained.reference - 4 * trained.stderr  # F ≥ -ln Z


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"energies": ("U5",)}, "energies must be names among"),
    ({"energies": ("U1", "u1")}, "distinct"),
    ({"energies": ()}, "energies must be names among"),
    ({"energies": 3}, "energies must be names among"),
    ({"ks": (2, 2)}, "distinct"),
    ({"ks": (0,)}, r"ks must be distinct integers in \[1, 128\]; got \(0,\)"),
    ({"ks": 3}, "ks must be"),
    ({"kinds": 3}, "kinds must be among"),
    ({"seed": -1}, "seed must be an integer"),
    ({"full": "yes"}, "full must be True or False"),
    ({"kinds": ("maf",)}, "kinds must be among"),
    ({"settings": {"steps": 3}}, "settings must be a Figure3Settings"),
])
def test_fit_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fit_figure3(**kwargs)


def test_settings_fast_and_full() -> None:
    assert isinstance(FAST, Figure3Settings) and isinstance(FULL, Figure3Settings)
    assert FULL.anneal_steps == 10_000  # the paper's β_t = min(1, 0.01 + t/10⁴)
    assert FULL.steps >= 2 * FULL.anneal_steps and FAST.steps < FULL.steps / 100


def test_panel_has_every_figure_and_table() -> None:
    panel = figure3_panel(("U1", "U4"), ks=(1, 3), settings=TINY, size=120)
    try:
        assert isinstance(panel, Figure3Panel) and isinstance(panel.widget, ipywidgets.VBox)
        names = {f"{e}/{what}" for e in ("U1", "U4")
                 for what in ("true", "planar/K=1", "planar/K=3", "nice/K=1", "nice/K=3",
                              "bound")}
        assert set(panel.figures) == names
        assert all(isinstance(f, bqplot.Figure) for f in panel.figures.values())
        assert len(panel.panels) == 10
        for key, p in panel.panels.items():  # every density panel got an image
            assert p.last_png.startswith(b"\x89PNG"), key
            assert isinstance(p.figure.marks[0], bqplot.Image)
        rows = panel.widget.children[:-1]
        assert len(rows) == 2 and all(len(row.children) == 7 for row in rows)
        bound = panel.figures["U1/bound"]
        lines = [m for m in bound.marks if isinstance(m, bqplot.Lines)]
        assert [m.labels[0] for m in lines] == ["-ln Z", "planar", "nice"]
        assert list(lines[1].x) == [1.0, 3.0]
        assert all(math.isfinite(v) for m in lines for v in m.y)
        assert lines[0].y[0] == pytest.approx(panel.table["U1"]["-ln Z"], abs=1e-5)
        assert "NICE K=3" in panel.html.value and "-ln Z" in panel.html.value
        assert 0 < panel.panels["U1/true"].vmax < 1
        assert panel.panels["U1/true"].vmax == float(f"{panel.panels['U1/true'].vmax:.2g}")
        for row in panel.table.values():
            assert all(math.isfinite(v) for v in row.values())
        assert panel.seconds > 0
        assert "application/vnd.jupyter.widget-view+json" in panel._repr_mimebundle_()
    finally:
        panel.close()


def test_two_digit_ceiling() -> None:
    from nfwidgets.figure3 import colour_top as _two_digit_ceiling

    assert _two_digit_ceiling(0.152441) == pytest.approx(0.16)
    assert _two_digit_ceiling(0.16) == pytest.approx(0.16)
    assert _two_digit_ceiling(3.01) == pytest.approx(3.1)
    assert _two_digit_ceiling(0.0) == 1.0 and _two_digit_ceiling(math.nan) == 1.0


def test_panel_with_one_kind_and_bad_size() -> None:
    panel = figure3_panel(("U2",), ks=(2,), settings=TINY, kinds=("nice",))
    try:
        assert set(panel.figures) == {"U2/true", "U2/nice/K=2", "U2/bound"}
    finally:
        panel.close()
    with pytest.raises(ValueError, match="size must be an integer"):
        figure3_panel(("U2",), ks=(2,), settings=TINY, size=10)
