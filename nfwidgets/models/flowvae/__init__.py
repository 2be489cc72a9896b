"""A VAE whose posterior is an amortised normalizing flow (Rezende & Mohamed 2015, §4).

``FlowVAE`` (the model), ``ElboTerms`` (−ELBO and its four terms), latent-grid densities in
``grids``, training in ``training``; ``elbo_parts`` draws the parts of −ELBO for lesson 09's
exercise (checked by ``nfwidgets.check.negative_elbo``).
"""

from .model import MAX_LAYERS, ElboParts, ElboTerms, FlowVAE, check_binary, elbo_parts

__all__ = ["MAX_LAYERS", "ElboParts", "ElboTerms", "FlowVAE", "check_binary", "elbo_parts"]
