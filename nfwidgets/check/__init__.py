"""Checks for the lessons' exercises and the graded assignments.

``check.<name>(your_function_or_answer, ...)`` runs your code on random, adversarial and boundary
inputs against the reference engine (``nfwidgets.flows``). It prints one line starting with ✓ when
everything agrees; otherwise it raises ``CheckFailed`` (an ``AssertionError``, so nbgrader counts
the test as failed) naming the input, the expected and the got value, and the typical mistake that
gives exactly your answer, when it is one we know. It never writes to stderr.
"""

from __future__ import annotations

from ._report import CATALOGUES, CheckFailed
from .basics import affine_log_prob, density_at_image, planar_log_det, radial_log_det, single_affine
from .coupling import coupling_layer, fits_entropy_floor
from .planar import planar_layer, u_hat
from .radial import preimage_radius, radial_inverse
from .reverse_kl import annealing, free_energy, missed_mode
from .widget_tasks import area_kept, fold_line, mass_pushed_out, pile_up

__all__ = [
    "CATALOGUES",
    "CheckFailed",
    "affine_log_prob",
    "annealing",
    "area_kept",
    "coupling_layer",
    "density_at_image",
    "fits_entropy_floor",
    "fold_line",
    "free_energy",
    "mass_pushed_out",
    "missed_mode",
    "pile_up",
    "planar_layer",
    "planar_log_det",
    "preimage_radius",
    "radial_inverse",
    "radial_log_det",
    "single_affine",
    "u_hat",
]
