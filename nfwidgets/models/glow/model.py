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
from ...flows.base import standard_normal_log_prob
from .layers import ActNorm, ImageAffineCoupling, InvConv1x1, Split, Squeeze

__all__ = ["FlowStep", "Glow"]

#: The logit's margin: ``x = logit(ALPHA + (1 - 2 ALPHA) v)`` (RealNVP's value).
ALPHA = 0.05


class FlowStep(nn.Module):
    """One step of Glow: ActNorm → InvConv1x1 → ImageAffineCoupling (log-dets add up)."""

    def __init__(self, channels: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.layers = nn.ModuleList([ActNorm(channels), InvConv1x1(channels),
                                     ImageAffineCoupling(channels, hidden, dropout)])

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        total = x.new_zeros(x.shape[0])
        for layer in self.layers:
            x, log_det = layer(x)
            total = total + log_det
        return x, total

    def inverse(self, y: Tensor) -> Tensor:
        for layer in reversed(self.layers):
            y = layer.inverse(y)
        return y


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return value


class Glow(nn.Module):
    """Multi-scale Glow on (N, 8, 8) images; see the module docstring.

    Arguments:
        levels: squeeze → steps (→ split) blocks (1–3: 8×8 halves three times at most).
        depth: flow steps K per level.
        hidden: channels of each coupling's conditioner.
        dropout: dropout probability inside the conditioners while training (0–1).

    ``config`` holds these; ``Glow.from_config(config)`` rebuilds the architecture (the
    checkpoint then loads parameters and buffers, see ``nfwidgets.models.load_pretrained``).
    """

    def __init__(self, levels: int = 2, depth: int = 8, hidden: int = 64,
                 dropout: float = 0.0) -> None:
        super().__init__()
        _positive_int("levels", levels)
        if levels > 3:
            raise ValueError(f"levels must be 1, 2 or 3 (an 8×8 image halves 3 times); "
                             f"got {levels}")
        if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not (
                0 <= dropout < 1):
            raise ValueError(f"dropout must be a probability in [0, 1); got {dropout!r}")
        self.config = {"levels": levels, "depth": _positive_int("depth", depth),
                       "hidden": _positive_int("hidden", hidden), "dropout": float(dropout)}
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
        return cls(**config)

    @staticmethod
    def to_flow_input(v: Tensor) -> tuple[Tensor, Tensor]:
        """``x = logit(y)``, ``y = α + (1 - 2α) v``, shape (N, 1, 8, 8), and
        ``ln|det ∂x/∂v| = Σ_pixels [ln(1 - 2α) - ln y - ln(1 - y)]`` (N,)."""
        y = ALPHA + (1 - 2 * ALPHA) * v
        x = torch.log(y) - torch.log1p(-y)
        log_det = (math.log(1 - 2 * ALPHA) - torch.log(y) - torch.log1p(-y)).flatten(1).sum(1)
        return x[:, None], log_det

    @staticmethod
    def from_flow_input(x: Tensor) -> Tensor:
        """``v = (σ(x) - α) / (1 - 2α)``, (N, 8, 8): the inverse of ``to_flow_input``."""
        return (torch.sigmoid(x[:, 0]) - ALPHA) / (1 - 2 * ALPHA)

    # --- the flow: x (N, 1, 8, 8) ↔ ε (N, 64) ------------------------------------------------
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``ε = f(x)`` (N, 64) and ``ln|det ∂ε/∂x|`` (N,) for flow inputs x (N, 1, 8, 8)."""
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
        """``x = f⁻¹(ε)`` (N, 1, 8, 8) from latents (N, 64)."""
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
        x, log_det_input = self.to_flow_input(_check_values(v))
        eps, log_det = self.encode(x)
        return standard_normal_log_prob(eps) + log_det + log_det_input

    def bits_per_dim(self, images: Tensor, generator: torch.Generator | None = None,
                     seed: int = 0) -> float:
        """Mean bits per pixel of integer ``images`` (N, 8, 8), levels 0–16: dequantised
        inside (``data.dequantize`` with ``generator``, or a new one seeded with ``seed``), then
        ``data.bits_per_dim(-ln p(v))``: with one draw of u, an estimate of an upper bound on
        ``-log₂ P(k) / 64`` (the bound holds in expectation over u)."""
        images = data.check_images(images)
        if generator is None:
            generator = torch.Generator().manual_seed(seed)
        dtype = next(self.parameters()).dtype
        with torch.no_grad():
            v = data.dequantize(images, generator, dtype)
            return float(data.bits_per_dim(-self.log_prob(v).mean()))

    def sample_values(self, n: int, temperature: float = 0.7,
                      generator: torch.Generator | None = None) -> Tensor:
        """``n`` samples ``v`` (n, 8, 8) of the continuous model, ``ε ~ N(0, T² I)``."""
        return self.decode_values(self.latents(n, temperature, generator))

    def latents(self, n: int, temperature: float = 0.7,
                generator: torch.Generator | None = None) -> Tensor:
        """``ε ~ N(0, T² I)``, shape (n, 64) (Glow §6: T ≈ 0.7 trades diversity for clean
        samples)."""
        _positive_int("n", n)
        temperature = check_temperature(temperature)
        dtype = next(self.parameters()).dtype
        return temperature * torch.randn(n, data.PIXELS, generator=generator, dtype=dtype)

    def decode_values(self, eps: Tensor) -> Tensor:
        """Images ``v`` (n, 8, 8) from latents (n, 64): ``from_flow_input(f⁻¹(ε))``."""
        with torch.no_grad():
            return self.from_flow_input(self.decode(eps))

    def encode_values(self, v: Tensor) -> Tensor:
        """Latents ``ε = f(x(v))`` (n, 64) of images ``v`` (n, 8, 8) in [0, 1)."""
        with torch.no_grad():
            return self.encode(self.to_flow_input(_check_values(v))[0])[0]

    def sample(self, n: int, temperature: float = 0.7,
               generator: torch.Generator | None = None) -> Tensor:
        """``n`` integer images (n, 8, 8), levels 0–16: ``k = clamp(⌊17 v⌋, 0, 16)`` of samples
        ``v`` drawn at ``temperature`` (the inverse of dequantisation, up to the noise)."""
        return to_levels(self.sample_values(n, temperature, generator))


def to_levels(v: Tensor) -> Tensor:
    """``clamp(⌊17 v⌋, 0, 16)`` as int64: the level whose interval holds ``v`` (NaN → 0; a
    sample may leave [0, 1) slightly, since the logit's margin α maps to v < 0 and v > 1)."""
    k = torch.floor(torch.nan_to_num(v, nan=0.0) * data.LEVELS)
    return k.clamp(0, data.LEVELS - 1).to(torch.int64)


def check_temperature(temperature: object) -> float:
    """``temperature`` as a float, or a ``ValueError``: it must be a finite number ≥ 0."""
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        raise ValueError(f"temperature must be a number ≥ 0; got {temperature!r}")
    if not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number ≥ 0; got {temperature!r}")
    return float(temperature)


def _check_values(v: object) -> Tensor:
    if not isinstance(v, Tensor) or not v.is_floating_point():
        raise ValueError("v must be a float tensor (N, 8, 8) of dequantised images in [0, 1) "
                         f"(see nfwidgets.data.dequantize); got {type(v).__name__}"
                         + (f" of {v.dtype}" if isinstance(v, Tensor) else ""))
    if v.ndim == 2:
        v = v[None]
    if v.ndim != 3 or tuple(v.shape[1:]) != (8, 8) or v.shape[0] < 1:
        raise ValueError(f"v must have shape (N, 8, 8) with N ≥ 1; got {tuple(v.shape)}")
    if not bool(torch.isfinite(v).all()):
        raise ValueError("v holds NaN or infinite values; dequantised images lie in [0, 1)")
    if float(v.min()) < 0 or float(v.max()) > 1:
        raise ValueError(f"v must lie in [0, 1) (dequantised images); got values from "
                         f"{float(v.min()):.3g} to {float(v.max()):.3g}")
    return v
