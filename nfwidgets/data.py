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
import numbers

import numpy as np
import torch
from torch import Tensor

from ._checks import check_count, check_flag, check_generator, shown

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
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}; got {shown(split)}")
    with_labels = check_flag("with_labels", with_labels, owner="digits")
    if "all" not in _CACHE:
        _CACHE["all"] = _load()
    images, labels = _CACHE["all"]
    if split != "all":
        order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(SPLIT_SEED))
        pick = order[:N_TRAIN] if split == "train" else order[N_TRAIN:]
        images, labels = images[pick], labels[pick]
    images, labels = images.clone(), labels.clone()
    return (images, labels) if with_labels else images


#: The shapes a batch of images may come in (``as_image_batch``).
IMAGE_SHAPES = "(N, 8, 8), (N, 64), (N, 1, 8, 8) or one image (8, 8)"


def as_image_batch(images: object, name: str = "images") -> Tensor:
    """``images`` (a tensor, numpy array or nested list) as a tensor (N, 8, 8), N ≥ 1, from any
    of ``IMAGE_SHAPES``; its values are not checked. A ``ValueError`` names ``name``."""
    if not isinstance(name, str):
        raise ValueError(f"name must be a str (the argument's name); got {shown(name)}")
    if isinstance(images, np.ndarray | list | tuple):
        try:
            images = torch.as_tensor(np.asarray(images))
        except (TypeError, ValueError, RuntimeError):
            pass  # not numbers: refused below
    if not isinstance(images, Tensor):
        raise ValueError(f"{name} must be a torch tensor of shape {IMAGE_SHAPES} (e.g. "
                         f"nfwidgets.data.digits('test')); got {type(images).__name__}")
    shape = tuple(images.shape)
    if shape == (8, 8):
        images = images[None]
    elif images.ndim == 2 and shape[1] == PIXELS:
        images = images.reshape(-1, 8, 8)
    elif images.ndim == 4 and shape[1:] == (1, 8, 8):
        images = images[:, 0]
    if images.ndim != 3 or tuple(images.shape[1:]) != (8, 8) or images.shape[0] < 1:
        raise ValueError(f"{name} must have shape {IMAGE_SHAPES} with N ≥ 1; got shape {shape}")
    if images.is_complex():
        raise ValueError(f"{name} must hold real numbers; got dtype {images.dtype}")
    return images


def check_images(images: object, name: str = "images") -> Tensor:
    """``images`` as an int64 tensor (N, 8, 8) of levels 0–16 (any shape of
    ``IMAGE_SHAPES``; a tensor, numpy array or nested list), or a ``ValueError`` naming what is
    wrong (shape, a NaN or infinite value, a non-integer value, a level outside 0–16)."""
    images = as_image_batch(images, name)
    if images.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer levels 0–16, not booleans")
    if images.is_floating_point():
        images = images.detach()
        if not bool(torch.isfinite(images).all()):
            raise ValueError(f"{name} holds NaN or infinite values; levels must be integers 0–16")
        if not bool((images == images.round()).all()):
            raise ValueError(f"{name} must hold integer levels 0–16; got fractional values such "
                             f"as {images[images != images.round()][0].item():g} (dequantised "
                             "images are made inside, from integer ones)")
    lo, hi = images.min().item(), images.max().item()
    if lo < 0 or hi > LEVELS - 1:
        raise ValueError(f"{name} must hold levels 0–16; got values from {lo:g} to {hi:g}")
    return images.to(torch.int64)


def dequantize(images: Tensor, generator: torch.Generator | None = None,
               dtype: torch.dtype = torch.float32) -> Tensor:
    """``v = (k + u) / 17`` with ``u ~ U[0, 1)`` per pixel: values in ``[0, 1)``, shape
    (N, 8, 8), each level's interval of width 1/17 filled uniformly (seed it with
    ``generator``). ``images`` as for ``check_images`` (NaN or infinite values are refused);
    ``dtype``: ``torch.float32`` or ``torch.float64``."""
    k = check_images(images)
    check_generator("generator", generator, owner="dequantize")
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dequantize: dtype must be torch.float32 or torch.float64"
                         f"; got {shown(dtype)}")
    u = torch.rand(k.shape, generator=generator, dtype=dtype)
    return (k.to(dtype) + u) / LEVELS


#: Most values ``dims`` may count (a typo like 10**12 is refused).
MAX_DIMS = 10**6


def bits_per_dim(nll_nats: Tensor | float, dims: int = PIXELS) -> Tensor | float:
    """Bits per pixel of the discrete images from ``-ln p(v)`` (nats, per image) of their
    dequantised ``v ∈ [0, 1)^dims``: ``nll / (dims ln 2) + log₂ 17`` (each level's interval has
    width 1/17, so ``ln P(k) ≥ ln p(v) - dims ln 17``). A uniform ``p`` gives ``log₂ 17`` =
    4.087 bits.

    ``nll_nats``: a number, or a real tensor or array of them (the result has its shape).
    Element-wise, so a NaN or infinite entry propagates to that entry of the result only.
    """
    dims = check_count("dims", dims, owner="bits_per_dim", hi=MAX_DIMS)
    if isinstance(nll_nats, np.ndarray):
        nll_nats = torch.as_tensor(nll_nats)
    if isinstance(nll_nats, Tensor):
        if not nll_nats.is_floating_point():
            raise ValueError(f"nll_nats must be real numbers (a float tensor); got dtype "
                             f"{nll_nats.dtype}")
    elif isinstance(nll_nats, bool | np.bool_) or not isinstance(nll_nats, numbers.Real):
        raise ValueError(f"nll_nats must be a number or a float tensor (-ln p(v) in nats); "
                         f"got {shown(nll_nats)}")
    else:
        nll_nats = float(nll_nats)
    return nll_nats / (dims * math.log(2.0)) + math.log2(LEVELS)


def binarize(images: Tensor, threshold: int = 8) -> Tensor:
    """Black-and-white digits for a Bernoulli decoder: ``1.0`` where the level is ≥
    ``threshold`` (default 8, half of 16), else ``0.0``; shape (N, 64), float32. ``images`` as
    for ``check_images`` (NaN or infinite values are refused)."""
    threshold = check_count("threshold", threshold, owner="binarize", hi=LEVELS - 1)
    k = check_images(images)
    return (k >= threshold).reshape(k.shape[0], PIXELS).to(torch.float32)
