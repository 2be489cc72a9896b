"""``Flow``: a stack of layers on a base distribution, with exact density and sampling."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import Tensor, nn

from .._checks import MAX_POINTS, check_batch, check_count, check_generator, shown
from .base import Layer, NotInvertibleError, StandardNormal

__all__ = ["Flow"]


class Flow(nn.Module):
    r"""A normalizing flow ``x = f_K ∘ … ∘ f_1(z)``, ``z ~ p_z`` (the base).

    .. math:: \log p_x(x) = \log p_z(z)
              + \sum_{k} \log\bigl|\det \partial z_{k-1}/\partial z_k\bigr|, \qquad z = f^{-1}(x),

    which is exact because every layer has an exact inverse (Rezende & Mohamed 2015, eq. 7;
    Papamakarios et al. 2021, JMLR 22(57), eq. 2–3).

    Arguments:
        layers: the layers, applied first to last in the base → data direction.
        base: base distribution with ``log_prob`` and ``sample``; a ``StandardNormal`` of the
            layers' dimension by default.
    """

    def __init__(self, layers: Iterable[Layer] = (), base: nn.Module | None = None) -> None:
        super().__init__()
        if isinstance(layers, str | Mapping) or not isinstance(layers, Iterable):
            raise ValueError(f"Flow: layers must be a list of flow layers; got {shown(layers)}")
        layers = list(layers)
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise ValueError(f"Flow: layers must be a list of flow layers (Planar, Radial, "
                                 f"...); layers[{i}] is {shown(layer)}")
        if base is not None and not (isinstance(base, nn.Module) and isinstance(
                getattr(base, "dim", None), int) and callable(getattr(base, "log_prob", None))
                                     and callable(getattr(base, "sample", None))):
            raise ValueError(f"Flow: base must be None or a distribution module with .dim, "
                             f".log_prob and .sample (StandardNormal, DiagonalNormal); got "
                             f"{shown(base)}")
        dims = {layer.dim for layer in layers} | ({base.dim} if base is not None else set())
        if len(dims) > 1:
            listing = ", ".join(f"{type(layer).__name__}: {layer.dim}" for layer in layers)
            extra = f"; base: {base.dim}" if base is not None else ""
            raise ValueError(f"Flow: the layers (and the base) must share one dimension; got "
                             f"a list of layers with dimensions {listing}{extra}")
        if not dims:
            raise ValueError("Flow: give at least one layer in layers, or a base (to know the "
                             "dimension); got layers=[] (an empty list) and base=None")
        self.dim = dims.pop()
        self.layers = nn.ModuleList(layers)
        self.base = base if base is not None else StandardNormal(self.dim)
        if base is None and layers:
            ref = next(layers[0].parameters(), None)
            if ref is None:
                ref = next(layers[0].buffers())
            self.base.to(dtype=ref.dtype, device=ref.device)

    def __len__(self) -> int:
        return len(self.layers)

    def _check(self, t: Tensor, what: str, name: str = "x") -> None:
        check_batch(t, self.dim, owner=f"Flow.{what}", name=name)

    def _check_like(self, t: Tensor, what: str) -> None:
        """Every layer must compute in the input's dtype and device (checked once per call)."""
        dtype, device = t.dtype, t.device
        for layer in self.layers:
            ref = layer._reference()
            if ref.dtype != dtype or ref.device != device:
                check_batch(t, self.dim, owner=f"Flow.{what}", like=ref,
                            name="z" if what in ("forward", "trace") else "x")

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Push base points through every layer: ``(x, Σₖ log|det ∂zₖ/∂zₖ₋₁|)``.

        A NaN/inf row of ``z`` gives a non-finite row of ``x`` and ``log_det``; the other rows
        are exact (NaN propagates row-wise, here and in every method below taking points)."""
        self._check(z, "forward", "z")
        self._check_like(z, "forward")
        log_det = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
        for layer in self.layers:  # input checked once above: call the maps directly
            z, ld = layer._forward(z)
            log_det = log_det + ld
        return z, log_det

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Pull data points back to the base: ``(z, log|det ∂z/∂x|)``.

        Raises:
            NotInvertibleError: naming the first layer whose parameters make it non-invertible.
        """
        self._check(x, "inverse")
        self._check_invertible()
        self._check_like(x, "inverse")
        log_det = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for layer in reversed(self.layers):
            x, ld, _ = layer._inverse_where(x)
            log_det = log_det + ld
        return x, log_det

    def _check_invertible(self) -> None:
        """Raise ``NotInvertibleError`` naming the first non-invertible layer."""
        for k, layer in enumerate(self.layers):
            reason = layer.why_not_invertible()
            if reason is not None:
                raise NotInvertibleError(f"Flow.inverse: layer {k} ({type(layer).__name__}): "
                                         f"{reason}")

    def inverse_where(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Like ``inverse``, never raising: also returns ``unique`` (N,), False where some
        layer has several preimages (there the density is not exact)."""
        self._check(x, "inverse_where")
        self._check_like(x, "inverse_where")
        log_det = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        unique = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
        for layer in reversed(self.layers):
            x, ld, u = layer._inverse_where(x)
            log_det = log_det + ld
            if u is not None:
                unique = unique & u
        return x, log_det, unique

    def log_prob(self, x: Tensor) -> Tensor:
        """Exact log density ``log p_x(x)`` (N,), through the inverse (NaN at a NaN/inf row)."""
        self._check(x, "log_prob")
        self._check_like(x, "log_prob")
        z, log_det = self.inverse(x)
        return self.base.log_prob(z) + log_det

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Draw ``n`` points (n, dim), 1 ≤ n ≤ ``MAX_POINTS``: sample the base, push forward."""
        return self._sample_and_log_prob(n, generator, "Flow.sample")[0]

    def sample_and_log_prob(self, n: int, generator: torch.Generator | None = None
                            ) -> tuple[Tensor, Tensor]:
        """``(x, log p_x(x))`` for ``n`` fresh samples, with no inverse needed:
        ``log p_x(x) = log p_z(z) - Σₖ log|det ∂zₖ/∂zₖ₋₁|`` (1 ≤ n ≤ ``MAX_POINTS``)."""
        return self._sample_and_log_prob(n, generator, "Flow.sample_and_log_prob")

    def _sample_and_log_prob(self, n: int, generator: torch.Generator | None, owner: str
                             ) -> tuple[Tensor, Tensor]:
        n = check_count("n", n, owner=owner, hi=MAX_POINTS)
        check_generator("generator", generator, owner=owner)
        z = self.base.sample(n, generator=generator)
        x, log_det = self(z)
        return x, self.base.log_prob(z) - log_det

    def trace(self, z: Tensor) -> list[tuple[Tensor, Tensor]]:
        """Points and cumulative log-det after each layer: ``[(z, 0), (z₁, ld₁), …, (x, ld)]``.

        Entry ``k`` holds ``z_k = f_k ∘ … ∘ f_1(z)`` and ``Σ_{j≤k} log|det J_j|``, so the density
        after layer ``k`` at ``z_k`` is ``log p_z(z) - ld_k`` (for "after layer k" plots).
        """
        self._check(z, "trace", "z")
        self._check_like(z, "trace")
        log_det = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
        out = [(z, log_det)]
        for layer in self.layers:
            z, ld = layer(z)
            log_det = log_det + ld
            out.append((z, log_det))
        return out

    def truncated(self, k: int) -> Flow:
        """The flow made of the first ``k`` layers (sharing parameters), for "after layer k"."""
        k = check_count("k", k, owner="Flow.truncated", lo=0, hi=len(self.layers))
        return Flow(list(self.layers)[:k], base=self.base)
