"""The assignments through the real nbgrader, in a throwaway course directory per assignment.

For each ``assignments/source/<name>/<name>.ipynb``:

- ``generate_assignment`` gives a release with none of the solution lines and no hidden test;
- one ``autograde`` call grades, as students: the teacher's notebook (full points), the
  unsolved release (zero, without crashing the grader) and one mutated notebook per catalogued
  mistake of ``nfwidgets.check`` (its source pasted over the solution function it gets wrong),
  which loses the points of that function's hidden test;
- ``generate_feedback``'s HTML for each mutated notebook shows that mistake's own message.

The four courses are graded by four ``nbgrader`` processes running side by side (each its own
course directory and gradebook). Select these tests with ``-k nbgrader``.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import html
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

import nfwidgets
from nfwidgets.check import CATALOGUES

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "assignments" / "source"
TEACHER, UNSOLVED = "teacher", "unsolved"


@dataclass(frozen=True)
class Spec:
    """An assignment: the catalogues of its mistakes, the hidden-test cell that judges each
    learner function, and its total points."""

    catalogues: tuple[str, ...]
    hidden: dict[str, str]
    points: float


SPECS = {
    "planar_layer": Spec(("planar_layer",), {"u_hat": "test_u_hat_hidden",
                                             "planar_forward": "test_planar_forward_hidden"},
                         10),
    "radial_inverse": Spec(("radial_inverse",),
                           {"preimage_radius": "test_preimage_radius_hidden",
                            "radial_inverse": "test_radial_inverse_hidden"}, 10),
    "coupling_and_likelihood": Spec(("coupling_layer",),
                                    {"coupling_forward": "test_coupling_hidden",
                                     "coupling_inverse": "test_coupling_hidden"}, 10),
    "reverse_kl": Spec(("free_energy", "annealing"),
                       {"free_energy": "test_free_energy_hidden", "beta": "test_beta_hidden"},
                       10),
}


def _mistakes(name: str) -> dict[str, object]:
    """Student id → catalogued mistake, for every mistake of the assignment's catalogues."""
    return {f"{cat}-{m.key}".replace("_", "-"): m
            for cat in SPECS[name].catalogues for m in CATALOGUES[cat].mistakes}


def _function_source(function: object, new_name: str) -> str:
    """The source of ``function`` from its ``def`` line (decorators dropped), renamed."""
    source = textwrap.dedent(inspect.getsource(function))
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef)
    lines = source.splitlines()[node.lineno - 1:node.end_lineno]
    lines[0] = re.sub(rf"^def {node.name}\(", f"def {new_name}(", lines[0])
    assert lines[0].startswith(f"def {new_name}("), lines[0]
    return "\n".join(lines)


def _substitute(nb: nbformat.NotebookNode, target: str, new_source: str) -> None:
    """Replace the top-level ``def target`` of the solution cell defining it."""
    for cell in nb.cells:
        if cell.cell_type != "code" or not cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        tree = ast.parse(cell.source)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == target:
                lines = cell.source.splitlines()
                cell.source = "\n".join(lines[:node.lineno - 1] + new_source.splitlines()
                                        + lines[node.end_lineno:])
                return
    raise AssertionError(f"no solution cell defines {target}")


def _solution_lines(nb: nbformat.NotebookNode) -> list[str]:
    """Every non-blank line between ``### BEGIN SOLUTION`` and ``### END SOLUTION``."""
    out, inside = [], False
    for cell in nb.cells:
        for line in cell.source.splitlines():
            if line.strip() == "### BEGIN SOLUTION":
                inside = True
            elif line.strip() == "### END SOLUTION":
                inside = False
            elif inside and line.strip():
                out.append(line.strip())
    return out


def _hidden_lines(nb: nbformat.NotebookNode) -> list[str]:
    out, inside = [], False
    for cell in nb.cells:
        for line in cell.source.splitlines():
            if line.strip() == "### BEGIN HIDDEN TESTS":
                inside = True
            elif line.strip() == "### END HIDDEN TESTS":
                inside = False
            elif inside and line.strip():
                out.append(line.strip())
    return out


