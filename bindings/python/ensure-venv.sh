#!/usr/bin/env bash
# ensure-venv.sh VENV: creates VENV with build, wheel, setuptools and pytest when missing
# (never pandas: the tests prove the binding runs without it). Idempotent and quick.
# setuptools 77 or later: pyproject.toml's license expression and license-files (PEP 639:
# License-Expression in the metadata, the texts in the wheel's .dist-info/licenses/).
set -euo pipefail
VENV="$1"
ready() {
  "$VENV/bin/python" -c 'import build, wheel, setuptools, pytest, sys
sys.exit(int(setuptools.__version__.split(".")[0]) < 77)' 2>/dev/null
}
if [ -x "$VENV/bin/python" ] && ready; then
  exit 0
fi
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import build, wheel, pytest' 2>/dev/null; then
  # An older venv: only setuptools to bring up to date.
  "$VENV/bin/python" -m pip install --quiet --upgrade 'setuptools>=77' >&2
  ready && exit 0
fi
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
"$ROOT/scripts/install-deps.sh" python
command -v python3 >/dev/null || { echo "ensure-venv: python3 missing" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade build wheel 'setuptools>=77' pytest >&2
