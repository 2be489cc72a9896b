#!/usr/bin/env bash
# Runs the benchmarks (prints tables, writes benchmarks/results/*.json). Installs the optional
# peers (zuko, nflows, normflows) and matplotlib into .venv first. Extra arguments go to both.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
nfw_env "test,lessons,bench,browser" && nfw_chromium
cd "$ROOT"
python benchmarks/bench_engine.py "$@"
python benchmarks/bench_widgets.py "$@"
python benchmarks/bench_browser.py "$@"
python benchmarks/bench_training.py "$@"
