#!/usr/bin/env bash
# Opens the lessons in JupyterLab on a fresh machine: creates .venv, installs everything, then
# serves lessons/ on 127.0.0.1 with a token (set NFW_TOKEN / NFW_PORT to choose them).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
nfw_env "test,lessons"
cd "$ROOT"
TOKEN="${NFW_TOKEN:-$(python -c 'import secrets; print(secrets.token_hex(16))')}"
PORT="${NFW_PORT:-8888}"
ROOT_FLAG=()
[ "$(id -u)" = "0" ] && ROOT_FLAG=(--allow-root)
echo "== JupyterLab: http://127.0.0.1:$PORT/lab/tree/00_start_here.ipynb?token=$TOKEN"
exec jupyter lab --no-browser "${ROOT_FLAG[@]}" \
  --ServerApp.ip=127.0.0.1 --ServerApp.port="$PORT" --ServerApp.port_retries=0 \
  --IdentityProvider.token="$TOKEN" --LabApp.news_url=None \
  --ServerApp.root_dir="$ROOT/lessons" "$@"
