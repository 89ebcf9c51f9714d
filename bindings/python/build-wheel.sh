#!/usr/bin/env bash
# Builds the ftapi wheel with libftapi.so inside it: target/py-dist/ftapi-*-py3-none-linux_*.whl
# Uses $FTAPI_LIB_DIR (default <repo>/target/release) and the build venv target/py-venv
# (created when missing). The source tree is copied to target/py-build first, so nothing
# is written into bindings/python. Prints the wheel's path as its last line.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LIB_DIR="${FTAPI_LIB_DIR:-$ROOT/target/release}"
VENV="$ROOT/target/py-venv"
STAGE="$ROOT/target/py-build"
DIST="$ROOT/target/py-dist"

[ -f "$LIB_DIR/libftapi.so" ] || { echo "build-wheel: $LIB_DIR/libftapi.so missing (run make build)" >&2; exit 1; }
"$HERE/ensure-venv.sh" "$VENV" >&2

rm -rf "$STAGE" && mkdir -p "$STAGE" "$DIST"
cp -r "$HERE/ftapi" "$HERE/pyproject.toml" "$HERE/setup.py" "$HERE/README.md" "$STAGE/"
rm -rf "$STAGE/ftapi/__pycache__" "$STAGE"/ftapi/libftapi.so*
cp "$LIB_DIR/libftapi.so" "$STAGE/ftapi/libftapi.so"
# The release build keeps debug info; the wheel does not need it.
if command -v strip >/dev/null; then strip --strip-debug "$STAGE/ftapi/libftapi.so"; fi
rm -f "$DIST"/ftapi-*.whl
(cd "$STAGE" && "$VENV/bin/python" -m build --wheel --no-isolation --outdir "$DIST" >&2)
whl=$(ls "$DIST"/ftapi-*.whl)
case "$whl" in *py3-none-any*) echo "build-wheel: wheel is not platform-tagged: $whl" >&2; exit 1;; esac
echo "$whl"
