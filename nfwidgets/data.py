"""Real images that ship offline: scikit-learn's bundled 8×8 digits, and what a flow needs to
model discrete pixels with a density.

- ``digits(split)``: the 1,797 images of ``sklearn.datasets.load_digits`` (levels 0–16; the
  file is inside the scikit-learn wheel, nothing is downloaded), split once by a fixed seed
  into 1,437 training and 360 test images.
- ``dequantize``: uniform dequantisation ``v = (k + u) / 17``, ``u ~ U[0, 1)^64`` (Theis,
  van den Oord & Bethge 2016, §3.1; Dinh et al. 2017, §4.1). A density ``p`` on ``[0, 1]^64``
  then bounds the discrete likelihood, ``ln P(k) ≥ E_u[ln p(v)] - 64 ln 17``.
- ``bits_per_dim``: that bound per pixel in bits, ``bpd = NLL_v / (64 ln 2) + log₂ 17``.
- ``binarize``: black-and-white digits for the VAE's Bernoulli decoder.

Pixels 0, 32 and 39 are 0 in every image: standardising before dequantising would divide by
a zero spread. Dequantised, every pixel has at least the spread of ``u / 17``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["LEVELS", "N_TEST", "N_TRAIN", "PIXELS", "binarize", "bits_per_dim", "check_images",
           "dequantize", "digits"]

#: Grey levels of a pixel: 0, 1, …, 16.
LEVELS = 17
#: Pixels of an image (8 × 8).
PIXELS = 64
N_TRAIN, N_TEST = 1437, 360
#: The seed of the fixed train/test split (a ``torch.Generator`` permutation of the 1,797).
SPLIT_SEED = 0
SPLITS = ("train", "test", "all")


def _load() -> tuple[Tensor, Tensor]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:  # scikit-learn is a dependency; say so if it is missing
        raise ImportError("nfwidgets.data needs scikit-learn: pip install scikit-learn") from error
    bunch = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float64).round().to(torch.int64)
    return images, torch.as_tensor(bunch.target, dtype=torch.int64)


_CACHE: dict[str, tuple[Tensor, Tensor]] = {}


def digits(split: str = "train", with_labels: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """The 8×8 digits of ``split`` ("train": 1,437, "test": 360, "all": 1,797) as an int64
    tensor (N, 8, 8) of levels 0–16, and with ``with_labels`` also the labels (N,).

    The split is a fixed permutation (seed ``SPLIT_SEED``): the same images on every machine.
    A new tensor is returned each call, so a learner may change it freely.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}; got {split!r}")
    if "all" not in _CACHE:
        _CACHE["all"] = _load()
    images, labels = _CACHE["all"]
    if split != "all":
        order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(SPLIT_SEED))
        pick = order[:N_TRAIN] if split == "train" else order[N_TRAIN:]
        images, labels = images[pick], labels[pick]
    images, labels = images.clone(), labels.clone()
    return (images, labels) if with_labels else images


def check_images(images: object, name: str = "images") -> Tensor:
    """``images`` as an int64 tensor (N, 8, 8) of levels 0–16, or a ``ValueError`` naming what
    is wrong (shape, a non-integer value, a level outside 0–16)."""
    if not isinstance(images, Tensor):
        raise ValueError(f"{name} must be a torch tensor of shape (N, 8, 8) with levels 0–16 "
                         f"(e.g. nfwidgets.data.digits('test')); got {type(images).__name__}")
    if images.ndim == 2 and images.shape == (8, 8):
        images = images[None]
    if images.ndim != 3 or tuple(images.shape[1:]) != (8, 8) or images.shape[0] < 1:
        raise ValueError(f"{name} must have shape (N, 8, 8) with N ≥ 1; got {tuple(images.shape)}")
    if images.is_floating_point():
        if not bool(torch.isfinite(images).all()):
            raise ValueError(f"{name} holds NaN or infinite values; levels must be integers 0–16")
        if not bool((images == images.round()).all()):
            raise ValueError(f"{name} must hold integer levels 0–16; got fractional values such "
                             f"as {float(images[images != images.round()][0]):g} (dequantised "
                             "images are made inside, from integer ones)")
    elif images.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer levels 0–16, not booleans")
    lo, hi = int(images.min()), int(images.max())
    if lo < 0 or hi > LEVELS - 1:
        raise ValueError(f"{name} must hold levels 0–16; got values from {lo} to {hi}")
    return images.to(torch.int64)


def dequantize(images: Tensor, generator: torch.Generator | None = None,
               dtype: torch.dtype = torch.float32) -> Tensor:
    """``v = (k + u) / 17`` with ``u ~ U[0, 1)`` per pixel: values in ``[0, 1)`` of the same
    shape, each level's interval of width 1/17 filled uniformly (seed it with ``generator``)."""
    k = check_images(images)
    u = torch.rand(k.shape, generator=generator, dtype=dtype)
    return (k.to(dtype) + u) / LEVELS


def bits_per_dim(nll_nats: Tensor | float, dims: int = PIXELS) -> Tensor | float:
    """Bits per pixel of the discrete images from ``-ln p(v)`` (nats, per image) of their
    dequantised ``v ∈ [0, 1)^dims``: ``nll / (dims ln 2) + log₂ 17`` (each level's interval has
    width 1/17, so ``ln P(k) ≥ ln p(v) - dims ln 17``). A uniform ``p`` gives ``log₂ 17`` =
    4.087 bits."""
    if not isinstance(dims, int) or dims < 1:
        raise ValueError(f"dims must be a positive integer; got {dims!r}")
    return nll_nats / (dims * math.log(2.0)) + math.log2(LEVELS)


def binarize(images: Tensor, threshold: int = 8) -> Tensor:
    """Black-and-white digits for a Bernoulli decoder: ``1.0`` where the level is ≥
    ``threshold`` (default 8, half of 16), else ``0.0``; shape (N, 64), float32."""
    if not isinstance(threshold, int) or isinstance(threshold, bool) or not 1 <= threshold <= 16:
        raise ValueError(f"threshold must be an integer level in 1–16; got {threshold!r}")
    k = check_images(images)
    return (k >= threshold).reshape(k.shape[0], PIXELS).to(torch.float32)
