"""``nfwidgets/__init__``: the engine imports torch only; widgets are imported on first use."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import nfwidgets


def _fresh(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=300, check=True)
    return out.stdout.strip()


@pytest.mark.parametrize("module", ["nfwidgets", "nfwidgets.flows", "nfwidgets.targets",
                                    "nfwidgets.train", "nfwidgets.kernel", "nfwidgets.data",
                                    "nfwidgets.baselines", "nfwidgets.models"])
def test_the_engine_imports_neither_ipywidgets_nor_bqplot(module: str) -> None:
    code = (f"import sys, {module}\n"
            "print([m for m in ('ipywidgets', 'bqplot') if m in sys.modules])")
    assert _fresh(code) == "[]"


def test_a_widget_is_imported_on_first_use() -> None:
    code = ("import sys\nfrom nfwidgets import PlanarExplorer\n"
            "print(PlanarExplorer.__module__, 'ipywidgets' in sys.modules)")
    assert _fresh(code) == "nfwidgets.widgets.planar True"


def test_dir_and_all_list_every_public_name() -> None:
    lazy = {"ChangeOfVariables1D", "CouplingExplorer", "FlowBuilder", "PlanarExplorer",
            "RadialExplorer", "TrainingDashboard", "figure3_panel", "PosteriorExplorer",
            "SampleGrid"}
    assert lazy <= set(nfwidgets.__all__) <= set(dir(nfwidgets))
    assert {"Flow", "Planar", "tune_kernel", "__version__"} <= set(nfwidgets.__all__)
    assert list(nfwidgets.__all__) == sorted(nfwidgets.__all__)


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'PlanarExplorr'"):
        nfwidgets.PlanarExplorr  # noqa: B018


def test_a_submodule_is_reachable_as_an_attribute_after_import_nfwidgets() -> None:
    # what an eager package allowed: ``import nfwidgets; nfwidgets.widgets.FlowBuilder()``
    code = ("import sys, nfwidgets\nprint('nfwidgets.widgets' in sys.modules, "
            "nfwidgets.widgets.FlowBuilder.__name__, nfwidgets.grid.density_grid.__name__)")
    assert _fresh(code) == "False FlowBuilder density_grid"
