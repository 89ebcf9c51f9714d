#!/usr/bin/env bash
# C++ binding suite: include/ftapi.hpp against opend-sim, built with and without
# protobuf, tests under ASan/UBSan. Last line: "N passed, N failed".
# Env: FTAPI_LIB_DIR (default <repo>/target/release), OPEND_SIM (default $FTAPI_LIB_DIR/opend-sim).
# Many requests per test: the client-side rate limiter (10 per 30 s for 3222 by default)
# starts off here unless the caller says otherwise; its own tests set it explicitly.
export FTAPI_RATE_LIMIT="${FTAPI_RATE_LIMIT:-off}"
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LIB="${FTAPI_LIB_DIR:-$ROOT/target/release}"
SIM="${OPEND_SIM:-$LIB/opend-sim}"
OUT="$ROOT/target/cpp-tests"
CXX="${CXX:-g++}"
PASS=0; FAIL=0

ok()   { echo "PASS $1"; PASS=$((PASS + 1)); }
bad()  { echo "FAIL $1${2:+: $2}"; FAIL=$((FAIL + 1)); }
finish() { echo "$PASS passed, $FAIL failed"; [ "$FAIL" -eq 0 ]; exit $?; }

# Tools: g++, protoc and libprotobuf-dev come from scripts/install-deps.sh.
if ! command -v protoc >/dev/null || ! command -v "$CXX" >/dev/null || ! pkg-config --exists protobuf; then
  "$ROOT/scripts/install-deps.sh" cpp || true
fi
for f in "$LIB/libftapi.so" "$LIB/libftapi.a" "$SIM"; do
  [ -e "$f" ] || { bad "prerequisites" "$f missing (run make build)"; finish; }
done

mkdir -p "$OUT/gen" "$OUT/lib"
# The library's SONAME is libftapi.so.0: make sure the loader finds that name.
if [ -e "$LIB/libftapi.so.0" ]; then RLIB="$LIB"; else
  ln -sf "$LIB/libftapi.so" "$OUT/lib/libftapi.so.0"; RLIB="$OUT/lib"; fi
