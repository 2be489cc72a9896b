#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: creates .venv, installs everything, then
# ruff, the unit tests and nbval over every lesson. Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
nfw_env "test,lessons"
cd "$ROOT"
export MPLBACKEND=Agg PYDEVD_DISABLE_FILE_VALIDATION=1
echo "== ruff"
ruff check .
echo "== lessons: copies with the reference outputs of their checked cells (.nfw-run/lessons)"
python tools/lesson_outputs.py inject .nfw-run/lessons
echo "== pytest: unit tests and every lesson under nbval"
python -m pytest -p no:cacheprovider tests .nfw-run/lessons --nbval-lax "$@"
