"""The Binder set-up agrees with pyproject.toml and the machine constraints."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from packaging.requirements import Requirement

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _binder_requirements() -> dict[str, Requirement]:
    reqs = {}
    for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        r = Requirement(line)
        reqs[r.name.lower()] = r
    return reqs


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_every_runtime_dependency_is_in_binder_with_the_same_range() -> None:
    binder = _binder_requirements()
    for dep in _project()["dependencies"]:
        req = Requirement(dep)
        assert req.name.lower() in binder, f"{req.name} missing from binder/requirements.txt"
        if req.name.lower() == "torch":
            continue  # pinned exactly below
        assert binder[req.name.lower()].specifier == req.specifier, (
            f"{req.name}: binder has {binder[req.name.lower()].specifier}, "
            f"pyproject has {req.specifier}")


def test_binder_torch_is_the_pinned_cpu_build_and_satisfies_pyproject() -> None:
    binder = _binder_requirements()["torch"]
    (pin,) = list(binder.specifier)
    assert pin.operator == "==" and pin.version.endswith("+cpu"), binder
    constraint = re.search(r"^torch==(\S+)", (ROOT / "constraints.txt").read_text(), re.M)
    assert constraint is not None
    assert pin.version.removesuffix("+cpu") == constraint.group(1)
    (declared,) = [Requirement(d) for d in _project()["dependencies"]
                   if Requirement(d).name == "torch"]
    assert declared.specifier.contains(constraint.group(1))


def test_binder_has_lab_and_kernel_and_installs_the_package() -> None:
    binder = _binder_requirements()
    lesson_extras = [Requirement(r).name for r in _project()["optional-dependencies"]["lessons"]]
    for name in lesson_extras:
        assert name.lower() in binder, f"binder lacks {name} (lessons extra)"
    post = (ROOT / "binder" / "postBuild").read_text()
    assert re.search(r"pip install --no-deps \.", post)
    assert (ROOT / "binder" / "runtime.txt").read_text().strip().startswith("python-3.")


def test_the_test_command_pins_torch() -> None:
    env = (ROOT / "scripts" / "_env.sh").read_text()
    assert '-c "$ROOT/constraints.txt" "torch==2.13.0"' in env
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("exec bash scripts/test.sh")
