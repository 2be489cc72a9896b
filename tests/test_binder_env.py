"""What Binder builds actually runs the lessons: a fresh virtual environment made from
``binder/requirements.txt`` and ``binder/postBuild`` alone (no project extras, nothing from this
test run's environment) executes lesson 00 with no error and prints the recorded numbers.

Select it with ``-k binder_env``. It needs the package registries; pip reuses its cache. When the
CPU wheel index named in ``binder/requirements.txt`` cannot be reached (no network to it, as on
the project's own machines), torch is pinned from ``constraints.txt`` instead (those machines keep
that CPU wheel on disk) and the test says so in its output: that part of Binder's build is then
not what was tested.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSON = "00_start_here.ipynb"
#: What ``binder/postBuild``'s ``pip install --no-deps .`` needs from the checkout.
PACKAGE_FILES = ["pyproject.toml", "README.md", "LICENSE", "nfwidgets", "binder", "lessons"]
KERNEL_TIMEOUT_S = 300  # per cell; lesson 00 runs in seconds

sys.path.insert(0, str(ROOT / "tools"))
import lesson_outputs  # noqa: E402

#: Runs in the fresh environment: executes the lesson with nbclient (cells tagged
#: ``raises-exception`` may fail, any other error stops it) and writes the executed notebook.
RUN = """\
import sys, nbformat, nbclient, nfwidgets, torch
nb = nbformat.read(sys.argv[1], as_version=4)
nbclient.NotebookClient(nb, timeout={timeout}, kernel_name="python3",
                        resources={{"metadata": {{"path": sys.argv[3]}}}}).execute()
nbformat.write(nb, sys.argv[2])
print("nfwidgets from", nfwidgets.__file__, "| torch", torch.__version__)
"""


def _say(config: pytest.Config, line: str) -> None:
    """A line in the test output, also when pytest captures (never hidden)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(f"[binder_env] {line}")


def _reachable(url: str) -> str | None:
    """None when ``url`` answers; else why not."""
    try:
        with urllib.request.urlopen(url, timeout=10):
            return None
    except (urllib.error.URLError, OSError, ValueError) as err:
        return f"{type(err).__name__}: {getattr(err, 'reason', err)}"


def _requirements(folder: Path, config: pytest.Config) -> list[str]:
    """pip arguments for binder/requirements.txt: as written, or, when its extra index is not
    reachable, without that index and with torch pinned from constraints.txt (said aloud)."""
    text = (ROOT / "binder" / "requirements.txt").read_text()
    indexes = re.findall(r"^--extra-index-url\s+(\S+)", text, re.M)
    down = {url: why for url in indexes if (why := _reachable(url)) is not None}
    if not down:
        _say(config, f"torch from the index binder/requirements.txt names: {', '.join(indexes)}")
        return ["-r", str(ROOT / "binder" / "requirements.txt")]
    pin = re.search(r"^torch==(\S+)", (ROOT / "constraints.txt").read_text(), re.M)
    assert pin is not None, "constraints.txt pins no torch"
    lines = []
    for line in text.splitlines():
        if line.startswith("--extra-index-url"):
            continue
        if re.match(r"torch\b", line):
            line = f"torch=={pin.group(1)}"
        lines.append(line)
    fallback = folder / "requirements-offline.txt"
    fallback.write_text("\n".join(lines) + "\n")
    message = (f"NOT AS ON BINDER: the CPU wheel index {', '.join(down)} is unreachable "
               f"({'; '.join(down.values())}); torch pinned from constraints.txt to "
               f"torch=={pin.group(1)} (the CPU wheel on this machine's disk) instead of "
               "binder/requirements.txt's torch line")
    _say(config, message)
    warnings.warn(message, stacklevel=2)
    return ["-r", str(fallback), "-c", str(ROOT / "constraints.txt")]


def _run(cmd: list[str], env: dict[str, str], cwd: Path, what: str) -> str:
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, (f"{what} failed ({done.returncode}): {' '.join(cmd)}\n"
                                  + (done.stdout + done.stderr)[-4000:])
    return done.stdout


def test_binder_env_runs_lesson_00(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    here = f"python-{sys.version_info.major}.{sys.version_info.minor}"
    if runtime != here:
        _say(request.config, f"binder/runtime.txt asks for {runtime}; this venv uses {here}")
    checkout = tmp_path / "repo"
    checkout.mkdir()
    for name in PACKAGE_FILES:
        src = ROOT / name
        copy = shutil.copytree if src.is_dir() else shutil.copy2
        copy(src, checkout / name, **({"ignore": shutil.ignore_patterns(
            "__pycache__", ".ipynb_checkpoints")} if src.is_dir() else {}))
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        env[name] = str(tmp_path / name.lower())
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    env.pop("JUPYTER_PATH", None)
    _run([sys.executable, "-m", "venv", str(venv)], env, tmp_path, "python -m venv")
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*pip, *_requirements(tmp_path, request.config)], env, tmp_path,
         "pip install binder/requirements.txt")
    _run(["bash", str(checkout / "binder" / "postBuild")], env, checkout, "binder/postBuild")
    _run([python, "-m", "pip", "check"], env, tmp_path, "pip check")

    executed = tmp_path / "executed.ipynb"
    script = tmp_path / "run_lesson.py"
    script.write_text(RUN.format(timeout=KERNEL_TIMEOUT_S))
    lessons = checkout / "lessons"
    said = _run([python, str(script), str(lessons / LESSON), str(executed), str(lessons)],
                env, tmp_path, f"running {LESSON} in the Binder environment")
    _say(request.config, said.strip())
    assert str(venv) in said, f"the lesson did not import nfwidgets from the new venv: {said}"

    import nbformat

    book = nbformat.read(executed, as_version=4)
    store = lesson_outputs.load_store().get(LESSON, {})
    checked = lesson_outputs.checked_cells(book)
    assert checked, f"{LESSON} has no # NBVAL_CHECK_OUTPUT cell to compare"
    for cell in checked:
        ref = store.get(cell.id)
        assert ref and ref["source_sha"] == lesson_outputs.source_hash(cell.source), (
            f"{LESSON} cell {cell.id}: no recorded output for this source "
            "(tools/lesson_outputs.py record)")
        got = json.loads(json.dumps(lesson_outputs._text_outputs(cell.outputs)))
        want = ref["outputs"]
        assert got == want, (
            f"{LESSON} cell {cell.id} prints other numbers in the Binder environment:\n"
            f"got  {got}\nwant {want}")

