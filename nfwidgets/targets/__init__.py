"""Two-dimensional targets: the energies U1–U4 of Rezende & Mohamed (2015) and FFJORD's toy data.

``energies`` holds U1–U4 (``Energy``, ``energy``), ``toy`` the data sets (``toy_data`` …); each
target defines its own mode regions (``Energy.modes``, ``toy_modes``) from the geometry that
generates it.
"""

from ._common import Modes
from .energies import ENERGY_NAMES, Energy, energy
from .toy import (
    ENTROPY_FLOORS,
    TOY_DATA_DESCRIPTIONS,
    TOY_DATA_NAMES,
    entropy_floor,
    toy_data,
    toy_data_description,
    toy_modes,
)

__all__ = [
    "ENERGY_NAMES",
    "ENTROPY_FLOORS",
    "TOY_DATA_DESCRIPTIONS",
    "TOY_DATA_NAMES",
    "Energy",
    "Modes",
    "energy",
    "entropy_floor",
    "toy_data",
    "toy_data_description",
    "toy_modes",
]
