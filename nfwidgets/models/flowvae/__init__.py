"""A VAE whose posterior is an amortised normalizing flow (Rezende & Mohamed 2015, §4).

``FlowVAE`` (the model), ``ElboTerms`` (−ELBO and its four terms), latent-grid densities in
``grids``, training in ``training`` and the lesson's exercise checker in ``exercises``.
"""

from .model import MAX_LAYERS, ElboTerms, FlowVAE, check_binary

__all__ = ["MAX_LAYERS", "ElboTerms", "FlowVAE", "check_binary"]
