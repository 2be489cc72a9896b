"""Checks for the lessons' exercises and the graded assignments.

``check.<name>(your_function_or_answer, ...)`` runs your code on random, adversarial and boundary
inputs against the reference engine (``nfwidgets.flows``). It prints one line starting with ✓ when
everything agrees; otherwise it raises ``CheckFailed`` (an ``AssertionError``, so nbgrader counts
the test as failed) naming the input, the expected and the got value, and the typical mistake that
gives exactly your answer, when it is one we know. It never writes to stderr.
"""

from __future__ import annotations

from ._report import CATALOGUES, CheckFailed

__all__ = ["CATALOGUES", "CheckFailed"]
from .models import bits_per_dim, negative_elbo, pairwise_auc
from .training import annealed_objective, average_nll, coupling_inverse, one_lobe_free_energy
from .training_tasks import (
    both_lobes_covered,
    collapsed_onto_left_lobe,
    near_entropy_floor,
    volume_preserving_coupling,
)

__all__ += ["annealed_objective", "average_nll", "coupling_inverse", "one_lobe_free_energy"]
__all__ += ["both_lobes_covered", "collapsed_onto_left_lobe", "near_entropy_floor",
            "volume_preserving_coupling"]
__all__ += ["bits_per_dim", "negative_elbo", "pairwise_auc"]
