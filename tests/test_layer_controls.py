"""``nfwidgets.layer_controls``: one table of controls per layer kind; read and write go through
the engine; splits, labels and new layers."""

from __future__ import annotations

import math

import pytest
import torch

from nfwidgets import AffineCoupling, ElementwiseAffine, MLPConditioner, Planar, Radial
from nfwidgets.layer_controls import (
    LAYER_KIND_LABELS,
    SPLITS,
    controls_for,
    kind_of,
    layer_label,
    new_layer,
    read,
    split_of,
    write,
)

LAYERS = {
    "planar": lambda dim: Planar([1.0] * dim, [0.5] * dim, 0.2),
    "radial": lambda dim: Radial([0.5] * dim, alpha=0.7, beta=0.3),
    "affine": lambda dim: ElementwiseAffine([0.1] * dim, [-0.2] * dim),
    "coupling": lambda dim: new_layer("coupling"),
}


def test_names_follow_one_rule_in_one_and_two_dimensions() -> None:
    names = {kind: [s.name for s in controls_for(kind, 2)] for kind in LAYER_KIND_LABELS}
    assert names["planar"] == ["w1", "w2", "u1", "u2", "b", "constrain"]
    assert names["radial"] == ["z0_1", "z0_2", "alpha", "beta", "constrain"]
    assert names["affine"] == ["log_scale1", "log_scale2", "shift1", "shift2"]
    assert names["coupling"] == ["split", "scale", "s_slope", "s_shift", "t_amplitude",
                                 "t_frequency", "t_shift"]
    assert [s.name for s in controls_for("radial", 1)] == ["z0", "alpha", "beta", "constrain"]


def test_the_radial_fold_is_reachable_for_every_alpha() -> None:
    specs = {s.name: s for s in controls_for("radial")}
    alpha, beta = specs["alpha"], specs["beta"]
    assert alpha.widget == "log_slider" and alpha.lo > 0
    assert beta.lo < -alpha.hi  # constraint off: β < −α for every α on the slider


@pytest.mark.parametrize("kind", ["planar", "radial", "affine", "coupling"])
def test_write_then_read_round_trips_every_slider(kind: str) -> None:
    dim = 2
    layer = LAYERS[kind](dim).double()
    for spec in controls_for(kind, dim):
        if spec.widget not in ("slider", "log_slider"):
            continue
        value = 0.37 if spec.lo < 0.37 < spec.hi else spec.lo
        assert write(layer, spec, value) is None
        assert read(layer, spec) == pytest.approx(value)


def test_one_dimensional_controls_write_the_only_entry() -> None:
    layer = Planar([2.0], [1.0], 0.0).double()
    specs = {s.name: s for s in controls_for("planar", 1)}
    write(layer, specs["w"], -1.5)
    write(layer, specs["b"], 0.25)
    assert layer.w.tolist() == [-1.5] and float(layer.b) == 0.25


def test_the_engine_checks_values() -> None:
    layer = Radial([0.0, 0.0], alpha=1.0, beta=0.0)
    alpha = next(s for s in controls_for("radial") if s.name == "alpha")
    with pytest.raises(ValueError):
        write(layer, alpha, 0.0)
    scale = next(s for s in controls_for("coupling") if s.name == "scale")
    with pytest.raises(ValueError, match=r"scale must be one of .*; got 'cubic'"):
        write(new_layer("coupling"), scale, "cubic")


def test_a_new_split_is_a_new_layer_sharing_the_conditioner() -> None:
    layer = new_layer("coupling")
    split = next(s for s in controls_for("coupling") if s.name == "split")
    first, second = SPLITS
    assert split_of(layer) == first and write(layer, split, first) is None
    new = write(layer, split, second)
    assert new.conditioner is layer.conditioner and tuple(new.mask.tolist()) == SPLITS[second]
    assert layer_label(new) == "Coupling x₂→x₁"


def test_toggles_set_the_constraint() -> None:
    layer = Planar([1.0, 0.0], [-3.0, 0.0], 0.0)
    toggle = next(s for s in controls_for("planar") if s.widget == "toggle")
    write(layer, toggle, False)
    assert layer.constrain is False and read(layer, toggle) is False


def test_span_widens_to_the_value_and_follows_the_view_for_points() -> None:
    z0 = controls_for("radial")[0]
    assert z0.span() == (-4.0, 4.0)
    assert z0.span(7.0) == (-4.0, 7.0) and z0.span(math.nan) == (-4.0, 4.0)
    assert z0.span(None, ((-2.0, 2.0), (-1.0, 1.0))) == (-2.0, 2.0)


def test_kinds_labels_and_new_layers() -> None:
    for kind in LAYER_KIND_LABELS:
        assert kind_of(new_layer(kind)) == kind
    assert kind_of(Planar([1.0], [0.5], 0.0)) is None  # 1-D: no 2-D controls
    mlp = AffineCoupling([1, 0], MLPConditioner(1, 1, hidden=(4,)))
    assert layer_label(mlp) == "Coupling x₁→x₂" and layer_label(new_layer("affine")) == "Affine"
    second = new_layer("coupling", previous=[new_layer("coupling")])
    assert split_of(second) == list(SPLITS)[1]
    assert new_layer("planar").w.dtype == torch.float32


@pytest.mark.parametrize(("kind", "dim", "match"), [("cubic", 2, "layer kind must be one of"),
                                                    ("planar", 0, "dim must be an integer"),
                                                    ("coupling", 1, "2-D layers only")])
def test_bad_requests_raise_with_the_value(kind: str, dim: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        controls_for(kind, dim)
    if kind == "cubic":
        with pytest.raises(ValueError, match="got 'cubic'"):
            new_layer(kind)
