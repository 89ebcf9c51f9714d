#!/usr/bin/env bash
# Soak suite (tests/c/soak.c; docs/RELIABILITY.md, "Soak"): 32 auto-reconnecting
# connections, connect/close churn and requests from several threads, against an opend-sim
# that the program kills (SIGKILL or SIGTERM) and restarts every 1-5 s on the same port.
# Runs, each checking outcomes, RSS, fds, threads and late callbacks:
#   plain    SOAK_SECS seconds (default 60), VmRSS growth after the warm-up <= 1 MiB
#            (with MALLOC_ARENA_MAX=2, below);
#   ASan+UBSan, then valgrind (default leak kinds), SOAK_ASAN_SECS (25) and
#            SOAK_VALGRIND_SECS (20) seconds, beside the plain one; their allocators keep
#            freed memory on purpose, so VmRSS is reported there, not checked.
# 0 seconds skips a run. SEED=N repeats a run's random choices. `make soak` runs the plain
# one for 10 minutes. Ends with "N passed, N failed"; non-zero exit on failure.
export FTAPI_RATE_LIMIT=off
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LIB="${FTAPI_LIB_DIR:-$ROOT/target/release}"
export OPEND_SIM="${OPEND_SIM:-$LIB/opend-sim}"
OUT="$ROOT/target/c-tests/soak.$$"
mkdir -p "$OUT"
SECS=${SOAK_SECS:-60}
ASAN_SECS=${SOAK_ASAN_SECS:-25}
VG_SECS=${SOAK_VALGRIND_SECS:-20}
SEED=${SEED:-}
pass=0; fail=0

CF=(-std=c11 -g -Wall -Wextra -Werror -I"$ROOT/include")
LINK=(-L"$LIB" -lftapi -Wl,-rpath,"$LIB" -lpthread)
gcc "${CF[@]}" -O2 "$ROOT/tests/c/soak.c" -o "$OUT/soak" "${LINK[@]}" || { echo "FAIL build soak"; fail=$((fail + 1)); }
gcc "${CF[@]}" -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
  "$ROOT/tests/c/soak.c" -o "$OUT/soak_asan" "${LINK[@]}" || { echo "FAIL build soak asan"; fail=$((fail + 1)); }

# One run: its log, then "ok"/"FAIL" from the exit status and the last line.
run() { # name secs rss-limit command...
  local name="$1" secs="$2" limit="$3"; shift 3
  [ "$secs" -gt 0 ] || return 0
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    timeout $((secs * 3 + 300)) "$@" "$secs" "$SEED" "$limit" >"$OUT/$name.log" 2>&1
  echo $? >"$OUT/$name.rc"
}
# The short run pins glibc to 2 malloc arenas. With its default (up to 8 per core) the
# churn's new threads spread over more arenas as the run goes on and VmRSS climbs for the
# first minutes whatever the library does (60 s runs: +368 to +1 104 KiB, while massif saw
# the heap flat); with 2 it measured -32 to +672 KiB. `make soak` keeps glibc's default.
run plain "$SECS" 1024 env MALLOC_ARENA_MAX=2 "$OUT/soak" &
{ run asan "$ASAN_SECS" -1 "$OUT/soak_asan"
  run valgrind "$VG_SECS" -1 valgrind -q --error-exitcode=1 --leak-check=full "$OUT/soak"; } &
wait

for name in plain asan valgrind; do
  [ -f "$OUT/$name.rc" ] || continue
  log="$OUT/$name.log"; rc=$(cat "$OUT/$name.rc"); last=$(tail -1 "$log")
  why=""
  [ "$rc" = 0 ] || why="exit $rc"
  grep -q '^soak: [0-9]* requests, .*: ok$' <<<"$last" || why="${why:+$why, }last line is not ok"
  if [ "$name" = asan ] && ! grep -q "sanitizer: address" "$log"; then why="${why:+$why, }sanitizer not linked"; fi
  if [ -z "$why" ]; then pass=$((pass + 1)); echo "ok   soak $name"; else fail=$((fail + 1)); echo "FAIL soak $name ($why)"; fi
  # the figures, then the verdict; on failure the errors before them
  [ -z "$why" ] || grep '^soak: error\|watchdog\|==[0-9]*==\|runtime error' "$log" | head -12 | sed 's/^/    | /'
  sed -n '/^soak: [0-9]* s of load/,$p' "$log" | sed 's/^/    /'
done

if [ "$fail" -eq 0 ]; then rm -rf "$OUT"; else echo "logs: $OUT"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
