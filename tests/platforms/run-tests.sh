#!/usr/bin/env bash
# The platforms suite (docs/PLATFORMS.md): builds the library for Windows x64, Linux aarch64
# and macOS (scripts/cross.sh, which installs its toolchain when missing), checks the macOS
# libraries' link (nothing here can run them), then runs the Windows build under Wine and
# the aarch64 build under qemu-user against the Linux opend-sim (tests/platforms/run.sh).
# Ends with "N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
LOG="$ROOT/target/platform-tests"; mkdir -p "$LOG"

# The cross builds: scripts/test-all.sh started them in the background when the whole suite
# began (FTAPI_CROSS_IN_BACKGROUND=1; their exit status lands in cross.rc); run alone, this
# suite builds them itself.
t0=$(date +%s)
if [ "${FTAPI_CROSS_IN_BACKGROUND:-0}" = 1 ]; then
  for _ in $(seq 720); do [ -s "$LOG/cross.rc" ] && break; sleep 5; done   # at most an hour
  rc=$(cat "$LOG/cross.rc" 2>/dev/null || echo "none after an hour")
else
  "$ROOT/scripts/cross.sh" >"$LOG/cross.log" 2>&1; rc=$?
fi
if [ "$rc" = 0 ]; then
  ok "scripts/cross.sh: windows-x86_64, linux-aarch64, macos-aarch64, macos-x86_64 (waited $(( $(date +%s) - t0 )) s)"
else
  bad "scripts/cross.sh (exit $rc)"; tail -30 "$LOG/cross.log" | sed 's/^/    | /'
fi

# macOS: compiled and linked, checked from the outside.
for arch in aarch64 x86_64; do
  lib="$ROOT/target/cross/out/macos-$arch/libftapi.dylib"
  if [ -f "$lib" ] && out=$(python3 "$ROOT/tests/platforms/macho_check.py" "$lib" "$arch"); then
    ok "macOS $arch link check: ${out#*: }"
  else
    bad "macOS $arch link check: ${out:-$lib missing}"
  fi
done

for p in windows-x86_64 linux-aarch64; do
  echo "--- $p"
  "$ROOT/tests/platforms/run.sh" "$p" | tee "$LOG/run-$p.log"
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$LOG/run-$p.log" | tail -1)
  p_=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"${line:-0 passed, 1 failed}")
  f_=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"${line:-0 passed, 1 failed}")
  pass=$((pass + p_)); fail=$((fail + f_))
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
