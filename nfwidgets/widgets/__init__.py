"""Explorer widgets (ipywidgets 8 + bqplot): controls bound to flows, live exact plots.

The widget classes are imported on first use (PEP 562), so importing one widget does not
import the others.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name → the module (in this package) that defines it.
_WHERE = {
    "ChangeOfVariables1D": ".change_of_variables",
    "CouplingExplorer": ".coupling",
    "Explorer": ".base",
    "FlowBuilder": ".builder",
    "PlanarExplorer": ".planar",
    "RadialExplorer": ".radial",
    "TrainingDashboard": ".training",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
