#!/usr/bin/env bash
# ensure-venv.sh VENV: creates VENV with build, wheel, setuptools and pytest when missing
# (never pandas: the tests prove the binding runs without it). Idempotent and quick.
set -euo pipefail
VENV="$1"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import build, wheel, setuptools, pytest' 2>/dev/null; then
  exit 0
fi
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
"$ROOT/scripts/install-deps.sh" python
command -v python3 >/dev/null || { echo "ensure-venv: python3 missing" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet build wheel setuptools pytest >&2
