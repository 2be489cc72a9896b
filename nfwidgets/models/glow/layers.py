"""The pieces of Glow (Kingma & Dhariwal 2018, arXiv:1807.03039, Table 1), on images (N, C, H, W).

Direction: ``forward`` maps data towards the latent (the paper's encoder direction),
``forward(x) -> (y, log_det)`` with ``log_det = ln|det ∂y/∂x|`` per example, shape (N,);
``inverse(y) -> x`` undoes it exactly. Every log-det is cheap because every Jacobian is
block-diagonal per pixel (ActNorm, 1×1 conv), triangular (coupling) or a permutation (squeeze).

- ``ActNorm``: ``y = s ⊙ x + b`` per channel; ``log_det = H·W·Σ_c ln|s_c|``.
- ``InvConv1x1``: ``y_ij = W x_ij`` at every pixel, ``W = P L (U + diag(s))``;
  ``log_det = H·W·Σ_c ln|s_c|`` (a triangular matrix's determinant is its diagonal's product).
- ``ImageAffineCoupling``: ``y_a = x_a``, ``y_b = (x_b + t(x_a)) ⊙ σ(h(x_a) + 2)``;
  ``log_det = Σ ln σ(h + 2)``.
- ``Squeeze``: (C, H, W) → (4C, H/2, W/2), a permutation: ``log_det = 0``.
- ``Split``: half the channels leave as latents ``ε = (z_out - μ(z_keep)) / σ(z_keep)``
  (Glow's learned prior on the factored-out half); ``log_det = -Σ ln σ``.

Inputs are float tensors (N, C, H, W), N ≥ 1, with the layer's C (cast to the layer's dtype);
anything else is a ``ValueError`` naming the argument. Every map acts on each example alone, so a
NaN or infinite value in one example propagates to that example's outputs only; the one
exception, ActNorm's data-dependent initialisation (which mixes the batch), refuses a batch with
NaN or infinite values.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..._checks import check_count, check_real

__all__ = ["ActNorm", "ImageAffineCoupling", "InvConv1x1", "Split", "Squeeze"]

#: Most channels a layer takes (a typo like 10**12 is refused, not allocated).
MAX_CHANNELS = 1024


def _pixels(x: Tensor) -> int:
    return x.shape[2] * x.shape[3]


def check_maps(x: object, name: str, owner: str, channels: int | None = None,
               like: Tensor | None = None) -> Tensor:
    """``x`` as a float tensor (N, C, H, W) with N, H, W ≥ 1 (and C = ``channels``), in the
    dtype of ``like``; else a ``ValueError`` naming ``owner`` and ``name``."""
    c = "C" if channels is None else channels
    if not isinstance(x, Tensor):
        raise ValueError(f"{owner}: {name} must be a float tensor (N, {c}, H, W); got "
                         f"{type(x).__name__}")
    if x.ndim != 4 or min(x.shape, default=0) < 1 or (
            channels is not None and x.shape[1] != channels):
        raise ValueError(f"{owner}: {name} must have shape (N, {c}, H, W) with N, H, W ≥ 1; "
                         f"got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{owner}: {name} must be a float tensor; got dtype {x.dtype}")
    return x if like is None else x.to(like.dtype)


def _channels(name: str, value: object, owner: str, even: bool = False) -> int:
    value = check_count(name, value, owner=owner, lo=2 if even else 1, hi=MAX_CHANNELS)
    if even and value % 2:
        raise ValueError(f"{owner}: {name} must be even to split in halves; got {value}")
    return value


class ActNorm(nn.Module):
    """Per-channel affine map ``y = exp(log_scale) ⊙ x + bias`` (Table 1, row 1).

    Data-dependent initialisation: the first call of ``forward`` sets ``bias`` and
    ``log_scale`` so that this batch leaves with zero mean and unit variance per channel.
    ``initialized`` is a buffer, so it is saved in the state dict and a reloaded model is not
    initialised again. The scale is stored as its log, so ``s > 0`` and ``ln|s| = log_scale``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        channels = _channels("channels", channels, "ActNorm")
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialized", torch.tensor(False))

    @torch.no_grad()
    def initialize(self, x: Tensor) -> None:
        """``s = 1 / std``, ``b = -mean / std`` per channel of ``x`` (std floored at 1e-6).
        A batch with NaN or infinite values is refused (it would poison every example)."""
        x = check_maps(x, "x", "ActNorm.initialize", self.bias.shape[1], self.bias)
        if not bool(torch.isfinite(x).all()):
            raise ValueError("ActNorm.initialize: x holds NaN or infinite values; the "
                             "data-dependent initialisation needs a finite batch")
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        std = x.std(dim=(0, 2, 3), keepdim=True, unbiased=False).clamp_min(1e-6)
        self.log_scale.copy_(-torch.log(std))
        self.bias.copy_(-mean / std)
        self.initialized.fill_(True)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = check_maps(x, "x", "ActNorm.forward", self.bias.shape[1], self.bias)
        if not bool(self.initialized):
            self.initialize(x)
        y = torch.exp(self.log_scale) * x + self.bias
        log_det = _pixels(x) * self.log_scale.sum()
        return y, log_det.expand(x.shape[0])

    def inverse(self, y: Tensor) -> Tensor:
        y = check_maps(y, "y", "ActNorm.inverse", self.bias.shape[1], self.bias)
        return (y - self.bias) * torch.exp(-self.log_scale)