LINK=(-L"$LIB" -lftapi -Wl,-rpath,"$RLIB" -pthread)
INC=(-I"$ROOT/include")
PBINC=(-DFTAPI_WITH_PROTOBUF -I"$OUT/gen" $(pkg-config --cflags protobuf))
PBLIBS=($(pkg-config --libs protobuf))
SAN=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# 1. The header alone, C++11 and C++17, both modes, warnings as errors.
printf '#include "ftapi.hpp"\nint main() { return 0; }\n' > "$OUT/header_alone.cpp"
protoc --cpp_out="$OUT/gen" -I"$ROOT/crates/proto/proto" "$ROOT"/crates/proto/proto/*.proto || bad "protoc"
for std in 11 17; do
  if "$CXX" -std=c++$std -Wall -Wextra -Wpedantic -Werror "${INC[@]}" -fsyntax-only "$OUT/header_alone.cpp"; then
    ok "header_alone_cxx${std}_light"; else bad "header_alone_cxx${std}_light"; fi
  if "$CXX" -std=c++$std -Wall -Wextra -Wpedantic -Werror "${INC[@]}" "${PBINC[@]}" -fsyntax-only "$OUT/header_alone.cpp"; then
    ok "header_alone_cxx${std}_protobuf"; else bad "header_alone_cxx${std}_protobuf"; fi
done

# 2. Builds (in parallel, two at a time: the machine has two cores).
PBOBJ=()
for p in Common Qot_Common Qot_GetUserSecurityGroup; do PBOBJ+=("$OUT/$p.pb.o"); done
build_pb_objs() {
  for p in Common Qot_Common Qot_GetUserSecurityGroup; do
    "$CXX" -std=c++17 -O0 -w -c "${PBINC[@]}" "$OUT/gen/$p.pb.cc" -o "$OUT/$p.pb.o" || return 1
  done
}
declare -A BUILD_LOG
build() {  # name, command...
  local name="$1"; shift
  "$@" >"$OUT/$name.log" 2>&1; echo $? >"$OUT/$name.rc"
}
W=(-Wall -Wextra -Werror)
# The official sample as published: only the port is rewritten (see official_sample/sample.cpp).
sed 's/11111/FTAPI_TEST_PORT/' "$HERE/official_sample/sample.cpp" >"$OUT/official_sample.cpp"
SAMPLE_INC=(-I"$HERE/official_sample")
( build pbobjs build_pb_objs
  build t_protobuf "$CXX" -std=c++17 -g -O1 "${SAN[@]}" "${W[@]}" "${INC[@]}" "${PBINC[@]}" "$HERE/test_main.cpp" "${PBOBJ[@]}" -o "$OUT/t_protobuf" "${LINK[@]}" "${PBLIBS[@]}"
  build sample_protobuf "$CXX" -std=c++11 -O1 -Wall "${INC[@]}" "${PBINC[@]}" "${SAMPLE_INC[@]}" "$OUT/official_sample.cpp" "${PBOBJ[@]}" -o "$OUT/sample_protobuf" "${LINK[@]}" "${PBLIBS[@]}"
  build ex_official_protobuf "$CXX" -std=c++11 -O1 "${W[@]}" "${INC[@]}" "${PBINC[@]}" "$ROOT/examples-cpp/get_user_security_group.cpp" "${PBOBJ[@]}" -o "$OUT/ex_official_protobuf" "${LINK[@]}" "${PBLIBS[@]}"
) &
( build t_light "$CXX" -std=c++17 -g -O1 "${SAN[@]}" "${W[@]}" "${INC[@]}" "$HERE/test_main.cpp" -o "$OUT/t_light" "${LINK[@]}"
  build ex_official_light "$CXX" -std=c++11 -O1 "${W[@]}" -Wpedantic "${INC[@]}" "$ROOT/examples-cpp/get_user_security_group.cpp" -o "$OUT/ex_official_light" "${LINK[@]}"
  build ex_official_static "$CXX" -std=c++11 -O1 "${W[@]}" "${INC[@]}" "$ROOT/examples-cpp/get_user_security_group.cpp" -o "$OUT/ex_official_static" "$LIB/libftapi.a" -lpthread -ldl -lm
  build sample_light "$CXX" -std=c++11 -O1 -Wall "${INC[@]}" "${SAMPLE_INC[@]}" "$OUT/official_sample.cpp" -o "$OUT/sample_light" "${LINK[@]}"
  build ex_modern "$CXX" -std=c++17 -O1 "${W[@]}" -Wpedantic "${INC[@]}" "$ROOT/examples-cpp/modern.cpp" -o "$OUT/ex_modern" "${LINK[@]}"
) &
wait
for b in pbobjs t_protobuf sample_protobuf ex_official_protobuf t_light sample_light ex_official_light ex_official_static ex_modern; do
  if [ "$(cat "$OUT/$b.rc" 2>/dev/null)" = 0 ]; then ok "build_$b"; else bad "build_$b"; tail -30 "$OUT/$b.log"; fi
done

# 3. Examples against the simulator; each check is what the official sample prints.
run_example() {  # name, expected-substring..., -- sim-flags... -- binary args...
  local name="$1"; shift
  local want=(); while [ "$1" != "--" ]; do want+=("$1"); shift; done; shift
  local flags=(); while [ "$1" != "--" ]; do flags+=("$1"); shift; done; shift
  [ -x "$1" ] || { bad "$name" "not built"; return; }
  local out rc
  out=$(timeout 60 "$SIM" --port 0 "${flags[@]}" -- "$@" 2>&1); rc=$?
  [ "$rc" -eq 0 ] || { bad "$name" "exit $rc"; echo "$out" | tail -20; return; }
  for w in "${want[@]}"; do
    grep -qF -- "$w" <<<"$out" || { bad "$name" "missing: $w"; echo "$out" | tail -20; return; }
  done
  ok "$name"
}
for m in light protobuf; do
  run_example "official_doc_sample_verbatim_$m" "connect" "Request GetUserSecurityGroup SerialNo: 2" \
    "OnReply_GetUserSecurityGroup SerialNo:2" '"retType": 0' '"groupName": "All"' '"groupName": "Bonds"' \
    -- --rate-limit off -- "$HERE/official_sample/run-sample.sh" "$OUT/sample_$m"
done
# The same runs compared whole with the doc's Output (connect, the serials, then the JSON
# with retType, retMsg "", errCode 0, s2c in that order), with the simulator's watchlist; and
# against --omit-ret-fields, where the printed message must not gain retMsg / errCode.
sample_output() {  # name, expected-file, sim-flags... -- binary
  local name="$1" want="$2"; shift 2
  local flags=(); while [ "$1" != "--" ]; do flags+=("$1"); shift; done; shift
  [ -x "$1" ] || { bad "$name" "not built"; return; }
  local got="$OUT/$name.out" rc
  # stdout only (the simulator's "listening" line goes to stderr); up to the JSON's closing
  # brace: protobuf's printer ends its text with a newline, so a blank line follows.
  timeout 60 "$SIM" --port 0 "${flags[@]}" -- "$HERE/official_sample/run-sample.sh" "$1" >"$got" 2>"$got.err"; rc=$?
  [ "$rc" -eq 0 ] || { bad "$name" "exit $rc"; tail -20 "$got" "$got.err"; return; }
  if sed '/^}$/q' "$got" | diff -u "$want" -; then ok "$name"; else bad "$name" "output differs from $want"; fi
}
grep -vE '^ "(retMsg|errCode)": ' "$HERE/official_sample/expected-output.txt" >"$OUT/official-expected-bare.txt"
for m in light protobuf; do
  sample_output "official_doc_sample_output_$m" "$HERE/official_sample/expected-output.txt" \
    --rate-limit off -- "$OUT/sample_$m"
  sample_output "official_doc_sample_output_bare_$m" "$OUT/official-expected-bare.txt" \
    --rate-limit off --omit-ret-fields -- "$OUT/sample_$m"
done
for v in "" bare_; do
  if cmp "$OUT/official_doc_sample_output_${v}light.out" "$OUT/official_doc_sample_output_${v}protobuf.out"; then
    ok "official_doc_sample_${v}light_prints_what_protobuf_prints"
  else bad "official_doc_sample_${v}light_prints_what_protobuf_prints"; fi
done
run_example example_official_light "connect" "Request GetUserSecurityGroup SerialNo: 2" \
  "OnReply_GetUserSecurityGroup SerialNo:2" '"groupName": "All"' '"groupName": "Bonds"' '"groupName": "C"' \
  -- --rate-limit off -- "$OUT/ex_official_light" 127.0.0.1 {port}
run_example example_official_protobuf "OnReply_GetUserSecurityGroup SerialNo:2" '"retType": 0' \
  '"groupName": "债券"' '"groupName": "特别关注"' \
  -- --lang zh -- "$OUT/ex_official_protobuf" 127.0.0.1 {port}
run_example example_official_static "OnReply_GetUserSecurityGroup SerialNo:2" '"groupName": "A"' \
  -- -- "$OUT/ex_official_static" 127.0.0.1 {port} 1
run_example example_modern "sent, serial 2" "system All" "custom C" "sync: 2 custom groups" \
  -- -- "$OUT/ex_modern" 127.0.0.1 {port}
if out=$(timeout 30 "$SIM" --port 0 --reject-init "no entry" -- "$OUT/ex_official_light" 127.0.0.1 {port} 2>&1); then
  bad example_official_reports_init_failure "exit 0"
elif grep -qF "InitConnect failed: 429496729605 no entry" <<<"$out"; then ok example_official_reports_init_failure
else bad example_official_reports_init_failure "$out"; fi

# 4. The test program, both modes, one simulator per configuration.
run_group() {  # binary, group, sim flags...
  local bin="$1" group="$2"; shift 2
  local tag; tag="$(basename "$bin" | sed 's/^t_//')"
  [ -x "$bin" ] || { bad "$tag:$group" "not built"; return; }
  local log="$OUT/$tag-$group.log" rc
  if [ "$group" = env ]; then timeout 60 "$bin" env >"$log" 2>&1; rc=$?
  elif [ "$group" = features ]; then  # starts and restarts opend-sim itself
    OPEND_SIM="$SIM" FTAPI_TEST_KEY="$KEY" timeout 120 "$bin" features >"$log" 2>&1; rc=$?
  elif [ "$group" = websocket ]; then  # OpenD's WebSocket door
    timeout 120 "$SIM" --port 0 --ws-port 0 --ws-key cpp-key "$@" -- "$bin" "$group" {ws_port} >"$log" 2>&1; rc=$?
  else timeout 120 "$SIM" --port 0 "$@" -- "$bin" "$group" {port} >"$log" 2>&1; rc=$?; fi
  local p f
  p=$(grep -c '^PASS ' "$log"); f=$(grep -c '^FAIL ' "$log")
  sed -n -e 's/^PASS /PASS '"$tag"':/p' -e 's/^FAIL /FAIL '"$tag"':/p' "$log"
  PASS=$((PASS + p)); FAIL=$((FAIL + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    bad "$tag:$group" "exit $rc (sanitizer report or crash)"; grep -v '^PASS ' "$log" | tail -40
  elif grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log"; then
    bad "$tag:$group" "sanitizer report"; grep -v '^PASS ' "$log" | tail -40
  elif [ "$f" -ne 0 ]; then grep -v '^PASS ' "$log" | tail -40
  fi
}
# Beyond the official SDKs (limiter, auto-reconnect, state and log callbacks): each
# test starts its own simulator (a restart on the same port is part of it); once, in
# the light build (the code under test does not depend on protobuf mode).
KEY="$OUT/key.pem"
[ -s "$KEY" ] || openssl genrsa -traditional -out "$KEY" 1024 2>/dev/null || bad "openssl genrsa"
run_group "$OUT/t_light" features
for bin in "$OUT/t_light" "$OUT/t_protobuf"; do
  run_group "$bin" env
  run_group "$bin" default --rate-limit off
  run_group "$bin" zh --lang zh
  run_group "$bin" bare --rate-limit off --omit-ret-fields
  run_group "$bin" withhold --withhold 3222
  run_group "$bin" close-after --close-after 3222
  run_group "$bin" reject --reject-init "go away"
  run_group "$bin" corrupt --corrupt-sha1 3222
  run_group "$bin" websocket --rate-limit off
done
finish
