# Sourced by the scripts in this folder: creates .venv and installs nfwidgets with its extras.
# Re-running is cheap: the install is skipped while pyproject.toml and constraints.txt are unchanged.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${NFW_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"

nfw_env() {  # usage: nfw_env EXTRAS   (e.g. "test,lessons")
  local extras="$1"
  if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "nfwidgets needs Python >= 3.10; '$PY' is $("$PY" --version 2>&1)." >&2
    exit 1
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating virtual environment $VENV"
    "$PY" -m venv "$VENV"
  fi
  local stamp="$VENV/.nfw-installed-$extras"
  local want
  want="$(cat "$ROOT/pyproject.toml" "$ROOT/constraints.txt" | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "== installing nfwidgets[$extras] (torch pinned by constraints.txt)"
    # torch is pinned first and alone, so nothing can pull a multi-GB CUDA build.
    "$VENV/bin/python" -m pip install --quiet -c "$ROOT/constraints.txt" "torch==2.13.0"
    "$VENV/bin/python" -m pip install --quiet -c "$ROOT/constraints.txt" -e "$ROOT[$extras]"
    echo "$want" > "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
}