def _environment(tmp: Path) -> dict[str, str]:
    """nbgrader and its kernels see this package, and none of the user's Jupyter state."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON"))}
    for var, sub in (("HOME", "home"), ("JUPYTER_CONFIG_DIR", "jupyter-config"),
                     ("JUPYTER_DATA_DIR", "jupyter-data"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                     ("IPYTHONDIR", "ipython")):
        env[var] = str(tmp / sub)
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    package_root = str(Path(nfwidgets.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([package_root, env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep)
    # nbgrader runs the `alembic` script of its environment (found on PATH)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["OMP_NUM_THREADS"] = "1"  # four graders share the cores: no oversubscription
    env["PYTHONWARNINGS"] = "ignore"  # nbgrader's own deprecation noise, not the notebooks'
    return env


class Course:
    """A throwaway nbgrader course holding one assignment."""

    def __init__(self, tmp: Path, name: str) -> None:
        self.name, self.root = name, tmp / "course"
        self.env = _environment(tmp)
        (self.root / "source" / name).mkdir(parents=True)
        shutil.copy(SOURCE / name / f"{name}.ipynb", self.root / "source" / name)
        (tmp / "exchange").mkdir()
        (self.root / "nbgrader_config.py").write_text(textwrap.dedent(f"""\
            c = get_config()
            c.CourseDirectory.root = {str(self.root)!r}
            c.CourseDirectory.course_id = "nfwidgets"
            c.CourseDirectory.db_url = {"sqlite:///" + str(self.root / "gradebook.db")!r}
            c.Exchange.root = {str(tmp / "exchange")!r}
            c.Execute.timeout = 300
            c.Execute.shutdown_kernel = "immediate"  # its outputs are in: no need to wait
            # Unix sockets in the course's own runtime folder: kernels started side by side
            # (here and by anything else on the machine) cannot race for a TCP port.
            c.KernelManager.transport = "ipc"
            c.KernelManager.ip = {str(tmp / "runtime" / "kernel")!r}
            """))
        self.log = tmp / "nbgrader.log"

    def start(self, *args: str) -> subprocess.Popen:
        out = self.log.open("a")
        return subprocess.Popen([sys.executable, "-m", "nbgrader", *args, "--force"],
                                cwd=self.root, env=self.env, stdout=out,
                                stderr=subprocess.STDOUT)

    def run(self, *args: str) -> None:
        self.wait(self.start(*args), args[0])

    def wait(self, process: subprocess.Popen, what: str) -> None:
        if process.wait(timeout=900) != 0:
            raise AssertionError(f"nbgrader {what} failed for {self.name}:\n"
                                 + self.log.read_text()[-4000:])

    def notebook(self, folder: str, *parts: str) -> Path:
        return self.root.joinpath(folder, *parts, self.name, f"{self.name}.ipynb")

    def submit(self, student: str, nb: nbformat.NotebookNode) -> None:
        path = self.notebook("submitted", student)
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)

    def scores(self) -> dict[str, dict[str, float]]:
        """Student id → {grade cell id: score} (and "total")."""
        from nbgrader.api import Gradebook

        out: dict[str, dict[str, float]] = {}
        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gb:
            for student in gb.students:
                nb = gb.find_submission_notebook(self.name, self.name, student.id)
                cells = {g.name: g.score for g in nb.grades}
                cells["total"] = nb.score
                out[student.id] = cells
        return out

    def feedback(self, student: str) -> str:
        return self.notebook("feedback", student).with_suffix(".html").read_text()


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory,
           request: pytest.FixtureRequest) -> dict[str, dict[str, object]]:
    """Every assignment released, submitted (teacher, unsolved, one per mistake), autograded
    and fed back, the four courses side by side; returns what the tests look at."""
    try:
        import nbgrader  # noqa: F401
    except ImportError:  # a missing grader fails, as a missing Chromium does
        pytest.fail("the nbgrader round trip needs nbgrader: pip install -e '.[grading]'")
    start = time.perf_counter()
    courses = {name: Course(tmp_path_factory.mktemp(name), name) for name in SPECS}
    for step in (("generate_assignment",), ("autograde",), ("generate_feedback",)):
        running = {name: c.start(step[0], name) for name, c in courses.items()}
        for name, process in running.items():
            courses[name].wait(process, step[0])
        if step[0] == "generate_assignment":
            for course in courses.values():
                _submit_all(course)
    results = {}
    for name, course in courses.items():
        release = nbformat.read(course.notebook("release"), 4)
        results[name] = {"course": course, "release": release, "scores": course.scores()}
    seconds = time.perf_counter() - start
    n = sum(len(r["scores"]) for r in results.values())
    lines = [f"nbgrader round trip: {n} submissions of {len(SPECS)} assignments graded in "
             f"{seconds:.0f} s; points per submission:"]
    for name, result in results.items():
        for student, cells in sorted(result["scores"].items()):
            lines.append(f"  {name:24s} {student:48s} {cells['total']:g}/{SPECS[name].points:g}")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print("\n" + "\n".join(lines))  # in the CI log: the points each mutation scored
    return results


def _submit_all(course: Course) -> None:
    teacher = nbformat.read(SOURCE / course.name / f"{course.name}.ipynb", 4)
    course.submit(TEACHER, teacher)
    course.submit(UNSOLVED, nbformat.read(course.notebook("release"), 4))
    for student, mistake in _mistakes(course.name).items():
        mutated = copy.deepcopy(teacher)
        _substitute(mutated, mistake.target, _function_source(mistake.function, mistake.target))
        course.submit(student, mutated)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_nbgrader_release_has_no_solution_and_no_hidden_test(graded, name: str) -> None:
    source = nbformat.read(SOURCE / name / f"{name}.ipynb", 4)
    release = graded[name]["release"]
    text = {line.strip() for cell in release.cells for line in cell.source.splitlines()}
    solution = _solution_lines(source)
    hidden = _hidden_lines(source)
    assert solution and hidden
    assert not [line for line in solution if line in text], "solution lines in the release"
    assert not [line for line in hidden if line in text], "hidden tests in the release"
    raw = json.dumps(release)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in raw
    for cell in release.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            assert "raise NotImplementedError()" in cell.source
    assert not any(cell.get("outputs") for cell in source.cells if cell.cell_type == "code")


@pytest.mark.parametrize("name", sorted(SPECS))
def test_nbgrader_teacher_gets_full_points_and_unsolved_zero(graded, name: str) -> None:
    scores = graded[name]["scores"]
    assert scores[TEACHER]["total"] == SPECS[name].points, scores[TEACHER]
    assert scores[UNSOLVED]["total"] == 0, scores[UNSOLVED]
    cells = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"].get("points", 0)
             for c in nbformat.read(SOURCE / name / f"{name}.ipynb", 4).cells
             if c.metadata.get("nbgrader", {}).get("grade")}
    assert sum(cells.values()) == SPECS[name].points
    assert set(SPECS[name].hidden.values()) <= set(cells)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_nbgrader_every_mistake_loses_its_points_with_its_own_message(graded,
                                                                    name: str) -> None:
    scores, course = graded[name]["scores"], graded[name]["course"]
    mistakes = _mistakes(name)
    assert mistakes, f"no catalogued mistakes for {name}"
    failures = []
    for student, m in mistakes.items():
        cell = SPECS[name].hidden[m.target]
        got = scores[student]
        if got[cell] != 0:
            failures.append(f"{student}: {cell} scored {got[cell]}")
        feedback = course.feedback(student)
        if html.escape(m.message, quote=False) not in feedback and \
                html.escape(m.message) not in feedback:
            failures.append(f"{student}: feedback lacks its message {m.message!r}")
    assert not failures, "\n".join(failures)
