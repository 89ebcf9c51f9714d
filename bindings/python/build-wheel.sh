#!/usr/bin/env bash
# Builds the opend wheel (the Python package of ftapi) with the native library inside it:
#   build-wheel.sh                  libftapi.so from $FTAPI_LIB_DIR (default <repo>/target/release)
#                                   -> target/py-dist/opend-V-py3-none-linux_x86_64.whl
#   build-wheel.sh linux-aarch64    libftapi.so from target/cross/out/linux-aarch64 -> ..._linux_aarch64.whl
#   build-wheel.sh windows-x86_64   ftapi.dll from target/cross/out/windows-x86_64  -> ..._win_amd64.whl
# (scripts/dist.sh then gives the Linux wheels their manylinux tags with auditwheel.) Uses the
# build venv target/py-venv (created when missing). The source tree is copied to target/py-build first, so nothing
# is written into bindings/python. The wheel's .dist-info/licenses/ holds LICENSE-MIT,
# LICENSE-APACHE and THIRD-PARTY-NOTICES (scripts/notices.sh libftapi-PLATFORM).
# Prints the wheel's path as its last line.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LIB_DIR="${FTAPI_LIB_DIR:-$ROOT/target/release}"
VENV="$ROOT/target/py-venv"
STAGE="$ROOT/target/py-build"
DIST="$ROOT/target/py-dist"

PLATFORM="${1:-linux-x86_64}"
case "$PLATFORM" in
  linux-x86_64) FILE=libftapi.so; TAG=linux_x86_64; STRIP=strip ;;
  linux-aarch64) LIB_DIR="$ROOT/target/cross/out/linux-aarch64"; FILE=libftapi.so; TAG=linux_aarch64; STRIP=aarch64-linux-gnu-strip ;;
  windows-x86_64) LIB_DIR="$ROOT/target/cross/out/windows-x86_64"; FILE=ftapi.dll; TAG=win_amd64; STRIP=x86_64-w64-mingw32-strip ;;
  *) echo "build-wheel: unknown platform $PLATFORM" >&2; exit 2 ;;
esac
[ -f "$LIB_DIR/$FILE" ] || { echo "build-wheel: $LIB_DIR/$FILE missing (run make build, or scripts/cross.sh $PLATFORM)" >&2; exit 1; }
"$HERE/ensure-venv.sh" "$VENV" >&2

rm -rf "$STAGE" && mkdir -p "$STAGE" "$DIST"
cp -r "$HERE/opend" "$HERE/pyproject.toml" "$HERE/setup.py" "$HERE/README.md" "$STAGE/"
# The license texts and the library's third-party notices, for the wheel's .dist-info/licenses/
# (pyproject.toml's license-files).
cp "$ROOT/LICENSE-MIT" "$ROOT/LICENSE-APACHE" "$STAGE/"
"$ROOT/scripts/notices.sh" "$STAGE/THIRD-PARTY-NOTICES" "libftapi-$PLATFORM"
rm -rf "$STAGE/opend/__pycache__" "$STAGE"/opend/libftapi.so* "$STAGE"/opend/*.dll "$STAGE"/opend/*.dylib
cp "$LIB_DIR/$FILE" "$STAGE/opend/$FILE"
# The release build keeps debug info; the wheel does not need it.
if command -v "$STRIP" >/dev/null; then "$STRIP" --strip-debug "$STAGE/opend/$FILE"; fi
rm -f "$DIST"/opend-*-"$TAG".whl
# setup.py takes the platform tag from here (the wheel is built on this machine for another).
(cd "$STAGE" && FTAPI_WHEEL_PLAT="$TAG" "$VENV/bin/python" -m build --wheel --no-isolation --outdir "$DIST" >&2)
whl=$(ls "$DIST"/opend-*-"$TAG".whl)
case "$whl" in *py3-none-any*) echo "build-wheel: wheel is not platform-tagged: $whl" >&2; exit 1;; esac
echo "$whl"
