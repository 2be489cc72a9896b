#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: creates .venv, installs everything (and Debian's
# chromium via apt if missing), then ruff, the unit tests, nbval over every lesson and the
# real-browser tests (every lesson in JupyterLab and in Notebook 7, every widget in Voilà, headless
# Chromium) and the Binder environment test (a fresh venv from binder/).
# Extra arguments go to pytest. NFW_SKIP_BROWSER=1 skips the browser tests (local use only).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
nfw_env "test,lessons,browser,grading"
nfw_chromium
cd "$ROOT"
export MPLBACKEND=Agg PYDEVD_DISABLE_FILE_VALIDATION=1
echo "== ruff"
ruff check .
echo "== lessons: copies with the reference outputs of their checked cells (.nfw-run/lessons)"
python tools/lesson_outputs.py inject .nfw-run/lessons
echo "== pytest: unit tests, every lesson under nbval, real-browser tests (tests/browser)"
python -m pytest -p no:cacheprovider tests .nfw-run/lessons --nbval-lax "$@"
