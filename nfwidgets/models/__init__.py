"""Flows on real data (the 8×8 digits of ``nfwidgets.data``).

- ``FlowVAE``: a variational autoencoder whose posterior is a flow (encoder → flow → decoder,
  trained on the negative ELBO; Rezende & Mohamed 2015, §4).
- ``Glow``: a small multi-scale Glow (Kingma & Dhariwal 2018) with a 5×5 sample grid.
- ``load_pretrained(name)``: the checkpoints shipped in the package, each reproducible with
  ``python -m nfwidgets.models.train NAME``.

Imported on first use, so ``import nfwidgets.models`` stays light.
"""

from __future__ import annotations

from .._lazy import lazy_attributes

_LAZY = {
    "FlowVAE": ".flowvae",
    "Glow": ".glow",
    "load_pretrained": ".pretrained",
    "PRETRAINED": ".pretrained",
}

__all__ = ["PRETRAINED", "FlowVAE", "Glow", "load_pretrained"]

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
