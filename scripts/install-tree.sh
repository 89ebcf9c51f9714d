#!/usr/bin/env bash
# install-tree.sh DEST [PLATFORM]: lays out the C/C++ distribution tree under DEST. For Linux
# (linux-x86_64, the default, from $FTAPI_LIB_DIR; linux-aarch64 from scripts/cross.sh's
# target/cross/out/linux-aarch64):
#
#   lib/libftapi.so.0, lib/libftapi.so -> libftapi.so.0, lib/libftapi.a
#   lib/libFTAPIChannel.so -> libftapi.so.0     (the official native channel's name)
#   include/ftapi.h, include/ftapi.hpp, include/FTAPIChannel.h
#   lib/pkgconfig/ftapi.pc                      (prefix relative to ${pcfiledir})
#   lib/cmake/ftapi/ftapiConfig.cmake, ftapiConfigVersion.cmake  (paths relative to the file)
#   bin/opend-sim
#   share/doc/ftapi/LICENSE-MIT, LICENSE-APACHE  (the project's license texts)
#   share/doc/ftapi/THIRD-PARTY-NOTICES         (the licenses of the crates libftapi and
#                                                opend-sim contain, for this platform:
#                                                scripts/notices.sh c-PLATFORM)
#
# For windows-x86_64 (from target/cross/out/windows-x86_64; MinGW and MSVC both link it):
#
#   bin/ftapi.dll, bin/FTAPIChannel.dll (a copy: the official channel's name), bin/opend-sim.exe
#   lib/libftapi.dll.a, lib/libFTAPIChannel.dll.a   (MinGW import libraries)
#   lib/ftapi.lib, lib/FTAPIChannel.lib             (MSVC import libraries), lib/ftapi.def
#   include/..., lib/cmake/ftapi/..., share/doc/ftapi/...  (as above)
#
# `make install PREFIX=... [DESTDIR=...]` and the tarball of `make dist` (scripts/dist.sh)
# both call this, so they give the same files in the same places. Nothing in the tree names
# DEST: it works wherever it is moved. Binaries lose their debug info (strip --strip-debug),
# as in every other package. Uses $FTAPI_LIB_DIR (default <repo>/target/release).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REL="${FTAPI_LIB_DIR:-$ROOT/target/release}"
[ $# -ge 1 ] && [ -n "$1" ] || { echo "usage: install-tree.sh DEST [PLATFORM]" >&2; exit 2; }
DEST="$1"
PLATFORM="${2:-linux-x86_64}"
STRIP=strip
case "$PLATFORM" in
  linux-x86_64) ;;
  linux-aarch64) REL="$ROOT/target/cross/out/linux-aarch64"; STRIP=aarch64-linux-gnu-strip ;;
  windows-x86_64) REL="$ROOT/target/cross/out/windows-x86_64"; STRIP=x86_64-w64-mingw32-strip ;;
  *) echo "install-tree: unknown platform $PLATFORM (linux-x86_64, linux-aarch64, windows-x86_64)" >&2; exit 2 ;;
esac
VERSION="$("$ROOT/scripts/version.sh")"
GEN="$(mktemp -d)"
trap 'rm -rf "$GEN"' EXIT

sed -e "s|@VERSION@|$VERSION|g" "$ROOT/ftapi.pc.in" > "$GEN/ftapi.pc"
sed -e "s|@VERSION@|$VERSION|g" "$ROOT/packaging/cmake/ftapiConfigVersion.cmake.in" > "$GEN/ftapiConfigVersion.cmake"
# Generated from the dependency tree, for the binaries this tree holds.
"$ROOT/scripts/notices.sh" "$GEN/THIRD-PARTY-NOTICES" "c-$PLATFORM"

# One line per file: mode | source | destination under DEST | strip (ELF files) or -.
# A new library or header is one more line here (and, for CMake, an imported target in
# packaging/cmake/ftapiConfig.cmake).
COMMON="
644|$ROOT/include/ftapi.h|include/ftapi.h|-
644|$ROOT/include/ftapi.hpp|include/ftapi.hpp|-
644|$ROOT/include/FTAPIChannel.h|include/FTAPIChannel.h|-
644|$GEN/ftapi.pc|lib/pkgconfig/ftapi.pc|-
644|$ROOT/packaging/cmake/ftapiConfig.cmake|lib/cmake/ftapi/ftapiConfig.cmake|-
644|$GEN/ftapiConfigVersion.cmake|lib/cmake/ftapi/ftapiConfigVersion.cmake|-
644|$ROOT/LICENSE-MIT|share/doc/ftapi/LICENSE-MIT|-
644|$ROOT/LICENSE-APACHE|share/doc/ftapi/LICENSE-APACHE|-
644|$GEN/THIRD-PARTY-NOTICES|share/doc/ftapi/THIRD-PARTY-NOTICES|-
"
if [ "$PLATFORM" = windows-x86_64 ]; then
  FILES="$COMMON
755|$REL/ftapi.dll|bin/ftapi.dll|strip
755|$REL/ftapi.dll|bin/FTAPIChannel.dll|strip
755|$REL/opend-sim.exe|bin/opend-sim.exe|strip
644|$REL/libftapi.dll.a|lib/libftapi.dll.a|-
644|$REL/libFTAPIChannel.dll.a|lib/libFTAPIChannel.dll.a|-
644|$REL/ftapi.lib|lib/ftapi.lib|-
644|$REL/FTAPIChannel.lib|lib/FTAPIChannel.lib|-
644|$REL/ftapi.def|lib/ftapi.def|-
"
else
  FILES="$COMMON
755|$REL/libftapi.so|lib/libftapi.so.0|strip
644|$REL/libftapi.a|lib/libftapi.a|strip
755|$REL/opend-sim|bin/opend-sim|strip
"
fi

# Symbolic links: link | target (relative to the link's folder). libFTAPIChannel.so is a
# second name for the same library (it exports the FTAPIChannel_* functions): programs built
# for the official channel link with -lFTAPIChannel and then need libftapi.so.0, its SONAME;
# FTAPI4NET's [DllImport("FTAPIChannel")] loads it by this name.
LINKS="
lib/libftapi.so|libftapi.so.0
lib/libFTAPIChannel.so|libftapi.so.0
"
[ "$PLATFORM" = windows-x86_64 ] && LINKS=""

while IFS='|' read -r mode src dst strip; do
  [ -n "$mode" ] || continue
  [ -f "$src" ] || { echo "install-tree: $src missing (run make build)" >&2; exit 1; }
  install -d "$DEST/$(dirname "$dst")"
  # Through a temporary name, so that a library in use is replaced, never rewritten in place.
  install -m "$mode" "$src" "$DEST/$dst.tmp.$$"
  if [ "$strip" = strip ] && command -v "$STRIP" >/dev/null; then "$STRIP" --strip-debug "$DEST/$dst.tmp.$$"; fi
  mv -f "$DEST/$dst.tmp.$$" "$DEST/$dst"
done <<<"$FILES"

while IFS='|' read -r link target; do
  [ -n "$link" ] || continue
  ln -sfn "$target" "$DEST/$link"
done <<<"$LINKS"
