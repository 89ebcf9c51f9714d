#!/usr/bin/env bash
# The platforms suite (docs/PLATFORMS.md): builds the library for Windows x64, Linux aarch64
# and macOS (scripts/cross.sh, which installs its toolchain when missing), runs the Windows
# build under Wine and the aarch64 build under qemu-user against the Linux opend-sim
# (tests/platforms/run.sh), and checks the macOS libraries' link (nothing here can run them).
# Ends with "N passed, N failed".
#
# Within `make test`, scripts/test-all.sh started the cross builds in the background when
# the whole suite began (FTAPI_CROSS_IN_BACKGROUND=1): each platform leaves
# cross-<platform>.done once built and the whole build its exit status in cross.rc, and each
# platform's tests start as soon as it is there, while the next one builds. Run alone, this
# suite builds them all first.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# openssl for the wss:// certificates; the cross toolchain is scripts/install-cross.sh's.
"$ROOT/scripts/install-deps.sh" c >&2 || { echo "install-deps c failed"; echo "0 passed, 1 failed"; exit 1; }
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
LOG="$ROOT/target/platform-tests"; mkdir -p "$LOG"
t0=$(date +%s)

if [ "${FTAPI_CROSS_IN_BACKGROUND:-0}" != 1 ]; then
  "$ROOT/scripts/cross.sh" >"$LOG/cross.log" 2>&1; echo $? >"$LOG/cross.rc"
fi
# built PLATFORM: waits (at most an hour) until the background build has made it, or failed.
built() {
  [ -s "$LOG/cross.rc" ] && [ "$(cat "$LOG/cross.rc")" = 0 ] && return 0
  for _ in $(seq 720); do
    [ -f "$LOG/cross-$1.done" ] && return 0
    [ -s "$LOG/cross.rc" ] && break
    sleep 5
  done
  [ -f "$LOG/cross-$1.done" ] || { [ -s "$LOG/cross.rc" ] && [ "$(cat "$LOG/cross.rc")" = 0 ]; }
}

for p in windows-x86_64 linux-aarch64; do
  echo "--- $p"
  if ! built "$p"; then
    bad "cross build of $p"; tail -30 "$LOG/cross.log" | sed 's/^/    | /'; continue
  fi
  echo "($p built $(( $(date +%s) - t0 )) s into this suite)"
  "$ROOT/tests/platforms/run.sh" "$p" | tee "$LOG/run-$p.log"
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$LOG/run-$p.log" | tail -1)
  p_=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"${line:-0 passed, 1 failed}")
  f_=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"${line:-0 passed, 1 failed}")
  pass=$((pass + p_)); fail=$((fail + f_))
done

# macOS: compiled and linked, checked from the outside.
for arch in aarch64 x86_64; do
  lib="$ROOT/target/cross/out/macos-$arch/libftapi.dylib"
  if built "macos-$arch" && [ -f "$lib" ] && out=$(python3 "$ROOT/tests/platforms/macho_check.py" "$lib" "$arch"); then
    ok "macOS $arch link check: ${out#*: }"
  else
    bad "macOS $arch link check: ${out:-$lib missing}"; tail -30 "$LOG/cross.log" | sed 's/^/    | /'
  fi
done

# The whole cross build's own status (it has finished once every platform is there).
for _ in $(seq 120); do [ -s "$LOG/cross.rc" ] && break; sleep 5; done
rc=$(cat "$LOG/cross.rc" 2>/dev/null || echo "none")
if [ "$rc" = 0 ]; then
  ok "scripts/cross.sh: windows-x86_64, linux-aarch64, macos-aarch64, macos-x86_64 (suite time $(( $(date +%s) - t0 )) s)"
else
  bad "scripts/cross.sh (exit $rc)"; tail -30 "$LOG/cross.log" | sed 's/^/    | /'
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
