#!/usr/bin/env bash
# Lints every Rust crate of the repository: the workspace (opend-proto, opend, ftapi-c,
# opend-sim, the Node addon ftapi-node) and the fuzz targets (fuzz/, a workspace of its
# own). rustfmt must have nothing to change and clippy nothing to say (-D warnings), over
# all targets: libraries, binaries, tests, benches. Part of `make test`; ends with
# "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
pass=0; fail=0
check() { # name command...
  local name="$1"; shift
  local out; out=$("$@" 2>&1)
  if [ $? -eq 0 ]; then
    pass=$((pass + 1)); echo "PASS $name"
  else
    fail=$((fail + 1)); echo "FAIL $name"; head -60 <<<"$out" | sed 's/^/    | /'
  fi
}
check "rustfmt: the workspace" cargo fmt --all --check
check "rustfmt: fuzz/" cargo fmt --manifest-path fuzz/Cargo.toml --check
check "clippy -D warnings: the workspace, all targets" cargo clippy --workspace --all-targets -- -D warnings
check "clippy -D warnings: fuzz/" cargo clippy --manifest-path fuzz/Cargo.toml --bins -- -D warnings
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
