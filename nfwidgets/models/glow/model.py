"""``Glow``: a small multi-scale Glow (Kingma & Dhariwal 2018) for the 8×8 digits.

Architecture with ``levels=2`` (Glow, Fig. 2b; Dinh et al. 2017, §3.6)::

    v ∈ [0,1)^(1×8×8) → x = logit(α + (1 - 2α) v) → squeeze 4×4×4 → K steps
        → split (2×4×4 leave as ε₁) → squeeze 8×2×2 → K steps → ε₂ (8×2×2)

A step is ActNorm → InvConv1x1 → ImageAffineCoupling. All ε together (64 numbers) are
standard normal under the model, so with ``ε = f(x)``

    ln p(v) = ln N(ε; 0, I) + Σ_layers log_det + Σ_pixels ln|dx/dv|.

The logit (Dinh et al. 2017, §4.1, α = 0.05) sends the edges of [0, 1) far out, so the flow need
not draw the sharp edge of the many background pixels (level 0, v ∈ [0, 1/17)); its
Jacobian is diagonal, ``dx/dv = (1 - 2α) / (y (1 - y))`` with ``y = α + (1 - 2α) v``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ... import data
from ..._checks import MAX_SEED, check_batch, check_count, check_generator, check_real
from ...flows.base import standard_normal_log_prob
from .. import pretrained
from .layers import (
    MAX_CHANNELS,
    ActNorm,
    ImageAffineCoupling,
    InvConv1x1,
    Split,
    Squeeze,
    check_maps,
)

__all__ = ["FlowStep", "Glow"]

#: The logit's margin: ``x = logit(ALPHA + (1 - 2 ALPHA) v)`` (RealNVP's value).
ALPHA = 0.05
#: Most flow steps per level, and most samples per call (sizes a typo cannot blow up).
MAX_DEPTH, MAX_SAMPLES = 64, 10_000
#: Highest sampling temperature (Glow samples at T ≤ 1; far above, samples overflow).
MAX_TEMPERATURE = 10.0


class FlowStep(nn.Module):
    """One step of Glow: ActNorm → InvConv1x1 → ImageAffineCoupling (log-dets add up).
    Inputs as for the layers (``layers`` module docstring): (N, C, H, W); a NaN in one example
    propagates to that example only (once ActNorm is initialised)."""

    def __init__(self, channels: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        check_count("channels", channels, owner="FlowStep", lo=2, hi=MAX_CHANNELS)
        self.layers = nn.ModuleList([ActNorm(channels), InvConv1x1(channels),
                                     ImageAffineCoupling(channels, hidden, dropout)])

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = check_maps(x, "x", "FlowStep.forward", *self._channels_and_like())
        total = x.new_zeros(x.shape[0])
        for layer in self.layers:
            x, log_det = layer(x)
            total = total + log_det
        return x, total

    def _channels_and_like(self) -> tuple[int, Tensor]:
        bias = self.layers[0].bias
        return bias.shape[1], bias

    def inverse(self, y: Tensor) -> Tensor:
        y = check_maps(y, "y", "FlowStep.inverse", *self._channels_and_like())
        for layer in reversed(self.layers):
            y = layer.inverse(y)
        return y


class Glow(nn.Module):
    """Multi-scale Glow on (N, 8, 8) images; see the module docstring.

    Arguments:
        levels: squeeze → steps (→ split) blocks (1–3: 8×8 halves three times at most).
        depth: flow steps K per level (1–64).
        hidden: channels of each coupling's conditioner (1–1024).
        dropout: dropout probability inside the conditioners while training, in [0, 1).

    ``config`` holds these; ``Glow.from_config(config)`` rebuilds the architecture (the
    checkpoint then loads parameters and buffers, see ``nfwidgets.models.load_pretrained``).

    Every entry point refuses NaN or infinite data (images, ``v``, flow inputs, latents) with a
    ``ValueError``: ActNorm's first call initialises from the batch, and one NaN would poison it.
    """

    def __init__(self, levels: int = 2, depth: int = 8, hidden: int = 64,
                 dropout: float = 0.0) -> None:
        super().__init__()
        levels = check_count("levels", levels, owner="Glow (an 8×8 image halves 3 times)", hi=3)
        depth = check_count("depth", depth, owner="Glow", hi=MAX_DEPTH)
        hidden = check_count("hidden", hidden, owner="Glow", hi=MAX_CHANNELS)
        dropout = check_real("dropout", dropout, owner="Glow", lo=0.0, hi=1.0, hi_open=True)
        self.config = {"levels": levels, "depth": depth, "hidden": hidden, "dropout": dropout}
        self.squeezes = nn.ModuleList()
        self.steps = nn.ModuleList()
        self.splits = nn.ModuleList()
        channels = 1
        for level in range(levels):
            channels *= 4
            self.squeezes.append(Squeeze())
            self.steps.append(nn.ModuleList([FlowStep(channels, hidden, dropout)
                                             for _ in range(depth)]))
            if level < levels - 1:
                self.splits.append(Split(channels))
                channels //= 2

    @classmethod
    def from_config(cls, config: dict) -> Glow:
        """A fresh model of the given ``config`` (as in ``.config``)."""
        return pretrained.from_config(cls, config, ("levels", "depth", "hidden", "dropout"))

    @staticmethod
    def to_flow_input(v: Tensor) -> tuple[Tensor, Tensor]:
        """``x = logit(y)``, ``y = α + (1 - 2α) v``, shape (N, 1, 8, 8), and
        ``ln|det ∂x/∂v| = Σ_pixels [ln(1 - 2α) - ln y - ln(1 - y)]`` (N,), for ``v`` as in
        ``log_prob``."""
        v = _check_values(v)
        y = ALPHA + (1 - 2 * ALPHA) * v
        x = torch.log(y) - torch.log1p(-y)
        log_det = (math.log(1 - 2 * ALPHA) - torch.log(y) - torch.log1p(-y)).flatten(1).sum(1)
        return x[:, None], log_det

    @staticmethod
    def from_flow_input(x: Tensor) -> Tensor:
        """``v = (σ(x) - α) / (1 - 2α)``, (N, 8, 8): the inverse of ``to_flow_input``, for
        finite flow inputs x (N, 1, 8, 8)."""
        return _from_flow_input(_check_flow_input(x, "Glow.from_flow_input"))

    # --- the flow: x (N, 1, 8, 8) ↔ ε (N, 64) ------------------------------------------------
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``ε = f(x)`` (N, 64) and ``ln|det ∂ε/∂x|`` (N,) for finite flow inputs x
        (N, 1, 8, 8)."""
        x = _check_flow_input(x, "Glow.encode", self._like())
        total = x.new_zeros(x.shape[0])
        latents = []
        for level, squeeze in enumerate(self.squeezes):
            x, _ = squeeze(x)
            for step in self.steps[level]:
                x, log_det = step(x)
                total = total + log_det
            if level < len(self.splits):
                x, eps, log_det = self.splits[level](x)
                total = total + log_det
                latents.append(eps.flatten(1))
        latents.append(x.flatten(1))
        return torch.cat(latents, dim=1), total

    def decode(self, eps: Tensor) -> Tensor:
        """``x = f⁻¹(ε)`` (N, 1, 8, 8) from finite latents (N, 64)."""
        eps = _check_latents(eps, "Glow.decode", self._like())
        shapes = self._latent_shapes()
        sizes = [math.prod(s) for s in shapes]
        parts = list(eps.split(sizes, dim=1))
        x = parts[-1].reshape(-1, *shapes[-1])
        for level in reversed(range(len(self.squeezes))):
            if level < len(self.splits):
                x = self.splits[level].inverse(x, parts[level].reshape(-1, *shapes[level]))
            for step in reversed(self.steps[level]):
                x = step.inverse(x)
            x = self.squeezes[level].inverse(x)
        return x

    def _like(self) -> Tensor:
        return next(self.parameters())

    def _latent_shapes(self) -> list[tuple[int, int, int]]:
        shapes, channels, side = [], 1, 8
        for level in range(len(self.squeezes)):
            channels, side = channels * 4, side // 2
            if level < len(self.splits):
                channels //= 2
                shapes.append((channels, side, side))
        shapes.append((channels, side, side))
        return shapes

    # --- densities and samples on [0, 1)^64 --------------------------------------------------
    def log_prob(self, v: Tensor) -> Tensor:
        """``ln p(v)`` (N,) of dequantised images ``v`` (N, 8, 8) in [0, 1).

        The flow's input is ``x = logit(α + (1 - 2α) v)`` (``to_flow_input``), so
        ``ln p(v) = ln N(f(x); 0, I) + ln|det ∂f/∂x| + ln|det ∂x/∂v|``.
        """
        x, log_det_input = self.to_flow_input(_check_values(v).to(self._like().dtype))
        eps, log_det = self.encode(x)
        return standard_normal_log_prob(eps) + log_det + log_det_input

    def bits_per_dim(self, images: Tensor, generator: torch.Generator | None = None,
                     seed: int = 0) -> float:
        """Mean bits per pixel of integer ``images`` (N, 8, 8), levels 0–16: dequantised
        inside (``data.dequantize`` with ``generator``, or a new one seeded with ``seed``), then
        ``data.bits_per_dim(-ln p(v))``: with one draw of u, an estimate of an upper bound on
        ``-log₂ P(k) / 64`` (the bound holds in expectation over u). ``images`` as for
        ``data.check_images`` (NaN or infinite values are refused)."""
        images = data.check_images(images)
        seed = check_count("seed", seed, owner="Glow.bits_per_dim", lo=0, hi=MAX_SEED)
        check_generator("generator", generator, owner="Glow.bits_per_dim")
        if generator is None:
            generator = torch.Generator().manual_seed(seed)
        dtype = self._like().dtype
        with torch.no_grad():
            v = data.dequantize(images, generator, dtype)
            return float(data.bits_per_dim(-self.log_prob(v).mean()))

    def sample_values(self, n: int, temperature: float = 0.7,
                      generator: torch.Generator | None = None) -> Tensor:
        """``n`` samples ``v`` (n, 8, 8) of the continuous model, ``ε ~ N(0, T² I)``
        (``n`` ≤ ``MAX_SAMPLES``, ``0 ≤ T ≤ MAX_TEMPERATURE``)."""
        return self.decode_values(self.latents(n, temperature, generator))

    def latents(self, n: int, temperature: float = 0.7,
                generator: torch.Generator | None = None) -> Tensor:
        """``ε ~ N(0, T² I)``, shape (n, 64) (Glow §6: T ≈ 0.7 trades diversity for clean
        samples); ``1 ≤ n ≤ MAX_SAMPLES``, ``0 ≤ T ≤ MAX_TEMPERATURE``."""
        n = check_count("n", n, owner="Glow", hi=MAX_SAMPLES)
        temperature = check_temperature(temperature)
        check_generator("generator", generator, owner="Glow")
        dtype = self._like().dtype
        return temperature * torch.randn(n, data.PIXELS, generator=generator, dtype=dtype)

    def decode_values(self, eps: Tensor) -> Tensor:
        """Images ``v`` (n, 8, 8) from finite latents (n, 64): ``from_flow_input(f⁻¹(ε))``."""
        with torch.no_grad():
            return _from_flow_input(self.decode(eps))

    def encode_values(self, v: Tensor) -> Tensor:
        """Latents ``ε = f(x(v))`` (n, 64) of images ``v`` (n, 8, 8) in [0, 1)."""
        with torch.no_grad():
            return self.encode(self.to_flow_input(_check_values(v))[0])[0]

    def sample(self, n: int, temperature: float = 0.7,
               generator: torch.Generator | None = None) -> Tensor:
        """``n`` integer images (n, 8, 8), levels 0–16: ``k = clamp(⌊17 v⌋, 0, 16)`` of samples
        ``v`` drawn at ``temperature`` (the inverse of dequantisation, up to the noise)."""
        return _levels(self.sample_values(n, temperature, generator))


