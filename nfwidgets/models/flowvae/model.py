"""``FlowVAE``: a variational autoencoder whose approximate posterior is a normalizing flow
(Rezende & Mohamed 2015, §4, eq. 15).

- Encoder (MLP on the 64 binarised pixels) → ``μ(x)``, ``ln σ(x)`` and, amortised, every
  layer's parameters; ``z₀ = μ + σ ⊙ ε``, ``z_K = f_K ∘ … ∘ f₁(z₀)``.
- Decoder (MLP) → 64 Bernoulli logits ``ℓ(z)``: ``ln p(x|z) = Σⱼ xⱼℓⱼ - softplus(ℓⱼ)``.
- Prior ``p(z) = N(0, I)``.

.. math:: -\\text{ELBO}(x) = E_{q_0}\\Bigl[\\ln q_0(z_0|x) - \\sum_k \\ln|\\det J_k|
          - \\ln p(x|z_K) - \\ln p(z_K)\\Bigr] \\ge -\\ln p(x),

lesson 07's free energy with ``U(z) = -ln p(x, z)``; the gap is ``KL(q_K(z|x) ‖ p(z|x))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..._checks import MAX_SEED, check_batch, check_count, check_generator, shown
from ...flows.base import standard_normal_log_prob
from .. import pretrained
from .amortised import FLOWS, amortised_forward, n_flow_params, split_flow_params

__all__ = ["MAX_LAYERS", "ElboParts", "ElboTerms", "FlowVAE", "check_binary", "elbo_parts"]

#: Most amortised layers a FlowVAE takes (the paper goes to 80; more only slows the lesson).
MAX_LAYERS = 64
PIXELS = 64
#: Most Monte Carlo samples per call (importance sampling runs in chunks of ``chunk``).
MAX_SAMPLES = 100_000


@dataclass(frozen=True)
class ElboTerms:
    """The negative ELBO of each example and its four terms (tensors of shape (N,), averaged
    over the samples): ``total = log_q0 - sum_log_det + reconstruction - log_prior``.

    Attributes:
        reconstruction: ``-ln p(x|z_K)``.  log_q0: ``ln q₀(z₀|x)``.
        sum_log_det: ``Σₖ ln|det Jₖ(z_{k-1})|``.  log_prior: ``ln p(z_K)``.
    """

    total: Tensor
    reconstruction: Tensor
    log_q0: Tensor
    sum_log_det: Tensor
    log_prior: Tensor

    @property
    def kl_part(self) -> Tensor:
        """``ln q_K(z_K|x) - ln p(z_K)``: the Monte Carlo KL term of the bound."""
        return self.log_q0 - self.sum_log_det - self.log_prior


def check_binary(x: object, name: str = "x") -> Tensor:
    """``x`` as a float tensor (N, 64) of 0s and 1s (``nfwidgets.data.binarize``; a single
    image (64,) becomes (1, 64); a bool or integer tensor is converted), or a ``ValueError``
    naming what is wrong (NaN or infinite pixels are refused)."""
    if not isinstance(name, str):
        raise ValueError(f"name must be a str (the argument's name); got {shown(name)}")
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a torch tensor (N, 64) of binarised pixels "
                         f"(nfwidgets.data.binarize); got {type(x).__name__}")
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2 or x.shape[1] != PIXELS or x.shape[0] < 1:
        raise ValueError(f"{name} must have shape (N, 64) with N ≥ 1 (binarised 8×8 images); "
                         f"got {tuple(x.shape)}")
    if x.is_complex():
        raise ValueError(f"{name} must hold 0s and 1s; got dtype {x.dtype}")
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} holds NaN or infinite values; pixels must be 0 or 1")
    bad = (x != 0) & (x != 1)
    if bool(bad.any()):
        raise ValueError(f"{name} must hold only 0 and 1 (the decoder is Bernoulli); got "
                         f"{x[bad][0].item():g} (binarise with nfwidgets.data.binarize)")
    return x


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.Softplus(), nn.Linear(hidden, hidden),
                         nn.Softplus(), nn.Linear(hidden, n_out))


def _log_likelihood(x: Tensor, logits: Tensor) -> Tensor:
    """``Σⱼ xⱼℓⱼ - softplus(ℓⱼ)`` (``FlowVAE.log_likelihood`` without the checks)."""
    return (x * logits - F.softplus(logits)).sum(-1)


def _logmeanexp(t: Tensor, dim: int = 0) -> Tensor:
    return torch.logsumexp(t, dim) - math.log(t.shape[dim])


class FlowVAE(nn.Module):
    """VAE with an amortised flow posterior (Rezende & Mohamed 2015, §4.2).

    Arguments:
        latent_dim: dimension D of z (2 lets the posterior be drawn and ln p(x) be integrated).
        flow: ``"planar"`` (eq. 10) or ``"radial"`` (eq. 14) layers.
        layers: K ≥ 0 amortised layers (K = 0 is the plain Gaussian VAE).
        hidden: width of the encoder's and decoder's two hidden layers.

    The encoder's last layer outputs ``2D + K·n_flow_params`` numbers per image: μ, ln σ and
    each layer's raw parameters, constrained per example as the engine's layers do.

    Binary images ``x`` are checked by ``check_binary``: NaN or infinite pixels are refused.
    Latents ``z`` (``decode_logits``, ``decode_mean``, ``log_prior``) and logits are not
    data a learner types: a NaN in one row propagates to that row of the result only.
    """

    def __init__(self, latent_dim: int = 2, flow: str = "planar", layers: int = 8,
                 hidden: int = 128) -> None:
        super().__init__()
        latent_dim = check_count("latent_dim", latent_dim, owner="FlowVAE", hi=256)
        layers = check_count("layers", layers, owner="FlowVAE", lo=0, hi=MAX_LAYERS)
        hidden = check_count("hidden", hidden, owner="FlowVAE", hi=4096)
        if not isinstance(flow, str) or flow not in FLOWS:
            raise ValueError(f"FlowVAE: flow must be one of {FLOWS}; got {shown(flow)}")
        self.latent_dim, self.flow, self.layers, self.hidden = latent_dim, flow, layers, hidden
        n_out = 2 * latent_dim + layers * n_flow_params(flow, latent_dim)
        self.encoder = _mlp(PIXELS, hidden, n_out)
        self.decoder = _mlp(latent_dim, hidden, PIXELS)

    @property
    def config(self) -> dict:
        """What ``from_config`` needs to rebuild the model."""
        return {"latent_dim": self.latent_dim, "flow": self.flow, "layers": self.layers,
                "hidden": self.hidden}

    @classmethod
    def from_config(cls, config: dict) -> FlowVAE:
        """A fresh model of the given ``config`` (as returned by ``.config``)."""
        return pretrained.from_config(cls, config, ("latent_dim", "flow", "layers", "hidden"))

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config.items())

    # --- the pieces -----------------------------------------------------------------------
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor, tuple[Tensor, Tensor, Tensor]]:
        """``(μ (N, D), ln σ (N, D), the K layers' per-example parameters stacked on axis 1)``
        for binary ``x`` (see ``amortised.split_flow_params``)."""
        return self._encode(check_binary(x).to(self._dtype()))

    def _encode(self, x: Tensor) -> tuple[Tensor, Tensor, tuple[Tensor, Tensor, Tensor]]:
        out = self.encoder(x)
        d = self.latent_dim
        return out[:, :d], out[:, d:2 * d], split_flow_params(self.flow, d, out[:, 2 * d:])

    def _latents(self, z: object, owner: str) -> Tensor:
        check_batch(z, self.latent_dim, owner=f"FlowVAE.{owner}: z")
        return z.to(self._dtype())

    def decode_logits(self, z: Tensor) -> Tensor:
        """Bernoulli logits ``ℓ(z)``, shape (N, 64), of latents ``z`` (N, D)."""
        return self.decoder(self._latents(z, "decode_logits"))

    def decode_mean(self, z: Tensor) -> Tensor:
        """The decoded mean image ``sigmoid(ℓ(z))`` as (N, 8, 8) pixel probabilities."""
        return torch.sigmoid(self.decoder(self._latents(z, "decode_mean"))).reshape(-1, 8, 8)

    @staticmethod
    def log_likelihood(x: Tensor, logits: Tensor) -> Tensor:
        """``ln p(x|z) = Σⱼ xⱼℓⱼ - softplus(ℓⱼ)`` (Bernoulli with logits ℓ), over the last axis:
        binary ``x`` (N, 64) or one image, ``logits`` (N, 64) or (M, 64) against one image."""
        x = check_binary(x)
        check_batch(logits, PIXELS, owner="FlowVAE.log_likelihood: logits")
        if x.shape[0] not in (1, logits.shape[0]):
            raise ValueError(f"FlowVAE.log_likelihood: logits must have one row per image of x "
                             f"{tuple(x.shape)}; got shape {tuple(logits.shape)}")
        return _log_likelihood(x.to(logits.dtype), logits)

    @staticmethod
    def log_prior(z: Tensor) -> Tensor:
        """``ln p(z) = -½‖z‖² - (D/2) ln 2π`` (standard normal prior) over the last axis of a
        float tensor ``z`` (…, D)."""
        if not isinstance(z, Tensor) or z.ndim < 1 or z.shape[-1] < 1 or not (
                z.is_floating_point()):
            raise ValueError(f"FlowVAE.log_prior: z must be a float tensor (..., D) of latents; "
                             f"got {type(z).__name__}"
                             + (f" of shape {tuple(z.shape)}, {z.dtype}"
                                if isinstance(z, Tensor) else ""))
        return standard_normal_log_prob(z)

    def _dtype(self) -> torch.dtype:
        return self.decoder[0].weight.dtype

    def _samples(self, x: Tensor, n_samples: int, generator: torch.Generator | None
                 ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """``(z₀, z_K, ln q₀(z₀|x), Σ ln|det J|, ln p(x|z_K))``, each with a leading sample axis
        (S, N, …): ``z₀ = μ + σ ε`` (reparametrised), then the example's own K layers."""
        n_samples = check_count("n_samples", n_samples, owner="FlowVAE", hi=MAX_SAMPLES)
        check_generator("generator", generator, owner="FlowVAE")
        x = check_binary(x).to(self._dtype())
        mu, log_sigma, params = self._encode(x)
        n, d = mu.shape
        eps = torch.randn(n_samples, n, d, generator=generator, dtype=mu.dtype)
        z0 = (mu + torch.exp(log_sigma) * eps).reshape(-1, d)
        log_q0 = standard_normal_log_prob(eps) - log_sigma.sum(-1)  # z₀ = μ + σ ε
        if n_samples > 1:  # sample-major rows, like z₀
            params = tuple(t.repeat(n_samples, *([1] * (t.ndim - 1))) for t in params)
            x = x.repeat(n_samples, 1)
        z_k, sum_log_det = amortised_forward(self.flow, z0, params)
        log_px_z = _log_likelihood(x, self.decoder(z_k))
        return (z0.reshape(n_samples, n, d), z_k.reshape(n_samples, n, d), log_q0,
                sum_log_det.reshape(n_samples, n), log_px_z.reshape(n_samples, n))

    # --- the bound and the likelihood ------------------------------------------------------
    def negative_elbo(self, x: Tensor, n_samples: int = 1,
                      generator: torch.Generator | None = None) -> ElboTerms:
        """Monte Carlo ``-ELBO(x)`` per example (mean over ``n_samples`` draws of ε), with its
        four terms; differentiable (the reparametrisation trick), for training."""
        _, z_k, log_q0, sum_log_det, log_px_z = self._samples(x, n_samples, generator)
        log_prior = standard_normal_log_prob(z_k)
        terms = [log_q0, sum_log_det, -log_px_z, log_prior]
        log_q0, sum_log_det, rec, log_prior = (t.mean(0) for t in terms)
        return ElboTerms(total=log_q0 - sum_log_det + rec - log_prior, reconstruction=rec,
                         log_q0=log_q0, sum_log_det=sum_log_det, log_prior=log_prior)

    @torch.no_grad()
    def marginal_log_likelihood(self, x: Tensor, n_samples: int = 1000,
                                generator: torch.Generator | None = None,
                                chunk: int = 250) -> Tensor:
        """Importance-sampled ``ln p(x) ≈ ln (1/S) Σₛ p(x, zₛ) / q_K(zₛ|x)``, ``zₛ ~ q_K(·|x)``
        (log-mean-exp of the weights), per example. Its expectation is ≤ ln p(x) and ≥ the
        ELBO (Burda et al. 2016, IWAE bound); it tends to ln p(x) as S grows. ``chunk``: samples
        drawn at once (bounds memory)."""
        n_samples = check_count("n_samples", n_samples, owner="FlowVAE", hi=MAX_SAMPLES)
        chunk = check_count("chunk", chunk, owner="FlowVAE", hi=MAX_SAMPLES)
        x = check_binary(x)
        parts = []
        for start in range(0, n_samples, chunk):
            _, z_k, log_q0, sld, log_px_z = self._samples(x, min(chunk, n_samples - start),
                                                          generator)
            parts.append(log_px_z + standard_normal_log_prob(z_k) - (log_q0 - sld))
        return _logmeanexp(torch.cat(parts), 0)

    def marginal_log_likelihood_quadrature(self, x: Tensor, grid: int = 400,
                                           bounds=((-5.0, 5.0), (-5.0, 5.0))) -> Tensor:
        """``ln p(x) = ln ∫ p(x|z) p(z) dz`` on a ``grid``×``grid`` latent grid (midpoint rule:
        log-sum-exp of ``ln p(x|z) + ln p(z)`` over the cells, plus ``ln`` cell area). Needs
        ``latent_dim = 2``; exact up to the grid's resolution and the mass outside ``bounds``."""
        from .grids import check_grid_size, log_evidence, log_joint_grid

        return log_evidence(*log_joint_grid(self, x, check_grid_size("grid", grid), bounds))

    def posterior_grid(self, x: Tensor, n: int = 200, bounds=((-4.0, 4.0), (-4.0, 4.0))):
        """The true posterior ``ln p(z|x) = ln p(x|z) + ln p(z) - ln p(x)`` of one image on an
        n×n grid (``nfwidgets.models.flowvae.grids.posterior_grid``)."""
        from .grids import check_grid_size, posterior_grid

        return posterior_grid(self, x, check_grid_size("n", n), bounds)

    def q_density_grid(self, x: Tensor, k: int | None = None, n: int = 200,
                       bounds=((-4.0, 4.0), (-4.0, 4.0))):
        """The exact ``q_k(z|x)`` after ``k`` of the image's layers on an n×n grid, through
        the engine layers' inverses (``nfwidgets.models.flowvae.grids.q_density_grid``)."""
        from .grids import check_grid_size, q_density_grid

        return q_density_grid(self, x, self.layers if k is None else k, check_grid_size("n", n),
                              bounds)


@dataclass(frozen=True)
class ElboParts:
    """S draws of the parts of −ELBO for one image x (z's shape (S, D), the rest (S,)):
    ``z0 ~ q₀(·|x)``, ``z_k`` its image under x's K layers, ``log_q0 = ln q₀(z₀|x)``,
    ``sum_log_det = Σₖ ln|det Jₖ|``, ``log_px_given_z = ln p(x|z_K)``. ``FlowVAE.log_prior``
    gives ``ln p(z)`` of the standard normal prior (lesson 09's exercise assembles −ELBO)."""

    z0: Tensor
    z_k: Tensor
    log_q0: Tensor
    sum_log_det: Tensor
    log_px_given_z: Tensor


@torch.no_grad()
def elbo_parts(model: FlowVAE, x: Tensor, n_samples: int = 1000, seed: int = 0) -> ElboParts:
    """``n_samples`` draws of the parts of −ELBO for the single image ``x`` (64,), the same
    draws ``FlowVAE.negative_elbo`` makes with a generator seeded ``seed``. ``x`` is checked by
    ``check_binary`` (NaN or infinite pixels are refused)."""
    if not isinstance(model, FlowVAE):
        raise ValueError(f"elbo_parts: model must be a FlowVAE (e.g. load_pretrained("
                         f"'flowvae-digits')); got {type(model).__name__} {model!r:.60}")
    gen = torch.Generator().manual_seed(check_count("seed", seed, owner="elbo_parts", lo=0,
                                                            hi=MAX_SEED))
    x = check_binary(x)
    if x.shape[0] != 1:
        raise ValueError(f"elbo_parts: x must be one image (64,); got shape {tuple(x.shape)}")
    z0, z_k, log_q0, sld, log_px = model._samples(x, n_samples, gen)  # negative_elbo's draws
    return ElboParts(z0=z0[:, 0], z_k=z_k[:, 0], log_q0=log_q0[:, 0], sum_log_det=sld[:, 0],
                     log_px_given_z=log_px[:, 0])
