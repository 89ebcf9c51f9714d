#!/usr/bin/env bash
# The C suite: tests/c/ftapi_c_tests.c against opend-sim, each case with its own
# simulator flags, built four ways: dynamic, static, ASan+UBSan, and under valgrind.
# Also: the header compiles alone as C99 and C++11 with warnings as errors, and the C
# examples print the watchlist. Ends with "N passed, N failed".
# Many requests per test: the client-side rate limiter (10 per 30 s for 3222 by default)
# starts off here unless the caller says otherwise; its own tests set it explicitly.
export FTAPI_RATE_LIMIT="${FTAPI_RATE_LIMIT:-off}"
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LIB="${FTAPI_LIB_DIR:-$ROOT/target/release}"
SIM="${OPEND_SIM:-$LIB/opend-sim}"
OUT="$ROOT/target/c-tests"
mkdir -p "$OUT"
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

CFLAGS=(-std=c99 -g -O1 -Wall -Wextra -Werror -I"$ROOT/include")
SRC="$ROOT/tests/c/ftapi_c_tests.c"

# Header alone, both languages.
echo '#include "ftapi.h"' > "$OUT/header_only.c"
if gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -I"$ROOT/include" -c "$OUT/header_only.c" -o "$OUT/h.o" &&
   g++ -x c++ -std=c++11 -Wall -Wextra -Wpedantic -Werror -I"$ROOT/include" -c "$OUT/header_only.c" -o "$OUT/hpp.o"; then
  ok "header compiles alone (C99, C++11)"
else
  bad "header compiles alone"
fi

gcc "${CFLAGS[@]}" "$SRC" -o "$OUT/t_dynamic" -L"$LIB" -lftapi -Wl,-rpath,"$LIB" -lpthread || bad "build dynamic"
gcc "${CFLAGS[@]}" "$SRC" -o "$OUT/t_static" "$LIB/libftapi.a" -lpthread -ldl -lm || bad "build static"
gcc "${CFLAGS[@]}" -fsanitize=address,undefined -fno-omit-frame-pointer "$SRC" -o "$OUT/t_asan" \
    -L"$LIB" -lftapi -Wl,-rpath,"$LIB" -lpthread || bad "build asan"
if ldd "$OUT/t_static" | grep -q libftapi; then bad "static binary still needs libftapi.so"; else ok "static binary is self-contained"; fi

# Test keys for the encrypted cases, made here (never a key from elsewhere).
KEY="$OUT/key.pem"; KEY2="$OUT/key2.pem"
[ -s "$KEY" ] || openssl genrsa -traditional -out "$KEY" 1024 2>/dev/null
[ -s "$KEY2" ] || openssl genrsa -traditional -out "$KEY2" 1024 2>/dev/null

# case name | simulator flags | extra environment
CASES=(
  "happy_zh|--lang zh --rate-limit off|"
  "bad_input|--rate-limit off|"
  "connect_fail||"
  "reject_init|--reject-init c-tests%20rejected|"
  "timeout|--withhold 3222|"
  "server_close|--close-after 3222|"
  "close_pending|--withhold 3222|"
  "inflight|--rate-limit off|"
  "free_in_callback|--delay-ms 200 --delay-protos 3222 --rate-limit off|"
  "sync_in_callback||"
  "encrypted|--rsa-key $KEY|FTAPI_TEST_KEY=$KEY"
  "encrypted|--rsa-key $KEY --aes ecb|FTAPI_TEST_KEY=$KEY"
  "encrypted|--rsa-key $KEY2|FTAPI_TEST_KEY=$KEY FTAPI_EXPECT_KEY_MISMATCH=1"
  "bad_sha1|--corrupt-sha1 3222|"
)

run_case() { # variant runner... -- case flags env
  local variant="$1" spec="$2"; shift 2
  local name flags envs
  IFS='|' read -r name flags envs <<<"$spec"
  local -a fl=()
  for f in $flags; do fl+=("${f//%20/ }"); done
  local log="$OUT/$variant-$name.log"
  if env $envs ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      timeout 120 "$SIM" --port 0 "${fl[@]}" -- "$@" "$name" 127.0.0.1 '{port}' >"$log" 2>&1; then
    if [ "$variant" = asan ] && ! grep -q "sanitizer: address" "$log"; then
      bad "$variant $name (sanitizer not linked)"; return
    fi
    ok "$variant $name ${flags}"
  else
    bad "$variant $name ${flags}"; sed 's/^/    | /' "$log" | tail -20
  fi
}

for spec in "${CASES[@]}"; do
  run_case dynamic "$spec" "$OUT/t_dynamic"
  run_case static "$spec" "$OUT/t_static"
  run_case asan "$spec" "$OUT/t_asan"
  run_case valgrind "$spec" valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
      --show-leak-kinds=definite "$OUT/t_dynamic"
done

# The examples, as `make demo` runs them.
for ex in get_user_security_group get_user_security_group_sync; do
  bin="$ROOT/target/c/$ex"
  if [ -x "$bin" ] && out=$("$SIM" --port 0 -- "$bin" 127.0.0.1 '{port}' custom 2>/dev/null) &&
     [ "$out" = $'A\tCUSTOM\nC\tCUSTOM' ]; then ok "example $ex"; else bad "example $ex: $out"; fi
done
if out=$("$SIM" --port 0 --rsa-key "$KEY" -- "$ROOT/target/c/get_user_security_group" --encrypt "$KEY" 127.0.0.1 '{port}' system 2>&1) &&
   [ "$(grep -c SYSTEM <<<"$out")" = 10 ]; then ok "example --encrypt"; else bad "example --encrypt: $out"; fi
if err=$("$SIM" --port 0 --withhold 3222 -- env FTAPI_NOOP=1 "$ROOT/target/c/get_user_security_group_sync" 127.0.0.1 1 2>&1); then
  bad "example exits non-zero on failure"
elif grep -q "^error: ret_type=" <<<"$err"; then ok "example failure line"; else bad "example failure line: $err"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
