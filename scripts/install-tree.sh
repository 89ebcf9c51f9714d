#!/usr/bin/env bash
# install-tree.sh DEST: lays out the C/C++ distribution tree under DEST:
#
#   lib/libftapi.so.0, lib/libftapi.so -> libftapi.so.0, lib/libftapi.a
#   lib/libFTAPIChannel.so -> libftapi.so.0     (the official native channel's name)
#   include/ftapi.h, include/ftapi.hpp, include/FTAPIChannel.h
#   lib/pkgconfig/ftapi.pc                      (prefix relative to ${pcfiledir})
#   lib/cmake/ftapi/ftapiConfig.cmake, ftapiConfigVersion.cmake  (paths relative to the file)
#   bin/opend-sim
#
# `make install PREFIX=... [DESTDIR=...]` and the tarball of `make dist` (scripts/dist.sh)
# both call this, so they give the same files in the same places. Nothing in the tree names
# DEST: it works wherever it is moved. Binaries lose their debug info (strip --strip-debug),
# as in every other package. Uses $FTAPI_LIB_DIR (default <repo>/target/release).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
REL="${FTAPI_LIB_DIR:-$ROOT/target/release}"
[ $# -eq 1 ] && [ -n "$1" ] || { echo "usage: install-tree.sh DEST" >&2; exit 2; }
DEST="$1"
VERSION="$("$ROOT/scripts/version.sh")"
GEN="$(mktemp -d)"
trap 'rm -rf "$GEN"' EXIT

sed -e "s|@VERSION@|$VERSION|g" "$ROOT/ftapi.pc.in" > "$GEN/ftapi.pc"
sed -e "s|@VERSION@|$VERSION|g" "$ROOT/packaging/cmake/ftapiConfigVersion.cmake.in" > "$GEN/ftapiConfigVersion.cmake"

# One line per file: mode | source | destination under DEST | strip (ELF files) or -.
# A new library or header is one more line here (and, for CMake, an imported target in
# packaging/cmake/ftapiConfig.cmake).
FILES="
755|$REL/libftapi.so|lib/libftapi.so.0|strip
644|$REL/libftapi.a|lib/libftapi.a|strip
644|$ROOT/include/ftapi.h|include/ftapi.h|-
644|$ROOT/include/ftapi.hpp|include/ftapi.hpp|-
644|$ROOT/include/FTAPIChannel.h|include/FTAPIChannel.h|-
644|$GEN/ftapi.pc|lib/pkgconfig/ftapi.pc|-
644|$ROOT/packaging/cmake/ftapiConfig.cmake|lib/cmake/ftapi/ftapiConfig.cmake|-
644|$GEN/ftapiConfigVersion.cmake|lib/cmake/ftapi/ftapiConfigVersion.cmake|-
755|$REL/opend-sim|bin/opend-sim|strip
"

# Symbolic links: link | target (relative to the link's folder). libFTAPIChannel.so is a
# second name for the same library (it exports the FTAPIChannel_* functions): programs built
# for the official channel link with -lFTAPIChannel and then need libftapi.so.0, its SONAME;
# FTAPI4NET's [DllImport("FTAPIChannel")] loads it by this name.
LINKS="
lib/libftapi.so|libftapi.so.0
lib/libFTAPIChannel.so|libftapi.so.0
"

while IFS='|' read -r mode src dst strip; do
  [ -n "$mode" ] || continue
  [ -f "$src" ] || { echo "install-tree: $src missing (run make build)" >&2; exit 1; }
  install -d "$DEST/$(dirname "$dst")"
  # Through a temporary name, so that a library in use is replaced, never rewritten in place.
  install -m "$mode" "$src" "$DEST/$dst.tmp.$$"
  if [ "$strip" = strip ] && command -v strip >/dev/null; then strip --strip-debug "$DEST/$dst.tmp.$$"; fi
  mv -f "$DEST/$dst.tmp.$$" "$DEST/$dst"
done <<<"$FILES"

while IFS='|' read -r link target; do
  [ -n "$link" ] || continue
  ln -sfn "$target" "$DEST/$link"
done <<<"$LINKS"
