"""The bad-input contract, fuzzed over every public entry point (CONTRIBUTING.md, "Bad input").

For every public name (``PUBLIC_MODULES``' ``__all__``) this walks every entry point — the
function, the constructor, each method with parameters defined in the package, each property
setter — and feeds each parameter every bad value of its kind (``bad_values``) plus random
ones drawn by hypothesis. A call must raise ``ValueError`` naming the parameter and the value,
or (for values that may be fine) succeed; no other exception, nothing on stderr, no warning, no
``__del__`` noise under ``gc.collect()``. How each entry point is called is in
``specs_<area>.py``; an entry point without a spec (or a reasoned exemption) fails
``test_every_public_entry_point_has_a_spec``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
import types
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from . import specs_check, specs_engine, specs_models, specs_widgets
from .runner import Spec, attempt, parameters, takes_arguments

ROOT = Path(__file__).resolve().parents[2]

#: The modules whose ``__all__`` is the public API (what lessons, assignments and docs use).
PUBLIC_MODULES = (
    "nfwidgets", "nfwidgets.flows", "nfwidgets.targets", "nfwidgets.train", "nfwidgets.grid",
    "nfwidgets.check", "nfwidgets.widgets", "nfwidgets.models", "nfwidgets.models.flowvae",
    "nfwidgets.models.glow", "nfwidgets.data", "nfwidgets.baselines", "nfwidgets.outliers",
    "nfwidgets.diagnostics", "nfwidgets.plots", "nfwidgets.widgets.stack_presets",
)

AREAS = (specs_engine, specs_widgets, specs_models, specs_check)
SPECS: list[Spec] = [s for area in AREAS for s in area.SPECS]
EXEMPT: dict[object, str] = {k: v for area in AREAS for k, v in area.EXEMPT.items()}
TALLY = {"names": 0, "entry points": 0, "specs": len(SPECS), "bad values tried": 0}


def public_names() -> dict[str, object]:
    """``module.name`` → object, each object once (under the first module that exports it)."""
    out: dict[str, object] = {}
    seen: set[int] = set()
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if id(obj) not in seen:
                seen.add(id(obj))
                out[f"{module_name}.{name}"] = obj
    return out


def _defined_here(obj: object) -> bool:
    return getattr(obj, "__module__", "").startswith("nfwidgets")


def entry_points() -> dict[str, object]:
    """Every entry point with parameters: label → the object coverage is counted by."""
    out: dict[str, object] = {}
    for label, obj in public_names().items():
        if inspect.isclass(obj):
            if issubclass(obj, BaseException):
                continue
            if takes_arguments(obj):
                out[label] = obj
            for attr in dir(obj):
                if attr.startswith("_"):
                    continue
                owner = next(k for k in obj.__mro__ if attr in k.__dict__)
                if not owner.__module__.startswith("nfwidgets"):
                    continue  # inherited from torch / ipywidgets / traitlets
                raw = owner.__dict__[attr]
                if isinstance(raw, property):
                    if raw.fset is not None:
                        out[f"{owner.__module__}.{owner.__qualname__}.{attr}="] = raw
                    continue
                fn = raw.__func__ if isinstance(raw, staticmethod | classmethod) else raw
                if inspect.isfunction(fn) and takes_arguments(
                        fn if isinstance(raw, staticmethod) else getattr(owner, attr)):
                    out[f"{owner.__module__}.{owner.__qualname__}.{attr}"] = fn
        elif callable(obj) and not isinstance(obj, types.GenericAlias) and takes_arguments(obj):
            out[label] = obj
    return out


def _key(target: object) -> object:
    if inspect.ismethod(target):
        return target.__func__
    return target


COVERED = {id(_key(s.target)) for s in SPECS}


def test_every_public_entry_point_has_a_spec() -> None:
    names = public_names()
    points = entry_points()
    TALLY["names"], TALLY["entry points"] = len(names), len(points)
    exempt = {id(k) for k in EXEMPT}
    missing = [label for label, obj in points.items()
               if id(obj) not in COVERED and id(obj) not in exempt]
    assert not missing, ("public entry points with no spec in tests/contract/specs_*.py "
                         "(or reasoned EXEMPT entry):\n  " + "\n  ".join(sorted(missing)))


def test_specs_name_every_parameter() -> None:
    """A spec gives every parameter a kind, so a new parameter fails here until it has one."""
    wrong = []
    for spec in SPECS:
        params = ([spec.target.fget.__name__] if isinstance(spec.target, property)
                  else parameters(spec.target))
        if sorted(params) != sorted(spec.args) and not _var_keyword(spec.target):
            wrong.append(f"{spec.name}: parameters {params}, spec gives {sorted(spec.args)}")
    assert not wrong, "\n".join(wrong)


def _var_keyword(target: object) -> bool:
    if isinstance(target, property):
        return False
    return any(p.kind == p.VAR_KEYWORD for p in inspect.signature(target).parameters.values())


_FENCE = re.compile(r"```(?:python|py)\n(.*?)```", re.S)


def _code(path: Path) -> list[str]:
    """The Python code of a notebook's code cells or a Markdown file's ``python`` blocks."""
    text = path.read_text()
    if path.suffix == ".ipynb":
        return ["".join(c["source"]) for c in json.loads(text)["cells"]
                if c["cell_type"] == "code"]
    return _FENCE.findall(text)


def test_lessons_use_only_public_names() -> None:
    """What lessons, assignments and docs import from nfwidgets is public, so it is fuzzed."""
    public = {label.rsplit(".", 1)[1] for label in public_names()} | {
        m.rsplit(".", 1)[-1] for m in PUBLIC_MODULES}
    sources = [*ROOT.glob("lessons/*.ipynb"), *ROOT.glob("assignments/source/*/*.ipynb"),
               *ROOT.glob("docs/*.md"), ROOT / "README.md"]
    private = set()
    for path in sources:
        for code in _code(path):
            try:
                tree = ast.parse(code)
            except SyntaxError:
                continue  # IPython magics
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                        "nfwidgets"):
                    private |= {f"{path.name}: from {node.module} import {a.name}"
                                for a in node.names if a.name not in public}
    assert not private, "lessons import names no public module exports:\n" + "\n".join(
        sorted(private))


def _cases() -> list[tuple[Spec, str]]:
    return [(s, p) for s in SPECS for p in s.args]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_good_call_works(spec: Spec) -> None:
    """The spec's good values are accepted (else the bad-value test would prove nothing)."""
    problems = []
    for param in list(spec.args)[:1]:
        problems += attempt(spec, param, spec.args[param].make(), label="good",
                            must_fail=False, must_pass=True)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("spec", "param"), _cases(),
                         ids=lambda v: v.name if isinstance(v, Spec) else v)
def test_bad_values_are_refused_clearly(spec: Spec, param: str) -> None:
    kind = spec.args[param].kind
    problems: list[str] = []
    for bad in kind.bad:
        good = spec.args[param].make()
        problems += attempt(spec, param, bad.make(good), label=bad.label,
                            must_fail=bad.must_fail, on_success=bad.on_success, good=good)
        TALLY["bad values tried"] += 1
    for label, value in kind.variants(spec.args[param].make()):
        problems += attempt(spec, param, value, label=label, must_fail=False, must_pass=True)
    if kind.strategy is not None and spec.examples:
        @settings(max_examples=spec.examples, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(kind.strategy)
        def random_bad_value(value: object) -> None:
            TALLY["bad values tried"] += 1
            found = attempt(spec, param, value, label=repr(value), must_fail=True)
            if found:
                problems.extend(found)
                raise AssertionError(found[0])

        try:
            random_bad_value()
        except AssertionError:
            pass  # reported below with every other problem (hypothesis shrank it)
    assert not problems, "\n".join(dict.fromkeys(problems))
