"""Checks for the lessons' exercises and the graded assignments.

``check.<name>(your_function_or_answer, ...)`` runs your code on random, adversarial and boundary
inputs against the reference engine (``nfwidgets.flows``). It prints one line starting with ✓ when
everything agrees; otherwise it raises ``CheckFailed`` (an ``AssertionError``, so nbgrader counts
the test as failed) naming the input, the expected and the got value, and the typical mistake that
gives exactly your answer, when it is one we know. It never writes to stderr.

- Lesson exercises done in code: ``affine_log_prob`` (00), ``density_at_image`` (01),
  ``planar_log_det`` (02), ``radial_log_det`` (03), ``single_affine`` (04),
  ``coupling_inverse`` (05), ``average_nll`` (06), ``annealed_objective`` (07),
  ``one_lobe_free_energy`` (08), ``negative_elbo`` (09), ``bits_per_dim`` (10),
  ``pairwise_auc`` (11).
- Lesson tasks done with the widget (the check reads its state): ``pile_up`` (01),
  ``fold_line`` (02), ``mass_pushed_out`` (03), ``area_kept`` (04),
  ``volume_preserving_coupling`` (05), ``near_entropy_floor`` (06), ``both_lobes_covered``
  (07), ``collapsed_onto_left_lobe`` (08).
- Assignments (``assignments/source/``): ``u_hat`` and ``planar_layer``; ``preimage_radius``
  and ``radial_inverse``; ``coupling_layer`` and ``fits_entropy_floor``; ``free_energy``,
  ``annealing`` and ``missed_mode``.
"""

from __future__ import annotations

from ._report import CATALOGUES, CheckFailed
from .basics import affine_log_prob, density_at_image, planar_log_det, radial_log_det, single_affine
from .coupling import coupling_layer, fits_entropy_floor
from .models import bits_per_dim, negative_elbo, pairwise_auc
from .planar import planar_layer, u_hat
from .radial import preimage_radius, radial_inverse
from .reverse_kl import annealing, free_energy, missed_mode
from .training import annealed_objective, average_nll, coupling_inverse, one_lobe_free_energy
from .training_tasks import (
    both_lobes_covered,
    collapsed_onto_left_lobe,
    near_entropy_floor,
    volume_preserving_coupling,
)
from .widget_tasks import area_kept, fold_line, mass_pushed_out, pile_up

__all__ = [
    "CATALOGUES", "CheckFailed",
    "affine_log_prob", "annealed_objective", "annealing", "area_kept", "average_nll",
    "bits_per_dim", "both_lobes_covered", "collapsed_onto_left_lobe", "coupling_inverse",
    "coupling_layer", "density_at_image", "fits_entropy_floor", "fold_line", "free_energy",
    "mass_pushed_out", "missed_mode", "near_entropy_floor", "negative_elbo",
    "one_lobe_free_energy", "pairwise_auc", "pile_up", "planar_layer", "planar_log_det",
    "preimage_radius", "radial_inverse", "radial_log_det", "single_affine", "u_hat",
    "volume_preserving_coupling",
]