def _from_flow_input(x: Tensor) -> Tensor:
    return (torch.sigmoid(x[:, 0]) - ALPHA) / (1 - 2 * ALPHA)


def to_levels(v: Tensor) -> Tensor:
    """``clamp(⌊17 v⌋, 0, 16)`` as int64, shape (N, 8, 8): the level whose interval holds each
    value of ``v`` (a float tensor of any shape of ``data.IMAGE_SHAPES``). A sample may leave
    [0, 1) slightly (the logit's margin α maps to v < 0 and v > 1), and a sample drawn at too
    high a temperature may overflow: by design ``+inf`` becomes level 16, ``-inf`` and NaN
    level 0 (an integer image cannot hold NaN), each pixel on its own."""
    v = data.as_image_batch(v, "v")
    if not v.is_floating_point():
        raise ValueError(f"v must be a float tensor of values (see Glow.sample_values); got "
                         f"dtype {v.dtype}")
    return _levels(v.detach())


def _levels(v: Tensor) -> Tensor:
    k = torch.floor(torch.nan_to_num(v, nan=0.0) * data.LEVELS)
    return k.clamp(0, data.LEVELS - 1).to(torch.int64)


def check_temperature(temperature: object) -> float:
    """``temperature`` as a float, or a ``ValueError``: a finite number in
    ``[0, MAX_TEMPERATURE]``."""
    return check_real("temperature", temperature, owner="Glow", lo=0.0, hi=MAX_TEMPERATURE)


