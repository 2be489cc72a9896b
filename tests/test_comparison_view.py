"""ComparisonView: the reference side is the engine's exact density and log|det J|; a learner's
function equal to the reference gives differences of exactly 0; a broken one gives a message and
masked cells, never NaN."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from nfwidgets.comparison_view import ComparisonFrame, ComparisonView
from nfwidgets.flows import AffineCoupling, Flow, MLPConditioner, Planar, Radial
from nfwidgets.grid import LOG_DET_LIMIT, density_grid

N = 40
F64 = torch.float64


def _coupling() -> AffineCoupling:
    torch.manual_seed(3)
    layer = AffineCoupling([1, 0], MLPConditioner(1, 1, hidden=(8,)), scale="exp")
    torch.nn.init.normal_(layer.conditioner.net[-1].weight, std=0.4)
    return layer.to(F64)


LAYERS = {
    "planar": lambda: Planar(torch.tensor([1.5, -0.5], dtype=F64),
                             torch.tensor([1.0, 0.5], dtype=F64), 0.3),
    "radial": lambda: Radial(torch.tensor([0.5, -0.2], dtype=F64), alpha=0.7, beta=1.2),
    "coupling": _coupling,
    "planar32": lambda: Planar([1.0, 1.0], [-0.8, 0.9], -0.2),
}


def _forward(layer):
    return lambda z: layer(z)


def _inverse(layer):
    return lambda x: layer.inverse(x)


def _all_finite(frame: ComparisonFrame) -> None:
    for name in ("xs", "ys", "reference_density", "student_density", "density_difference",
                 "reference_log_det", "student_log_det", "log_det_difference"):
        a = getattr(frame, name)
        assert a.dtype == np.float32 and a.flags.c_contiguous, name
        assert np.isfinite(a).all(), name
    for name in ("max_density_error", "max_log_det_error", "max_map_error"):
        v = getattr(frame, name)
        assert v is None or math.isfinite(v), name


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("direction", ["forward", "inverse"])
def test_reference_side_is_the_engines_density_and_log_det(kind: str, direction: str) -> None:
    layer = LAYERS[kind]()
    fn = _forward(layer) if direction == "forward" else _inverse(layer)
    frame = ComparisonView(layer, fn, direction, resolution=N).compute()
    want = density_grid(Flow([layer]), ((-4, 4), (-4, 4)), N)
    np.testing.assert_allclose(frame.reference_density, want.density, rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(frame.reference_log_det, want.log_det, rtol=2e-5, atol=2e-6)
    np.testing.assert_array_equal(frame.xs, want.xs)
    np.testing.assert_array_equal(frame.ys, want.ys)
    # the same function as the reference: exactly the same pictures, zero differences
    np.testing.assert_array_equal(frame.student_density, frame.reference_density)
    np.testing.assert_array_equal(frame.student_log_det, frame.reference_log_det)
    assert not frame.density_difference.any() and not frame.log_det_difference.any()
    assert frame.max_density_error == 0 and frame.max_log_det_error == 0
    assert frame.max_map_error == 0
    assert frame.message is None and not frame.mask.any()
    _all_finite(frame)


def test_a_wrong_log_det_shows_as_its_difference() -> None:
    """log_det off by a constant c: Δ log|det J| = c everywhere and p_student = p e^{-c}."""
    layer, c = LAYERS["planar"](), 0.4

    def shifted(z):
        x, log_det = layer(z)
        return x, log_det + c

    frame = ComparisonView(layer, shifted, resolution=N).compute()
    np.testing.assert_allclose(frame.log_det_difference, c, rtol=1e-6)
    np.testing.assert_allclose(frame.student_density, frame.reference_density * math.exp(-c),
                               rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(frame.density_difference,
                               frame.reference_density * (math.exp(-c) - 1), rtol=1e-5,
                               atol=1e-9)
    assert frame.max_log_det_error == pytest.approx(c)
    assert frame.max_map_error == 0 and frame.message is None


def test_a_wrong_map_with_the_right_log_det_is_measured() -> None:
    layer = LAYERS["planar"]()
    frame = ComparisonView(layer, lambda z: (layer(z)[0] + 0.25, layer(z)[1]),
                           resolution=N).compute()
    assert frame.max_log_det_error == 0
    assert frame.max_map_error == pytest.approx(0.25 * math.sqrt(2), rel=1e-9)


def test_inverse_density_is_the_learners_own() -> None:
    """With an inverse function, p(x) = p_z(fn(x)) |det ∂fn/∂x|, whatever fn is: a shifted
    identity x ↦ x − a has the density of N(a, I)."""
    layer, a = LAYERS["radial"](), torch.tensor([0.5, -1.0], dtype=F64)
    frame = ComparisonView(layer, lambda x: (x - a, torch.zeros(x.shape[0], dtype=x.dtype)),
                           "inverse", resolution=N).compute()
    gx, gy = np.meshgrid(frame.xs.astype(np.float64), frame.ys.astype(np.float64))
    want = np.exp(-0.5 * ((gx - 0.5) ** 2 + (gy + 1.0) ** 2)) / (2 * math.pi)
    np.testing.assert_allclose(frame.student_density, want, rtol=1e-5, atol=1e-9)
    assert not frame.student_log_det.any()
    _all_finite(frame)


def _loop(layer):
    """A correct answer written differently: one point at a time, NumPy out, (N, 1) log-det."""
    def fn(z):
        rows = [layer(z[i:i + 1]) for i in range(z.shape[0])]
        x = torch.cat([r[0] for r in rows]).numpy()
        return x, torch.cat([r[1] for r in rows])[:, None]
    return fn


def _float32(layer):
    ref32 = Planar(layer.w.detach().float(), layer.u.detach().float(), float(layer.b.detach()))

    def fn(z):
        x, ld = ref32(z.float())
        return x, ld
    return fn


@pytest.mark.parametrize("variant", [_loop, _float32])
def test_correct_answers_written_differently_agree(variant) -> None:
    layer = LAYERS["planar"]()
    frame = ComparisonView(layer, variant(layer), resolution=24).compute()
    assert frame.message is None and not frame.mask.any()
    assert frame.max_log_det_error < 1e-5 and frame.max_map_error < 1e-5
    assert frame.max_density_error < 1e-6
    _all_finite(frame)


def _nan_half(layer):
    def fn(z):
        x, ld = layer(z)
        return x, torch.where(z[:, 0] > 0, torch.nan, ld)
    return fn


BROKEN = {
    "raises": (lambda z: 1 / 0, "ZeroDivisionError"),
    "not_written": (lambda z: (_ for _ in ()).throw(NotImplementedError()), "not written yet"),
    "returns_none": (lambda z: None, "pair"),
    "single_tensor": (lambda z: z, "pair"),
    "three_things": (lambda z: (z, z, z), "pair"),
    "x_wrong_shape": (lambda z: (z[:, :1], z[:, 0]), "x should have shape"),
    "log_det_summed": (lambda z: (z, z[:, 0].sum()), "whole batch"),
    "log_det_a_list": (lambda z: (z, [0.0] * z.shape[0]), "should be a tensor"),
    "complex": (lambda z: (z.to(torch.complex128), z[:, 0]), "real numbers"),
    "all_nan": (lambda z: (z * torch.nan, z[:, 0]), "NaN"),
    "all_inf_log_det": (lambda z: (z, z[:, 0] + torch.inf), "NaN or ±inf"),
    "string": (lambda z: ("x", "log_det"), "should be a tensor"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
@pytest.mark.parametrize("direction", ["forward", "inverse"])
def test_a_broken_function_gives_a_message_and_no_nan(name: str, direction: str) -> None:
    fn, words = BROKEN[name]
    if direction == "inverse":
        words = words.replace("x should", "z should")
    frame = ComparisonView(LAYERS["radial"](), fn, direction, resolution=16).compute()
    assert frame.message is not None and words in frame.message, frame.message
    assert frame.mask.all()
    assert frame.max_density_error is None and frame.max_map_error is None
    assert not frame.student_density.any() and not frame.density_difference.any()
    _all_finite(frame)
    assert frame.reference_density.max() > 0  # the reference is still shown


def test_nan_on_some_points_masks_exactly_those() -> None:
    layer = LAYERS["planar"]()
    frame = ComparisonView(layer, _nan_half(layer), resolution=N).compute()
    z, _ = layer.inverse(torch.stack(torch.meshgrid(
        torch.tensor(frame.xs, dtype=F64), torch.tensor(frame.ys, dtype=F64),
        indexing="xy"), -1).reshape(-1, 2))
    want = (z[:, 0] > 0).reshape(N, N).numpy()
    np.testing.assert_array_equal(frame.mask, want)
    assert f"at {int(want.sum())} of {N * N} grid points" in frame.message
    assert frame.max_log_det_error == 0  # on the cells that are shown
    _all_finite(frame)


def test_warnings_and_prints_of_the_learner_stay_silent(capfd) -> None:
    import warnings

    layer = LAYERS["radial"]()

    def noisy(z):
        print("debug")
        warnings.warn("careful", stacklevel=1)
        return layer(z)

    ComparisonView(layer, noisy, resolution=8).compute()
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_non_invertible_reference_masks_cells_with_several_preimages() -> None:
    layer = Radial(torch.tensor([0.0, 0.0], dtype=F64), alpha=0.5, beta=-2.0, constrain=False)
    frame = ComparisonView(layer, _forward(layer), resolution=N).compute()
    _, _, unique = layer.inverse_where(torch.zeros(1, 2, dtype=F64))
    assert not bool(unique[0]) and frame.mask.any()
    assert frame.message is None  # not the learner's fault
    _all_finite(frame)


def test_extreme_log_dets_are_clipped_not_lost() -> None:
    layer = LAYERS["planar"]()
    frame = ComparisonView(layer, lambda z: (layer(z)[0], layer(z)[1] + 1e6),
                           resolution=8).compute()
    assert frame.student_log_det.max() == pytest.approx(LOG_DET_LIMIT)
    _all_finite(frame)


@pytest.mark.parametrize("kwargs, words", [
    ({"direction": "sideways"}, "direction must be one of"),
    ({"resolution": 4}, "resolution must be an integer in [8, 512]"),
    ({"resolution": 12.0}, "resolution must be"),
    ({"bounds": ((1, -1), (0, 1))}, "min < max; the x axis is"),
])
def test_bad_arguments_raise_value_error(kwargs: dict, words: str) -> None:
    layer = LAYERS["planar"]()
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
        ComparisonView(layer, _forward(layer), **kwargs)


def test_reference_must_be_a_2d_layer() -> None:
    with pytest.raises(ValueError, match="reference must be a 2-D nfwidgets layer"):
        ComparisonView(torch.nn.Linear(2, 2), lambda z: z)
    with pytest.raises(ValueError, match="reference must be a 2-D nfwidgets layer"):
        ComparisonView(Planar([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]), lambda z: z)


finite = st.floats(-2.5, 2.5, allow_nan=False)


@given(w1=finite, w2=finite, u1=finite, u2=finite, b=finite)
def test_planar_reference_matches_engine_for_any_parameters(w1, w2, u1, u2, b) -> None:
    # (‖w‖ → 0 makes û = u + (m − wᵀu) w/‖w‖² explode: the preimage is then rounding noise)
    assume(w1 * w1 + w2 * w2 > 0.01)
    layer = Planar(torch.tensor([w1, w2], dtype=F64), torch.tensor([u1, u2], dtype=F64), b)
    frame = ComparisonView(layer, _forward(layer), resolution=12).compute()
    want = density_grid(Flow([layer]), ((-4, 4), (-4, 4)), 12)
    np.testing.assert_allclose(frame.reference_density, want.density, rtol=1e-4, atol=1e-7)
    assert frame.max_density_error == 0 and frame.max_log_det_error == 0
    _all_finite(frame)
