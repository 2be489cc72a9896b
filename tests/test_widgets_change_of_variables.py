"""ChangeOfVariables1D: the curves are the engine's exact 1-D values, p_x integrates to one, and
the engine itself is right in one dimension (checked against autograd)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import nfwidgets
from nfwidgets import ElementwiseAffine, Flow, Planar, Radial
from nfwidgets.widgets import ChangeOfVariables1D

SETTINGS = {
    "affine": [{"log_scale": 0.5, "shift": 1.0}, {"log_scale": -1.2, "shift": -0.5},
               {"log_scale": 1.0, "shift": 0.0}],
    "planar": [{"w": 2.0, "u": 1.0, "b": 0.0}, {"w": 3.0, "u": -4.0, "b": 0.7},
               {"w": -1.5, "u": 2.5, "b": -1.0}, {"w": 0.0, "u": 1.0, "b": 0.5}],
    "radial": [{"z0": 0.0, "alpha": 0.5, "beta": 1.0}, {"z0": 1.0, "alpha": 0.05, "beta": 3.0},
               {"z0": -0.5, "alpha": 2.0, "beta": -3.0}],
}
CASES = [(kind, values) for kind, settings in SETTINGS.items() for values in settings]


@pytest.fixture
def widget() -> ChangeOfVariables1D:
    return ChangeOfVariables1D(redraw_delay=0)


def engine_values(w: ChangeOfVariables1D) -> dict[str, np.ndarray]:
    x = torch.as_tensor(w.last_frame.x, dtype=torch.float64)[:, None]
    with torch.no_grad():
        fz, log_det = w.flow(x)
        return {"density": torch.exp(w.flow.log_prob(x)).numpy(),
                "base": torch.exp(w.flow.base.log_prob(x)).numpy(),
                "f": fz[:, 0].numpy(), "abs_det": torch.exp(log_det).numpy()}


def test_public_surface(widget: ChangeOfVariables1D) -> None:
    assert nfwidgets.ChangeOfVariables1D is ChangeOfVariables1D
    assert {"kind", "log_scale", "shift", "w", "u", "b", "z0", "alpha", "beta",
            "samples"} <= set(widget.controls)
    assert {"density", "log_det", "map"} <= set(widget.figures)
    assert "nfw-change-of-variables" in widget._dom_classes
    assert widget.frame == 1 and 'class="nfw-frame" data-frame="1"' in widget.status.value
    assert widget.message.layout.display == "none"
    assert isinstance(widget.flow, Flow) and widget.flow.dim == 1
    assert isinstance(widget.layer, ElementwiseAffine)


@pytest.mark.parametrize(("kind", "values"), CASES)
def test_curves_are_the_engines_exact_values(widget: ChangeOfVariables1D, kind: str,
                                             values: dict[str, float]) -> None:
    c = widget.controls
    c["kind"].value = kind
    for name, v in values.items():
        c[name].value = v
    ref = engine_values(widget)
    m = widget.marks
    # (the plotted x are float32: rtol 1e-5 covers p_x's slope times that rounding)
    np.testing.assert_allclose(m["density"].y, ref["density"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(m["base"].y, ref["base"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(m["map"].y, ref["f"], rtol=1e-5, atol=1e-6)
    # |f′| is drawn on a log axis over [0.1, 10]; values are clipped to [e⁻⁷, e⁷] beyond it
    np.testing.assert_allclose(m["abs_det"].y, np.clip(ref["abs_det"], math.exp(-7),
                                                       math.exp(7)), rtol=1e-5)
    np.testing.assert_array_equal(m["density"].x, widget.last_frame.x)
    assert widget.message.value == ""


@pytest.mark.parametrize(("kind", "values"), CASES)
def test_pushed_density_integrates_to_one(widget: ChangeOfVariables1D, kind: str,
                                          values: dict[str, float]) -> None:
    c = widget.controls
    c["kind"].value = kind
    for name, v in values.items():
        c[name].value = v
    frame = widget.last_frame
    # the mass outside the view is that of the base outside f⁻¹(view); f⁻¹ by the engine
    with torch.no_grad():
        ends, _ = widget.flow.inverse(torch.tensor([[-5.0], [5.0]], dtype=torch.float64))
    inside = 0.5 * (math.erf(float(ends[1]) / math.sqrt(2)) - math.erf(float(ends[0])
                                                                       / math.sqrt(2)))
    h = 10.0 / widget.n_points
    assert frame.mass == pytest.approx(float(frame.density.sum(dtype=np.float64) * h))
    assert f"{frame.mass:.3f}" in widget.readout.value
    if widget.spike_unresolved():  # f′ ≈ 0 somewhere: a spike narrower than a grid cell
        assert "only approximate" in widget.readout.value
        assert frame.mass == pytest.approx(inside, abs=0.05)
        return
    assert "only approximate" not in widget.readout.value
    assert frame.mass == pytest.approx(inside, abs=2e-3)
    if inside > 0.999:
        assert frame.mass == pytest.approx(1.0, abs=2e-3)


def test_near_singular_maps_are_flagged(widget: ChangeOfVariables1D) -> None:
    c = widget.controls
    c["kind"].value = "planar"
    c["w"].value, c["u"].value, c["b"].value = 3.0, -4.0, 0.7  # wû = -1 + softplus(-12)
    assert widget.spike_unresolved() and np.isfinite(widget.last_frame.density).all()
    c["u"].value = 1.0
    assert not widget.spike_unresolved()


def test_affine_density_matches_the_formula_by_hand(widget: ChangeOfVariables1D) -> None:
    widget.controls["log_scale"].value, widget.controls["shift"].value = -0.7, 0.8
    x = widget.last_frame.x.astype(np.float64)
    s, t = -0.7, 0.8
    z = (x - t) * math.exp(-s)
    by_hand = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi) * math.exp(-s)
    np.testing.assert_allclose(widget.marks["density"].y, by_hand, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(widget.marks["abs_det"].y, math.exp(s), rtol=1e-6)


@pytest.mark.parametrize("kind", sorted(SETTINGS))
def test_histogram_of_pushed_samples_follows_the_exact_density(widget: ChangeOfVariables1D,
                                                               kind: str) -> None:
    widget.controls["kind"].value = kind
    frame = widget.last_frame
    edges, hist = frame.hist_edges.astype(np.float64), frame.hist_density.astype(np.float64)
    assert hist.sum() * (edges[1] - edges[0]) == pytest.approx(frame.mass, abs=0.02)
    # Kolmogorov–Smirnov: empirical CDF of the 1000 samples against the exact CDF (cumulated
    # exact density), inside the 99% band 1.63/√n
    h = frame.x[1] - frame.x[0]
    exact_cdf = np.interp(edges[1:], frame.x + h / 2, np.cumsum(frame.density) * h)
    empirical = np.cumsum(hist) * (edges[1] - edges[0])
    assert np.abs(empirical - exact_cdf).max() < 1.63 / math.sqrt(1000)


def test_one_redraw_per_change_and_kinds_keep_their_values(widget: ChangeOfVariables1D) -> None:
    c, flow = widget.controls, widget.flow
    layers = dict(widget.layers)
    for name, value in [("log_scale", -0.3), ("kind", "planar"), ("u", -2.0), ("kind", "radial"),
                        ("beta", 0.2), ("samples", False), ("kind", "affine"), ("w", 1.0)]:
        frames = widget.frame
        c[name].value = value
        assert widget.frame == frames + 1, name
    assert widget.flow is flow and widget.layers == layers
    assert widget.layer is layers["affine"]
    assert float(layers["affine"].log_scale.detach()) == pytest.approx(-0.3)
    assert float(layers["planar"].u.detach()) == pytest.approx(-2.0)
    assert float(layers["planar"].w.detach()) == pytest.approx(1.0)  # hidden slider, own layer
    assert float(layers["radial"].beta.detach()) == pytest.approx(0.2)
    c["kind"].value = "planar"
    assert widget.layer is layers["planar"] and c["u"].value == pytest.approx(-2.0)
    assert widget._sliders.children[0].children[1].children[0] is c["u"]  # slider, text box


def test_set_changes_several_controls_with_one_redraw(widget: ChangeOfVariables1D) -> None:
    frames = widget.frame
    widget.set(kind="radial", z0=1.0, alpha=0.3, beta=2.0)
    assert widget.frame == frames + 1 and isinstance(widget.layer, Radial)
    assert float(widget.layer.z0.detach()) == pytest.approx(1.0)
    np.testing.assert_allclose(widget.marks["density"].y, engine_values(widget)["density"],
                               rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match=r"unknown control\(s\) \['gamma'\]"):
        widget.set(gamma=1.0)


def test_the_browser_snapping_a_shown_value_is_not_an_edit(widget: ChangeOfVariables1D) -> None:
    widget.set(log_scale=0.123)  # from code: off the slider's 0.05 grid
    frames = widget.frame
    widget.controls["log_scale"].set_state({"value": 0.1})  # the browser snaps what it shows
    assert widget.frame == frames
    assert float(widget.layer.log_scale.detach()) == pytest.approx(0.123)
    widget.controls["log_scale"].set_state({"value": 0.15})  # a learner's move
    assert widget.frame == frames + 1
    assert float(widget.layer.log_scale.detach()) == pytest.approx(0.15)


def test_samples_checkbox_hides_the_histogram(widget: ChangeOfVariables1D) -> None:
    assert widget.marks["histogram"].visible
    widget.controls["samples"].value = False
    assert not widget.marks["histogram"].visible


@pytest.mark.parametrize("kind", ["planar", "radial"])
def test_maps_stay_monotone_and_finite_at_every_slider_corner(widget: ChangeOfVariables1D,
                                                              kind: str) -> None:
    c = widget.controls
    c["kind"].value = kind
    names = {"planar": ("w", "u", "b"), "radial": ("z0", "alpha", "beta")}[kind]
    for corner in range(8):
        for bit, name in enumerate(names):
            c[name].value = c[name].max if corner >> bit & 1 else c[name].min
        frame = widget.last_frame
        assert (np.diff(frame.f) >= 0).all()
        for a in (frame.density, frame.log_det, frame.f, frame.hist_density):
            assert np.isfinite(a).all()
        assert widget.message.value == ""


@pytest.mark.parametrize("layer", [
    ElementwiseAffine([0.4], [-1.0]), Planar([2.0], [1.0], 0.3), Planar([-3.0], [4.0], -1.0),
    Planar([0.0], [1.0], 0.5), Radial([0.5], alpha=0.5, beta=1.0),
    Radial([-1.0], alpha=2.0, beta=-3.0)], ids=repr)
def test_engine_is_exact_in_one_dimension(layer: torch.nn.Module) -> None:
    """p_x(f(z)) = p_z(z)/|f′(z)| with f′ from autograd, and f⁻¹ round-trips (D = 1)."""
    flow = Flow([layer.double()])
    z = torch.linspace(-5, 5, 201, dtype=torch.float64)[:, None].requires_grad_(True)
    x, log_det = flow(z)
    (fprime,) = torch.autograd.grad(x.sum(), z)
    with torch.no_grad():
        np.testing.assert_allclose(log_det.numpy(), fprime.abs().log()[:, 0].numpy(),
                                   atol=1e-10)
        log_px = flow.log_prob(x)
        ref = flow.base.log_prob(z) - fprime.abs().log()[:, 0]
        np.testing.assert_allclose(log_px.numpy(), ref.numpy(), atol=1e-9)
        z_back, _ = flow.inverse(x)
        np.testing.assert_allclose(z_back.numpy(), z.numpy(), atol=1e-9)


def test_bad_arguments_raise_with_the_value() -> None:
    with pytest.raises(ValueError, match=r"kind must be one of .*'planar'.*got 'spline'"):
        ChangeOfVariables1D("spline")
    with pytest.raises(ValueError, match="x_range needs finite low < high"):
        ChangeOfVariables1D(x_range=(3, -3))
    with pytest.raises(ValueError, match="n_points must be an integer"):
        ChangeOfVariables1D(n_points=2)
    with pytest.raises(ValueError, match="redraw_delay"):
        ChangeOfVariables1D(redraw_delay=-1)
    with pytest.raises(ValueError, match="density_max"):
        ChangeOfVariables1D(density_max=0)
