#!/usr/bin/env bash
# Writes the two macOS framework stubs the macOS link check needs into SDKROOT (argument 1):
# text-based (.tbd) descriptions of Security and CoreFoundation, listing the symbols that
# rustls-native-certs (through security-framework, which reads the system's trusted
# certificates) links against, from scripts/macos-frameworks.txt. zig links against them as a Mac's SDK would; a symbol missing here is a link
# error, never a silent gap. Nothing is run: no machine here can run macOS code.
set -euo pipefail
SDK="$1"
FW="$SDK/System/Library/Frameworks"
tbd() { # framework symbols...
  local name="$1"; shift
  mkdir -p "$FW/$name.framework"
  local syms; syms=$(printf '%s, ' "$@"); syms=${syms%, }
  cat > "$FW/$name.framework/$name.tbd" <<TBD
--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos, arm64-macos ]
install-name:    '/System/Library/Frameworks/$name.framework/Versions/A/$name'
exports:
  - targets:         [ x86_64-macos, arm64-macos ]
    symbols:         [ $syms ]
...
TBD
}
# scripts/macos-frameworks.txt: "[Framework]" lines, each followed by its symbols.
LIST="$(dirname "$0")/macos-frameworks.txt"
for fw in $(sed -n 's/^\[\(.*\)\]$/\1/p' "$LIST"); do
  # shellcheck disable=SC2046
  tbd "$fw" $(awk -v fw="[$fw]" '/^\[/{on=($0==fw); next} on && /^_/{print}' "$LIST")
done
