#!/usr/bin/env bash
# Runs every test suite (tests/dist runs `make dist` and installs each
# artifact outside the repo) and ends with one line CI reads: "N passed, N failed".
# Each suite script ends with its own "N passed, N failed" line and a non-zero exit on
# failure. Suites run one after another: the machine has two cores.
set -uo pipefail
cd "$(dirname "$0")/.."
export FTAPI_LIB_DIR="${FTAPI_LIB_DIR:-$PWD/target/release}"
export OPEND_SIM="${OPEND_SIM:-$FTAPI_LIB_DIR/opend-sim}"

total_pass=0; total_fail=0; failed_suites=()

run_suite() {
  local name="$1"; shift
  echo "=== $name ==="
  local log; log=$(mktemp)
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line; line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
  local p=0 f=0
  if [ -n "$line" ]; then
    p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line"); f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  [ "$rc" -ne 0 ] && failed_suites+=("$name")
  rm -f "$log"
}

cargo_suite() {
  # cargo's own summary lines are summed into one line of the same form.
  local log; log=$(mktemp)
  cargo test --release --workspace 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local p f
  p=$(grep -E '^test result:' "$log" | sed -E 's/.* ([0-9]+) passed.*/\1/' | awk '{s+=$1} END {print s+0}')
  f=$(grep -E '^test result:' "$log" | sed -E 's/.* ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}')
  echo "${p:-0} passed, ${f:-0} failed"
  rm -f "$log"
  return "$rc"
}

# The client-side rate limiter is on by default (OpenD's 10 requests per 30 s for 3222).
# The suites below make many requests to test other things, so they start with it off;
# the limiter's own tests (tests/features.rs, tests/c) set its mode explicitly.
export FTAPI_RATE_LIMIT="${FTAPI_RATE_LIMIT:-off}"

# The cargo the suites use stays first on PATH: the cross toolchain (scripts/install-cross.sh)
# installs Debian's own cargo and rustc in /usr/bin for the cross builds only.
PATH="$(dirname "$(command -v cargo)"):$PATH"; export PATH

# The cross builds (scripts/cross.sh: Windows, aarch64, macOS; about 25 minutes of CPU) start
# now in the background at the lowest priority, using the CPU the suites leave idle while
# they wait on sockets and timers; tests/platforms/run-tests.sh waits for them and
# target/platform-tests/cross.rc holds their exit status.
# Each platform also leaves cross-<platform>.done there once built, so that its tests can
# start while the next one builds.
mkdir -p target/platform-tests
rm -f target/platform-tests/cross.rc target/platform-tests/cross-*.done
export FTAPI_CROSS_DONE_DIR="$PWD/target/platform-tests"
( nice -n 19 scripts/cross.sh >target/platform-tests/cross.log 2>&1; echo $? >target/platform-tests/cross.rc ) &
export FTAPI_CROSS_IN_BACKGROUND=1

run_suite "scripts/lint.sh" scripts/lint.sh
run_suite "cargo test" cargo_suite
for suite in tests/c/run-tests.sh tests/c/soak.sh tests/cpp/run-tests.sh bindings/python/run-tests.sh \
             bindings/csharp/run-tests.sh bindings/java/run-tests.sh bindings/node/run-tests.sh tests/platforms/run-tests.sh \
             tests/dist/run-tests.sh tests/readme/run-tests.sh; do
  [ -x "$suite" ] && run_suite "$suite" "$suite"
done

echo
[ ${#failed_suites[@]} -gt 0 ] && echo "failed suites: ${failed_suites[*]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ ${#failed_suites[@]} -eq 0 ]
