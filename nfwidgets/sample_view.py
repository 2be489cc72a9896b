"""``SampleView``: what ``SampleGrid`` shows, as numpy arrays and PNG bytes (torch only, no
widgets).

One picture: a 5×5 grid of Glow samples drawn at a temperature ``T`` (``ε ~ N(0, T² I)``,
decoded, ``k = clamp(⌊17 v⌋, 0, 16)``), and below it an interpolation row between two test
digits: each is encoded with the flow, ``ε_a = f(x(v_a))`` with ``v = (k + 1/2) / 17`` (the
middle of each level's interval: no dequantisation noise), the latents are interpolated
**linearly**, ``ε(α) = (1 - α) ε_a + α ε_b``, and decoded. The row's ends are the two digits
themselves (the flow is exactly invertible). A linear path is shorter than the sampled ε near
its middle (‖ε(½)‖ < ‖ε_a‖ for unrelated ε_a, ε_b), so the middle images look like samples at a
lower temperature.

The unit noise of the k-th "new samples" press is drawn from ``Generator(seed).manual_seed``
of ``(seed, k)`` and kept, so the same press shows the same samples, and moving the temperature
rescales the same noise instead of drawing new digits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from . import data
from ._checks import check_count, shown
from .models.glow.model import Glow, check_temperature, to_levels
from .render import encode_png_indexed

__all__ = ["SampleFrame", "SampleView", "grey_palette", "tile"]

#: Rows and columns of the sample grid.
GRID = 5
#: Images in the interpolation row (the two ends included).
ROW = 5
#: Screen pixels per image pixel, and between images.
SCALE, GAP = 4, 4
#: Palette: levels 0–16 from white to black (as digits are usually drawn), then the background.
BACKGROUND = data.LEVELS


def grey_palette() -> np.ndarray:
    """(18, 3) uint8: level k → grey ``255 (1 - k/16)``, then a light-blue background."""
    grey = np.round(255 * (1 - np.arange(data.LEVELS) / (data.LEVELS - 1))).astype(np.uint8)
    return np.vstack([np.repeat(grey[:, None], 3, 1), [[225, 233, 242]]]).astype(np.uint8)


def tile(rows: list[np.ndarray], scale: int = SCALE, gap: int = GAP) -> np.ndarray:
    """Images (each row a (n, 8, 8) array of levels) laid out row by row, each pixel a
    ``scale × scale`` block, ``gap`` background pixels around each image: (H, W) uint8."""
    cols = max(r.shape[0] for r in rows)
    cell = 8 * scale
    out = np.full((len(rows) * (cell + gap) + gap, cols * (cell + gap) + gap), BACKGROUND,
                  np.uint8)
    for i, row in enumerate(rows):
        big = np.repeat(np.repeat(row.astype(np.uint8), scale, 1), scale, 2)
        for j, image in enumerate(big):
            top, left = gap + i * (cell + gap), gap + j * (cell + gap)
            out[top:top + cell, left:left + cell] = image
    return out


@dataclass(frozen=True)
class SampleFrame:
    """One picture and what it shows."""

    picture: np.ndarray       # (H, W) uint8 palette indices (``grey_palette``)
    png: bytes                # the picture as an indexed PNG
    samples: np.ndarray       # (25, 8, 8) int64 levels
    interpolation: np.ndarray  # (ROW, 8, 8) int64 levels, ends = the two test digits
    temperature: float
    press: int
    pair: tuple[int, int]
    nonfinite: int            # decoded values that were NaN/inf (shown as level 0)
    compute_ms: float


class SampleView:
    """Samples and an interpolation row of a ``Glow`` (see the module docstring).

    Arguments:
        model: a trained ``Glow`` (``nfwidgets.models.load_pretrained("glow-digits")``).
        seed: seeds the unit noise of every press.
        grid: rows = columns of the sample grid.
        row: images in the interpolation row.
    """

    def __init__(self, model: Glow, seed: int = 0, grid: int = GRID, row: int = ROW) -> None:
        if not isinstance(model, Glow):
            raise ValueError(f"model must be a nfwidgets Glow; got {type(model).__name__} "
                             f"{model!r:.60}")
        seed = check_count("seed", seed, lo=0, hi=2**32 - 1)
        grid = check_count("grid", grid, lo=1, hi=32)
        row = check_count("row", row, lo=2, hi=64)
        self.model, self.seed, self.grid, self.row = model, seed, grid, row
        self.test = data.digits("test")
        self.palette = grey_palette()
        self._noise: dict[int, torch.Tensor] = {}
        self._ends: dict[int, torch.Tensor] = {}

    def invalidate(self) -> None:
        """The model's weights changed: forget the latents of the row's two digits (the unit
        noise of each press does not depend on the weights and is kept)."""
        self._ends.clear()

    def unit_noise(self, press: int) -> torch.Tensor:
        """The (grid², 64) standard normal noise of press ``press`` (kept once drawn)."""
        if isinstance(press, bool) or not isinstance(press, int) or press < 0:
            raise ValueError(f"press must be an integer ≥ 0; got {shown(press)}")
        if press not in self._noise:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + press)
            self._noise[press] = self.model.latents(self.grid ** 2, 1.0, gen)
        return self._noise[press]

    def latent_of(self, index: int) -> torch.Tensor:
        """``ε = f(x(v))`` (64,) of test digit ``index`` at its levels' midpoints."""
        n = self.test.shape[0]
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
            raise ValueError(f"test digit index must be an integer in 0–{n - 1}"
                             f"; got {shown(index)}")
        if index not in self._ends:
            dtype = next(self.model.parameters()).dtype
            v = (self.test[index:index + 1].to(dtype) + 0.5) / data.LEVELS
            self._ends[index] = self.model.encode_values(v)[0]
        return self._ends[index]

    def compute(self, temperature: float = 0.7, press: int = 0,
                pair: tuple[int, int] = (0, 1)) -> SampleFrame:
        """The picture for these settings (one decode of the grid and the row together)."""
        start = time.perf_counter()
        temperature = check_temperature(temperature)
        a, b = (self.latent_of(i) for i in pair)
        alpha = torch.linspace(0.0, 1.0, self.row, dtype=a.dtype)[:, None]
        eps = torch.cat([temperature * self.unit_noise(press), (1 - alpha) * a + alpha * b])
        with torch.inference_mode():
            v = self.model.decode_values(eps)
        nonfinite = int((~torch.isfinite(v)).sum())
        levels = to_levels(v).numpy()
        samples, row = levels[:self.grid ** 2], levels[self.grid ** 2:]
        rows = [samples[i * self.grid:(i + 1) * self.grid] for i in range(self.grid)]
        picture = tile([*rows, row])
        png = encode_png_indexed(picture, self.palette)
        return SampleFrame(picture, png, samples, row, temperature, press, tuple(pair),
                           nonfinite, (time.perf_counter() - start) * 1000)
