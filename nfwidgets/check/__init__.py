"""Checks for the lessons' exercises and the graded assignments.

``check.<name>(your_function_or_answer, ...)`` runs your code on random, adversarial and boundary
inputs against the reference engine (``nfwidgets.flows``). It prints one line starting with ✓ when
everything agrees; otherwise it raises ``CheckFailed`` (an ``AssertionError``, so nbgrader counts
the test as failed) naming the input, the expected and the got value, and the typical mistake that
gives exactly your answer, when it is one we know. It never writes to stderr.
"""

from __future__ import annotations

from ._report import CATALOGUES, CheckFailed
from .coupling import coupling_layer, fits_entropy_floor
from .planar import planar_layer, u_hat
from .radial import preimage_radius, radial_inverse
from .reverse_kl import annealing, free_energy, missed_mode

__all__ = ["CATALOGUES", "CheckFailed"]
__all__ += ["planar_layer", "preimage_radius", "radial_inverse", "u_hat"]
__all__ += ["coupling_layer", "fits_entropy_floor"]
__all__ += ["annealing", "free_energy", "missed_mode"]
