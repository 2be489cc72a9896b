"""Outlier detection with a flow: log-likelihood scores, the ROC curve and its area (AUC)."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from ._checks import check_batch, check_count, check_real, shown
from .flows.compose import Flow

#: Most points per inverse pass (``outlier_scores``'s ``batch``).
MAX_BATCH = 10_000_000

__all__ = ["detection_rate", "outlier_scores", "roc_auc", "roc_curve"]


@torch.no_grad()
def outlier_scores(flow: Flow, x: Tensor, batch: int = 8192) -> Tensor:
    r"""Outlier score ``-log p(x)`` of each point under ``flow`` (higher = more unusual).

    A flow gives the exact density of every point, so the simplest outlier detector is a
    threshold on it: flag ``x`` when :math:`-\log p(x) > \tau`. (Nalisnick et al. 2019 show that
    in high dimension the likelihood can mislead — a flow trained on one image set may give
    *higher* likelihood to another — but in 2-D, where we can see the density, it works.)

    Arguments:
        flow: a trained ``Flow``.
        x: points ``(N, D)`` (a tensor, array or nested list), finite: a NaN or infinite
            row is refused.
        batch: points per inverse pass (bounds memory), 1 to ``MAX_BATCH``.

    Returns:
        A float64 tensor ``(N,)``; ``+inf`` where the density underflows to 0.

    Raises:
        ValueError: for a bad ``x`` (not (N, D), or a NaN or infinite row), or a NaN density.

    References:
        E. Nalisnick, A. Matsukawa, Y. W. Teh, D. Gorur and B. Lakshminarayanan, "Do Deep
        Generative Models Know What They Don't Know?", ICLR 2019, arXiv:1810.09136.
    """
    if not isinstance(flow, Flow):
        raise ValueError(f"outlier_scores: flow must be an nfwidgets Flow; got "
                         f"{shown(flow)}")
    batch = check_count("batch", batch, owner="outlier_scores", hi=MAX_BATCH)
    x = _as_tensor(x)
    check_batch(x, flow.dim, owner="outlier_scores: x")
    bad = ~torch.isfinite(x).all(dim=1)
    if bool(bad.any()):
        raise ValueError(f"outlier_scores: x must be finite; row {int(bad.nonzero()[0, 0])} of "
                         f"{x.shape[0]} holds NaN or inf")
    ref = next(flow.parameters(), None)
    if ref is not None:
        x = x.to(ref.dtype)
    parts = [-flow.log_prob(x[i:i + batch]) for i in range(0, max(len(x), 1), batch)]
    scores = torch.cat(parts).to(torch.float64)
    if bool(torch.isnan(scores).any()):
        raise ValueError(f"outlier_scores: the flow gave NaN log-densities for "
                         f"{int(torch.isnan(scores).sum())} rows of x; are they too large for "
                         f"its dtype, or has the flow diverged?")
    return scores


def _as_tensor(x: object) -> object:
    """Arrays and nested lists of numbers as tensors (anything else unchanged, for the
    checks to name)."""
    if isinstance(x, np.ndarray | list | tuple):
        try:
            return torch.as_tensor(np.asarray(x))
        except (TypeError, ValueError, RuntimeError):
            return x
    return x


def _scores_and_labels(inliers: Tensor, outliers: Tensor) -> tuple[Tensor, Tensor]:
    parts = []
    for name, s in (("inliers", inliers), ("outliers", outliers)):
        s = _as_tensor(s)
        if not isinstance(s, Tensor) or s.is_complex() or s.dtype == torch.bool:
            raise ValueError(f"{name} must be a 1-D tensor of real scores; got "
                             f"{type(s).__name__}" + (f" of {s.dtype}" if isinstance(s, Tensor)
                                                      else f" {s!r:.60}"))
        s = s.detach().to("cpu", torch.float64)
        if s.ndim != 1 or s.numel() == 0:
            raise ValueError(f"{name} must be a non-empty 1-D tensor of scores; got shape "
                             f"{tuple(s.shape)}")
        if bool(torch.isnan(s).any()):
            raise ValueError(f"{name} scores contain NaN; scores must be numbers (±inf allowed)")
        parts.append(s)
    scores = torch.cat(parts)
    labels = torch.cat([torch.zeros(len(parts[0]), dtype=torch.float64),
                        torch.ones(len(parts[1]), dtype=torch.float64)])
    return scores, labels


def roc_curve(inliers: Tensor, outliers: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    r"""The ROC curve of the detector "flag ``x`` when its score is ``≥ τ``".

    For each threshold τ (every distinct score, from the highest down, then ``-inf``) the
    false-positive rate is the fraction of inliers flagged and the true-positive rate the
    fraction of outliers flagged:

    .. math:: \mathrm{FPR}(\tau) = \tfrac1{n_0}\#\{i: s^{in}_i \ge \tau\}, \qquad
              \mathrm{TPR}(\tau) = \tfrac1{n_1}\#\{j: s^{out}_j \ge \tau\}.

    The curve starts at (0, 0), the detector that flags nothing (listed with threshold
    ``+inf``), and ends at (1, 1). Tied scores form one step, so the curve is drawn diagonally
    across ties, and its trapezoidal area is :func:`roc_auc`.

    Arguments:
        inliers: scores of normal points (1-D), e.g. ``outlier_scores(flow, test_data)``.
        outliers: scores of known outliers (1-D).

    Returns:
        ``(fpr, tpr, thresholds)``, float64 tensors of equal length, ``fpr`` and ``tpr``
        non-decreasing; ``thresholds[0] = +inf`` (flag nothing).

    Raises:
        ValueError: for empty or non-1-D scores, or NaN scores.

    References:
        T. Fawcett, "An introduction to ROC analysis", Pattern Recognition Letters 27 (2006)
        861–874, Algorithm 1.
    """
    scores, labels = _scores_and_labels(inliers, outliers)
    order = torch.argsort(scores, descending=True, stable=True)
    s, y = scores[order], labels[order]
    tp = torch.cumsum(y, 0)
    fp = torch.cumsum(1.0 - y, 0)
    # Keep the last index of each run of equal scores: one point per distinct threshold.
    last = torch.ones_like(s, dtype=torch.bool)
    last[:-1] = s[1:] != s[:-1]
    n1, n0 = float(labels.sum()), float(len(labels) - labels.sum())
    zero = torch.zeros(1, dtype=torch.float64)
    fpr = torch.cat([zero, fp[last] / n0])
    tpr = torch.cat([zero, tp[last] / n1])
    thresholds = torch.cat([torch.full((1,), math.inf, dtype=torch.float64), s[last]])
    return fpr, tpr, thresholds


def roc_auc(inliers: Tensor, outliers: Tensor) -> float:
    r"""Area under the ROC curve: the probability that a random outlier scores higher than a
    random inlier, ties counting one half (the Mann–Whitney U statistic over ``n₀ n₁``):

    .. math:: \mathrm{AUC} = \frac1{n_0 n_1}\sum_{i,j}\Bigl([s^{out}_j > s^{in}_i]
              + \tfrac12 [s^{out}_j = s^{in}_i]\Bigr).

    1 is a perfect detector, 0.5 one that guesses. Computed from ranks in O(n log n); equals the
    trapezoidal area under :func:`roc_curve`.

    Arguments:
        inliers, outliers: scores as for :func:`roc_curve`.

    Returns:
        The AUC, a float in [0, 1].

    References:
        J. A. Hanley and B. J. McNeil, "The meaning and use of the area under a receiver
        operating characteristic (ROC) curve", Radiology 143 (1982) 29–36.
    """
    scores, labels = _scores_and_labels(inliers, outliers)
    # Midranks of the pooled scores (ties share their average rank); ±inf rank like numbers.
    order = torch.argsort(scores, stable=True)
    s = scores[order]
    n = len(s)
    start = torch.ones(n, dtype=torch.bool)
    start[1:] = s[1:] != s[:-1]
    group = torch.cumsum(start.long(), 0) - 1
    first = torch.nonzero(start).flatten().to(torch.float64)
    sizes = torch.bincount(group).to(torch.float64)
    midrank = first + (sizes + 1.0) / 2.0  # 1-based average rank of each tie group
    ranks = torch.empty(n, dtype=torch.float64)
    ranks[order] = midrank[group]
    n1 = float(labels.sum())
    n0 = n - n1
    u = float(ranks[labels == 1].sum()) - n1 * (n1 + 1.0) / 2.0
    return u / (n0 * n1)


def detection_rate(inliers: Tensor, outliers: Tensor, false_alarm: float = 0.05
                   ) -> tuple[float, float]:
    """The threshold that flags at most ``false_alarm`` of the inliers, and the fraction of
    outliers it catches.

    The threshold τ is the smallest score such that the fraction of inliers with a score
    ``≥ τ`` is at most ``false_alarm`` (a point of :func:`roc_curve`).

    Arguments:
        inliers, outliers: scores as for :func:`roc_curve`.
        false_alarm: the tolerated false-positive rate, in [0, 1].

    Returns:
        ``(threshold, true-positive rate)``.

    Raises:
        ValueError: for a ``false_alarm`` outside [0, 1], or bad scores.
    """
    false_alarm = check_real("false_alarm", false_alarm, owner="detection_rate", lo=0.0, hi=1.0)
    fpr, tpr, thresholds = roc_curve(inliers, outliers)
    ok = torch.nonzero(fpr <= false_alarm + 1e-12).flatten()
    i = int(ok[-1])
    return float(thresholds[i]), float(tpr[i])
