"""The view model of ``PosteriorExplorer``: a 2-D-latent ``FlowVAE`` and one test digit →
numpy arrays of the true posterior, the encoder's Gaussian and the flow posterior after k
layers on a latent grid, with the bound and its gap (torch only, no widgets).

- ``ln p(z|x)`` and ``ln p(x)`` (midpoint rule on the grid): ``models.flowvae.grids``.
- ``ln q₀(z|x)``, ``ln q_k(z|x)``: exact, through the inverses of the image's layers.
- ``ELBO_k = E_{q_k}[ln p(x, z) - ln q_k(z|x)]``: Monte Carlo with fixed ε (the same draws for
  every k and image, so scrubbing k moves the number smoothly), and the gap
  ``ln p(x) - ELBO_k = KL(q_k(z|x) ‖ p(z|x)) ≥ 0`` (Rezende & Mohamed 2015, eq. 15).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from ._checks import check_count
from .data import binarize, digits
from .grid import LOG_DENSITY_FLOOR, check_bounds, density_grid
from .models.flowvae.grids import decoder_grid, engine_flow, log_evidence, log_joint_grid

__all__ = ["PosteriorFrame", "PosteriorView"]


@dataclass(frozen=True)
class PosteriorFrame:
    """One picture's arrays (float32, rows = z₂, columns = z₁) and numbers (nats).

    ``posterior``, ``q0``, ``qk``: densities divided by the true posterior's peak (so the
    three panels share one colour scale); ``image``: the digit (8, 8), row 0 at the top;
    ``log_px``: ln p(x) on the grid; ``elbo``: ELBO_k; ``gap``: ln p(x) − ELBO_k;
    ``qk_mass``: the share of q_k inside the view; ``peak``: the posterior's peak density.
    """

    index: int
    k: int
    label: int
    resolution: int
    image: np.ndarray
    posterior: np.ndarray
    q0: np.ndarray
    qk: np.ndarray
    log_px: float
    elbo: float
    gap: float
    qk_mass: float
    peak: float
    compute_ms: float


class PosteriorView:
    """Computes ``PosteriorFrame``s for the test digits (``nfwidgets.data``, binarised).

    Arguments:
        vae: a ``FlowVAE`` with ``latent_dim = 2``.
        bounds: the latent view ((z₁ min, max), (z₂ min, max)).
        n_elbo: Monte Carlo draws for ELBO_k.
        seed: seeds the fixed ε of those draws.

    The decoder's values on the grid and each image's ``ln p(x, z)`` are kept between frames
    (they do not depend on k): after changing the model's weights, make a new view.
    """

    def __init__(self, vae, bounds=((-4.0, 4.0), (-4.0, 4.0)), n_elbo: int = 2000,
                 seed: int = 0) -> None:
        if getattr(vae, "latent_dim", None) != 2:
            raise ValueError(f"vae must be a FlowVAE with latent_dim = 2; got "
                             f"{type(vae).__name__} {vae!r:.60} with latent_dim = "
                             f"{getattr(vae, 'latent_dim', None)!r}")
        self.vae = vae
        self.bounds = check_bounds(bounds)
        n_elbo = check_count("n_elbo", n_elbo, lo=1, hi=100_000)
        seed = check_count("seed", seed, lo=0, hi=2**32 - 1)
        images, labels = digits("test", with_labels=True)
        self.images, self.labels = binarize(images), labels
        self.dtype = vae._dtype()
        self._eps = torch.randn(n_elbo, 2, generator=torch.Generator().manual_seed(seed),
                                dtype=self.dtype)
        self._joint: dict[tuple[int, int], tuple[np.ndarray, float]] = {}
        self._decoded: dict[int, tuple] = {}  # the decoder on the grid: the same for every image

    def invalidate(self) -> None:
        """The model's weights changed: forget the decoder grid and every ln p(x, z) kept
        (the encoder-side pictures are recomputed on every call anyway)."""
        self._joint.clear()
        self._decoded.clear()

    @property
    def n_images(self) -> int:
        return int(self.images.shape[0])

    @property
    def layers(self) -> int:
        """K, the model's amortised layers (the largest k)."""
        return int(self.vae.layers)

    def check(self, index: object, k: object) -> tuple[int, int]:
        """``(index, k)`` as ints, or a ``ValueError`` naming the allowed range."""
        index = check_count("index", index, lo=0, hi=self.n_images - 1)
        k = check_count("k", k, lo=0, hi=self.layers)
        return index, k

    def _log_joint(self, index: int, n: int) -> tuple[np.ndarray, float]:
        """``(ln p(x, z) on the grid (n, n), ln p(x))``, kept per (image, grid)."""
        key = (index, n)
        if key not in self._joint:
            if len(self._joint) > 8:
                self._joint.clear()
            if n not in self._decoded:  # coarse and full grids while a slider is dragged
                self._decoded[n] = decoder_grid(self.vae, n, self.bounds)
            log_joint, log_area = log_joint_grid(self.vae, self.images[index], n, self.bounds,
                                                 self._decoded[n])
            log_px = float(log_evidence(log_joint[0], log_area))
            self._joint[key] = (log_joint[0].reshape(n, n).double().numpy(), log_px)
        return self._joint[key]

    @torch.no_grad()
    def elbo(self, index: int, k: int) -> float:
        """``ELBO_k`` of test image ``index``: the mean over the fixed ε of
        ``ln p(x|z_k) + ln p(z_k) - ln q₀(z₀) + Σ ln|det J|``, ``z₀ = μ + σ ε``."""
        index, k = self.check(index, k)
        x = self.images[index:index + 1]
        flow = engine_flow(self.vae, x, k)
        z0 = flow.base.loc + torch.exp(flow.base.log_scale) * self._eps
        log_q0 = flow.base.log_prob(z0)
        zk, log_det = flow(z0) if k else (z0, torch.zeros_like(log_q0))
        logits = self.vae.decode_logits(zk)
        log_joint = self.vae.log_likelihood(x.to(self.dtype), logits) + self.vae.log_prior(zk)
        return float((log_joint - log_q0 + log_det).mean())

    @torch.no_grad()
    def decoded(self, z1: float, z2: float) -> np.ndarray:
        """The decoder's mean image at ``z = (z1, z2)``: pixel probabilities (8, 8), row 0 at
        the top."""
        if not (math.isfinite(z1) and math.isfinite(z2)):
            raise ValueError(f"z must be finite; got ({z1}, {z2})")
        z = torch.tensor([[z1, z2]], dtype=self.dtype)
        return self.vae.decode_mean(z)[0].to(torch.float32).numpy()

    @torch.no_grad()
    def compute(self, index: int, k: int, resolution: int = 200) -> PosteriorFrame:
        """The frame of test digit ``index`` after ``k`` layers on a ``resolution``² grid."""
        start = time.perf_counter()
        index, k = self.check(index, k)
        log_joint, log_px = self._log_joint(index, resolution)
        log_post = log_joint - log_px
        log_peak = float(log_post.max())
        x = self.images[index]
        q0 = density_grid(engine_flow(self.vae, x, 0), self.bounds, resolution)
        qk = q0 if k == 0 else density_grid(engine_flow(self.vae, x, k), self.bounds,
                                            resolution)

        def scaled(log_density: np.ndarray) -> np.ndarray:
            # ÷ the posterior's peak; cells below the grid's floor are drawn as 0
            out = np.exp(np.maximum(log_density - log_peak, LOG_DENSITY_FLOOR))
            return np.ascontiguousarray(np.nan_to_num(out, nan=0.0), dtype=np.float32)

        elbo = self.elbo(index, k)
        if not (math.isfinite(elbo) and math.isfinite(log_px)):
            raise ValueError(f"digit {index}, k = {k}: the bound is not finite "
                             f"(ELBO {elbo}, ln p(x) {log_px})")
        return PosteriorFrame(
            index=index, k=k, label=int(self.labels[index]), resolution=resolution,
            image=x.reshape(8, 8).numpy().astype(np.float32), posterior=scaled(log_post),
            q0=scaled(q0.log_density), qk=scaled(qk.log_density), log_px=log_px, elbo=elbo,
            gap=log_px - elbo, qk_mass=float(qk.mass), peak=math.exp(log_peak),
            compute_ms=(time.perf_counter() - start) * 1e3)