class InvConv1x1(nn.Module):
    """Invertible 1×1 convolution in LU form (Table 1, row 2): ``W = P L (U + diag(s))``.

    ``P`` (a permutation) and ``sign(s)`` are fixed buffers; ``L`` is unit lower-triangular,
    ``U`` strictly upper-triangular, ``s = sign ⊙ exp(log_s)``. Initialised from a random
    rotation (torch's global generator). ``det W = ±Π s_c``, so
    ``log_det = H·W·Σ log_s`` costs O(C) instead of O(C³).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        channels = _channels("channels", channels, "InvConv1x1")
        q, _ = torch.linalg.qr(torch.randn(channels, channels, dtype=torch.float64))
        p, lower, upper = torch.linalg.lu(q)
        s = torch.diagonal(upper)
        self.register_buffer("perm", p.float())
        self.register_buffer("sign_s", torch.sign(s).float())
        self.register_buffer("lower_mask", torch.tril(torch.ones(channels, channels), -1))
        self.lower = nn.Parameter(lower.float())
        self.upper = nn.Parameter(torch.triu(upper, 1).float())
        self.log_s = nn.Parameter(torch.log(s.abs()).float())

    def weight(self) -> Tensor:
        """``W = P L (U + diag(s))`` as a (C, C) matrix."""
        eye = torch.eye(self.lower.shape[0], dtype=self.lower.dtype)
        lower = self.lower * self.lower_mask + eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * torch.exp(self.log_s))
        return self.perm @ lower @ upper

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = check_maps(x, "x", "InvConv1x1.forward", self.log_s.shape[0], self.log_s)
        w = self.weight()
        y = F.conv2d(x, w[:, :, None, None])
        return y, (_pixels(x) * self.log_s.sum()).expand(x.shape[0])

    def inverse(self, y: Tensor) -> Tensor:
        y = check_maps(y, "y", "InvConv1x1.inverse", self.log_s.shape[0], self.log_s)
        w_inv = torch.linalg.inv(self.weight())
        return F.conv2d(y, w_inv[:, :, None, None])


class ImageAffineCoupling(nn.Module):
    """Affine coupling with a small conv conditioner (Table 1, row 3).

    ``x_a, x_b`` = first and second half of the channels; ``(t, h) = NN(x_a)``;
    ``y_b = (x_b + t) ⊙ σ(h + 2)``, ``y_a = x_a``; ``log_det = Σ_{c,i,j} ln σ(h + 2)``.
    The Jacobian is triangular, and the inverse ``x_b = y_b / σ(h + 2) - t`` needs NN only
    forwards. ``σ(h + 2)`` keeps the scale in (0, 1) and starts it near 0.88; the last conv is
    zero-initialised, so every coupling starts as (nearly) the identity (Glow, §3.3).
    ``dropout`` (training only) regularises the conditioner on small data sets; for a fixed
    dropout mask the layer is still exactly invertible, and in eval mode there is none.
    """

    def __init__(self, channels: int, hidden: int = 64, dropout: float = 0.0) -> None:
        super().__init__()
        channels = _channels("channels", channels, "ImageAffineCoupling", even=True)
        hidden = check_count("hidden", hidden, owner="ImageAffineCoupling", hi=MAX_CHANNELS)
        dropout = check_real("dropout", dropout, owner="ImageAffineCoupling", lo=0.0, hi=1.0,
                             hi_open=True)
        self.channels = channels
        half = channels // 2
        self.net = nn.Sequential(
            nn.Conv2d(half, hidden, 3, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 1), nn.ReLU(), nn.Dropout(dropout),
            nn.Conv2d(hidden, 2 * (channels - half), 3, padding=1))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def _shift_scale(self, x_a: Tensor) -> tuple[Tensor, Tensor]:
        t, h = self.net(x_a).chunk(2, dim=1)
        return t, torch.sigmoid(h + 2.0)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = check_maps(x, "x", "ImageAffineCoupling.forward", self.channels,
                       self.net[0].weight)
        x_a, x_b = x.chunk(2, dim=1)
        t, s = self._shift_scale(x_a)
        y_b = (x_b + t) * s
        return torch.cat([x_a, y_b], dim=1), torch.log(s).flatten(1).sum(1)

    def inverse(self, y: Tensor) -> Tensor:
        y = check_maps(y, "y", "ImageAffineCoupling.inverse", self.channels,
                       self.net[0].weight)
        y_a, y_b = y.chunk(2, dim=1)
        t, s = self._shift_scale(y_a)
        return torch.cat([y_a, y_b / s - t], dim=1)


class Squeeze(nn.Module):
    """(N, C, H, W) → (N, 4C, H/2, W/2): each 2×2 block of pixels becomes 4 channels
    (Dinh et al. 2017, §3.6). Only a reordering, so ``log_det = 0``."""

    def __init__(self) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        n, c, h, w = check_maps(x, "x", "Squeeze.forward").shape
        if h % 2 or w % 2:
            raise ValueError(f"Squeeze.forward: x needs even height and width; got shape "
                             f"{tuple(x.shape)}")
        y = x.reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
        return y.reshape(n, 4 * c, h // 2, w // 2), x.new_zeros(n)

    def inverse(self, y: Tensor) -> Tensor:
        n, c4, h, w = check_maps(y, "y", "Squeeze.inverse").shape
        if c4 % 4:
            raise ValueError(f"Squeeze.inverse: y needs a multiple of 4 channels; got shape "
                             f"{tuple(y.shape)}")
        x = y.reshape(n, c4 // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
        return x.reshape(n, c4 // 4, 2 * h, 2 * w)


class Split(nn.Module):
    """Factor out half the channels (multi-scale architecture, Dinh et al. 2017 §3.6; Glow's
    learned prior on the factored half).

    ``z_keep, z_out`` = first and second half; ``(μ, ln σ) = conv(z_keep)`` (zero-initialised:
    it starts as N(0, I)); the latent is ``ε = (z_out - μ) / σ`` with ``log_det = -Σ ln σ``,
    so every ε is standard normal under the model. ``forward(x) -> (z_keep, ε, log_det)``;
    ``inverse(z_keep, ε) -> x``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        channels = _channels("channels", channels, "Split", even=True)
        self.channels = channels
        half = channels // 2
        self.prior = nn.Conv2d(half, 2 * (channels - half), 3, padding=1)
        nn.init.zeros_(self.prior.weight)
        nn.init.zeros_(self.prior.bias)

    def _mean_log_std(self, z_keep: Tensor) -> tuple[Tensor, Tensor]:
        mean, log_std = self.prior(z_keep).chunk(2, dim=1)
        return mean, log_std

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        x = check_maps(x, "x", "Split.forward", self.channels, self.prior.weight)
        z_keep, z_out = x.chunk(2, dim=1)
        mean, log_std = self._mean_log_std(z_keep)
        eps = (z_out - mean) * torch.exp(-log_std)
        return z_keep, eps, -log_std.flatten(1).sum(1)

    def inverse(self, z_keep: Tensor, eps: Tensor) -> Tensor:
        half = self.channels // 2
        z_keep = check_maps(z_keep, "z_keep", "Split.inverse", half, self.prior.weight)
        eps = check_maps(eps, "eps", "Split.inverse", half, self.prior.weight)
        if eps.shape != z_keep.shape:
            raise ValueError(f"Split.inverse: eps must have the shape of z_keep "
                             f"{tuple(z_keep.shape)}; got shape {tuple(eps.shape)}")
        mean, log_std = self._mean_log_std(z_keep)
        return torch.cat([z_keep, mean + eps * torch.exp(log_std)], dim=1)
