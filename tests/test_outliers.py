"""Outlier detection: scores under a flow, ROC and AUC against brute-force references."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from nfwidgets.flows import ElementwiseAffine, Flow
from nfwidgets.outliers import detection_rate, outlier_scores, roc_auc, roc_curve

# Scores drawn from a small set of values, so that ties (the hard case) are common.
scores = st.lists(st.sampled_from([-math.inf, -2.0, -0.5, 0.0, 0.5, 1.0, 3.0, math.inf]),
                  min_size=1, max_size=25)
free_scores = st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=25)


def _brute_auc(inl: list[float], out: list[float]) -> float:
    total = sum((o > i) + 0.5 * (o == i) for i in inl for o in out)
    return total / (len(inl) * len(out))


def _brute_roc(inl: list[float], out: list[float]) -> list[tuple[float, float]]:
    points = [(0.0, 0.0)]
    for t in sorted(set(inl) | set(out), reverse=True):
        points.append((sum(i >= t for i in inl) / len(inl), sum(o >= t for o in out) / len(out)))
    return points


def _t(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


@given(scores, scores)
def test_auc_matches_brute_force_with_ties(inl: list[float], out: list[float]) -> None:
    assert roc_auc(_t(inl), _t(out)) == pytest.approx(_brute_auc(inl, out), abs=1e-12)


@given(free_scores, free_scores)
def test_auc_matches_brute_force(inl: list[float], out: list[float]) -> None:
    assert roc_auc(_t(inl), _t(out)) == pytest.approx(_brute_auc(inl, out), abs=1e-12)


@given(scores, scores)
def test_roc_matches_brute_force_and_its_area_is_the_auc(inl: list[float], out: list[float]
                                                          ) -> None:
    fpr, tpr, thresholds = roc_curve(_t(inl), _t(out))
    brute = _brute_roc(inl, out)
    assert fpr.tolist() == pytest.approx([p[0] for p in brute], abs=1e-12)
    assert tpr.tolist() == pytest.approx([p[1] for p in brute], abs=1e-12)
    assert thresholds[0] == math.inf and len(thresholds) == len(fpr)
    assert (fpr.diff() >= 0).all() and (tpr.diff() >= 0).all()
    assert fpr[-1] == 1.0 and tpr[-1] == 1.0
    area = float(torch.trapezoid(tpr, fpr))
    assert area == pytest.approx(roc_auc(_t(inl), _t(out)), abs=1e-12)


def test_perfect_useless_and_inverted_detectors() -> None:
    low, high = _t([0.0, 1.0, 2.0]), _t([5.0, 6.0])
    assert roc_auc(low, high) == 1.0 and roc_auc(high, low) == 0.0
    assert roc_auc(_t([1.0, 1.0]), _t([1.0])) == 0.5
    fpr, tpr, _ = roc_curve(low, high)
    assert fpr.tolist() == [0.0, 0.0, 0.0, 1 / 3, 2 / 3, 1.0]
    assert tpr.tolist() == [0.0, 0.5, 1.0, 1.0, 1.0, 1.0]


def test_detection_rate() -> None:
    inl = _t(list(range(100)))  # 0 … 99
    out = _t([50.0, 96.0, 97.5, 200.0])
    threshold, caught = detection_rate(inl, out, false_alarm=0.05)
    assert threshold == 95.0  # scores ≥ 95 flag 5 of 100 inliers
    assert caught == 0.75
    assert detection_rate(inl, out, false_alarm=0.0) == (100 * 2.0, 0.25)
    assert detection_rate(inl, out, false_alarm=1.0)[1] == 1.0
    for bad in (-0.1, 1.5, float("nan"), True):
        with pytest.raises(ValueError, match="false_alarm"):
            detection_rate(inl, out, false_alarm=bad)


@pytest.mark.parametrize(("inl", "out", "match"), [
    (torch.zeros(0), torch.ones(2), "inliers must be a non-empty 1-D"),
    (torch.zeros(2), torch.ones(2, 1), "outliers must be a non-empty 1-D"),
    (_t([0.0, math.nan]), torch.ones(2), "inliers scores contain NaN"),
])
def test_bad_scores(inl: torch.Tensor, out: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        roc_auc(inl, out)
    with pytest.raises(ValueError, match=match):
        roc_curve(inl, out)


def test_scores_are_minus_log_density() -> None:
    flow = Flow([ElementwiseAffine([0.0, 0.0], [1.0, 0.0])])  # N((1, 0), I)
    x = torch.tensor([[1.0, 0.0], [4.0, 3.0], [1e3, 0.0]])
    s = outlier_scores(flow, x, batch=2)
    expected = math.log(2 * math.pi) + 0.5 * ((x - torch.tensor([1.0, 0.0])) ** 2).sum(1)
    torch.testing.assert_close(s, expected.double())
    assert s.dtype == torch.float64
    with pytest.raises(ValueError, match="flow must be an nfwidgets Flow"):
        outlier_scores(torch.nn.Identity(), x)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch"):
        outlier_scores(flow, x, batch=0)
    with pytest.raises(ValueError, match="NaN"):
        outlier_scores(flow, torch.tensor([[math.nan, 0.0]]))


def test_a_flow_separates_far_points_from_its_own_samples() -> None:
    flow = Flow([ElementwiseAffine([0.0, 0.0], [0.0, 0.0])])
    g = torch.Generator().manual_seed(0)
    inl = outlier_scores(flow, torch.randn(500, 2, generator=g))
    out = outlier_scores(flow, 3.0 + torch.randn(500, 2, generator=g))
    assert roc_auc(inl, out) > 0.95


def test_scores_as_lists_and_arrays_and_bad_ones_named() -> None:
    import numpy as np

    assert roc_auc([0.1, 0.2], np.array([0.3, 0.4])) == 1.0
    with pytest.raises(ValueError, match="outliers must be a 1-D tensor of real scores"):
        roc_auc([0.1], torch.tensor([1 + 2j]))
    with pytest.raises(ValueError, match="inliers must be a 1-D tensor of real scores"):
        roc_curve(["a"], [0.3])


def test_outlier_scores_refuse_a_non_finite_row() -> None:
    flow = Flow([ElementwiseAffine([0.0, 0.0], [0.0, 0.0])])
    x = torch.zeros(3, 2)
    x[1, 0] = float("nan")
    with pytest.raises(ValueError, match="x must be finite; row 1"):
        outlier_scores(flow, x)
