"""Reference points for models of the 8×8 digits, in bits per pixel (``data.bits_per_dim``).

A flow's bits/dim means little alone; these three say what "good" is on the same images:

- ``uniform``: every level equally likely, ``log₂ 17`` = 4.087 bits, whatever the data;
- ``histogram``: each pixel on its own, ``P_j(k) = (n_jk + 1) / (N + 17)`` from the training
  counts (add-one smoothing, so a level never seen in training is not impossible), exact
  discrete likelihood; it ignores every dependence between pixels;
- ``gaussian``: one full-covariance Gaussian density on the dequantised pixels (mean and
  covariance of the training ``v``), scored like a flow, on seeded dequantised test images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ._checks import MAX_SEED, check_count
from .data import LEVELS, PIXELS, bits_per_dim, check_images, dequantize, digits

__all__ = ["Baseline", "baseline_table", "gaussian_bpd", "histogram_bpd", "uniform_bpd"]


def uniform_bpd() -> float:
    """Bits per pixel of the uniform distribution over the 17 levels: ``log₂ 17``."""
    return math.log2(LEVELS)


def histogram_bpd(train: Tensor, test: Tensor) -> float:
    """Mean bits per pixel of ``test`` under independent per-pixel histograms of ``train``
    with add-one smoothing, ``P_j(k) = (n_jk + 1) / (N + 17)``."""
    k_train = check_images(train, "train").reshape(-1, PIXELS)
    k_test = check_images(test, "test").reshape(-1, PIXELS)
    counts = torch.zeros(PIXELS, LEVELS, dtype=torch.float64)
    counts.scatter_add_(1, k_train.T.contiguous(), torch.ones(PIXELS, k_train.shape[0],
                                                             dtype=torch.float64))
    log_p = torch.log2((counts + 1.0) / (k_train.shape[0] + LEVELS))  # (pixel, level)
    return float(-log_p.gather(1, k_test.T.contiguous()).mean())


def gaussian_bpd(train: Tensor, test: Tensor, seed: int = 0) -> float:
    """Bits per pixel of ``test`` under the Gaussian fitted (maximum likelihood) to the
    dequantised ``train`` images; both dequantised with ``seed``. ``train`` needs more images
    than pixels (65 or more), or its covariance is singular."""
    train, test = check_images(train, "train"), check_images(test, "test")
    if train.shape[0] <= PIXELS:
        raise ValueError(f"gaussian_bpd: train must hold more than {PIXELS} images (one per "
                         f"pixel, or the covariance is singular); got {train.shape[0]}")
    gen = torch.Generator().manual_seed(check_count("seed", seed, owner="gaussian_bpd", lo=0,
                                                    hi=MAX_SEED))
    v_train = dequantize(train, gen, torch.float64).reshape(-1, PIXELS)
    v_test = dequantize(test, gen, torch.float64).reshape(-1, PIXELS)
    mean = v_train.mean(0)
    cov = torch.cov(v_train.T, correction=0)  # the u/17 noise keeps it positive definite
    gauss = torch.distributions.MultivariateNormal(mean, covariance_matrix=cov)
    return float(bits_per_dim(-gauss.log_prob(v_test).mean()))


@dataclass(frozen=True)
class Baseline:
    """One row of the table: a name, what it is, and its test bits per pixel."""

    name: str
    what: str
    test_bpd: float


def baseline_table(seed: int = 0) -> list[Baseline]:
    """The three baselines on the fixed split (``data.digits``), computed now (a second)."""
    check_count("seed", seed, owner="baseline_table", lo=0, hi=MAX_SEED)
    train, test = digits("train"), digits("test")
    return [
        Baseline("uniform", "every level equally likely", uniform_bpd()),
        Baseline("histogram", "each pixel alone, add-one smoothing", histogram_bpd(train, test)),
        Baseline("gaussian", "one full-covariance Gaussian on dequantised pixels",
                 gaussian_bpd(train, test, seed)),
    ]
