"""Figure 3 of Rezende & Mohamed (2015) reproduced: planar vs NICE flows fitted to U1–U4.

``experiment`` is pure torch (``fit_figure3``, ``results_table``, the pictures); ``panel`` lays
the results out as bqplot figures (``figure3_panel``). The panel's names are imported on first
use (PEP 562), so ``import nfwidgets.figure3`` needs torch only.
"""

from __future__ import annotations

import importlib

from ..flows.conditioners import AdditiveConditioner
from .experiment import (
    FAST,
    FLOW_KINDS,
    FULL,
    Figure3Result,
    Figure3Settings,
    colour_top,
    fit_figure3,
    fitted_density,
    nice_flow,
    planar_flow,
    results_table,
    true_density,
)

__all__ = [
    "FAST",
    "FLOW_KINDS",
    "FULL",
    "AdditiveConditioner",
    "Figure3Panel",
    "Figure3Result",
    "Figure3Settings",
    "colour_top",
    "figure3_panel",
    "fit_figure3",
    "fitted_density",
    "nice_flow",
    "planar_flow",
    "results_table",
    "true_density",
]

_PANEL_NAMES = ("Figure3Panel", "figure3_panel")


def __getattr__(name: str) -> object:
    if name in _PANEL_NAMES:
        return getattr(importlib.import_module(".panel", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
