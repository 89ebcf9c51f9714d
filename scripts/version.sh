#!/usr/bin/env bash
# Prints the project's version: [workspace.package] version in the top Cargo.toml, the one
# number every artifact (tarball, wheel, jar, nupkg, crates) carries.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
v=$(sed -n '/^\[workspace\.package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' "$ROOT/Cargo.toml" | head -1)
[ -n "$v" ] || { echo "version.sh: no [workspace.package] version in $ROOT/Cargo.toml" >&2; exit 1; }
echo "$v"
