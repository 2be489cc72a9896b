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

nfw_chromium() {  # Debian's chromium for the real-browser tests (never `playwright install`)
  if [ -n "${NFW_SKIP_BROWSER:-}" ] && [ "${NFW_SKIP_BROWSER}" != "0" ]; then
    echo "== NFW_SKIP_BROWSER is set: the real-browser tests will be skipped"
    return 0
  fi
  if [ -n "${NFW_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1; then
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" != "0" ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "!! chromium is missing and this user cannot install it (not root, no sudo):" \
        "install Debian's chromium package, or set NFW_SKIP_BROWSER=1 to skip the browser" \
        "tests; without either they fail" >&2
      return 0
    fi
    sudo=(sudo)
    [ -t 0 ] || sudo=(sudo -n)  # no password prompt without a terminal (CI)
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "!! chromium is missing and there is no apt-get: install Chromium and set" \
      "NFW_CHROMIUM=/path/to/chromium (or NFW_SKIP_BROWSER=1); the browser tests fail" >&2
    return 0
  fi
  echo "== installing chromium (apt) for the real-browser tests"
  if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
         && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
              --no-install-recommends chromium >/dev/null; }; then
    echo "!! could not install chromium with apt-get; the browser tests will fail" >&2
  fi
}