def _check_values(v: object) -> Tensor:
    """Dequantised images ``v`` in [0, 1] as a float tensor (N, 8, 8) (any shape of
    ``data.IMAGE_SHAPES``), finite."""
    v = data.as_image_batch(v, "v")
    if not v.is_floating_point():
        raise ValueError(f"v must be a float tensor of dequantised images in [0, 1) (see "
                         f"nfwidgets.data.dequantize); got dtype {v.dtype}")
    if not bool(torch.isfinite(v).all()):
        raise ValueError("v holds NaN or infinite values; dequantised images lie in [0, 1)")
    lo, hi = v.min().item(), v.max().item()
    if lo < 0 or hi > 1:
        raise ValueError(f"v must lie in [0, 1) (dequantised images); got values from "
                         f"{lo:.3g} to {hi:.3g}")
    return v


def _check_flow_input(x: object, owner: str, like: Tensor | None = None) -> Tensor:
    """Flow inputs (N, 1, 8, 8), finite, in the dtype of ``like``."""
    x = check_maps(x, "x", owner, 1, like)
    if tuple(x.shape[2:]) != (8, 8):
        raise ValueError(f"{owner}: x must have shape (N, 1, 8, 8); got shape {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{owner}: x holds NaN or infinite values")
    return x


def _check_latents(eps: object, owner: str, like: Tensor) -> Tensor:
    """Latents (N, 64), finite, in the dtype of ``like``."""
    check_batch(eps, data.PIXELS, owner=f"{owner}: eps")
    if eps.shape[0] < 1 or not bool(torch.isfinite(eps).all()):
        raise ValueError(f"{owner}: eps must be finite latents (N, 64) with N ≥ 1; got shape "
                         f"{tuple(eps.shape)}" + (" with NaN or infinite values"
                                                  if eps.shape[0] else ""))
    return eps.to(like.dtype)
