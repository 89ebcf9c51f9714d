#!/usr/bin/env bash
# Runs what scripts/cross.sh built for another platform, on this machine, against the Linux
# opend-sim on loopback (docs/PLATFORMS.md):
#   windows-x86_64  under Wine (a prefix reporting Windows 10, with the test-only
#                   bcryptprimitives.dll that Wine 8 lacks), programs built with MinGW gcc
#   linux-aarch64   under qemu-user with the cross toolchain's sysroot
# What runs: the C examples (the callback one, the synchronous one, the official channel's;
# encrypted, ws:// and wss://), the C suite's cases that need no sanitizer (tests/c/cases.sh:
# ftapi_c_tests.c, the fault matrix over the API port, ws:// and wss://, the official
# channel linked by its own name), and the library's Rust unit tests (the engine core on
# its virtual clock, the protocols, the wire format).
# Usage: tests/platforms/run.sh PLATFORM     Ends with "N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PLATFORM="${1:?usage: run.sh windows-x86_64|linux-aarch64}"
LIB="$ROOT/target/cross/out/$PLATFORM"
SIM="${OPEND_SIM:-$ROOT/target/release/opend-sim}"
TOOLS="$ROOT/target/cross-tools"
OUT="$ROOT/target/platform-tests/$PLATFORM.$$"
mkdir -p "$OUT"
export FTAPI_RATE_LIMIT=off
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
[ -d "$LIB" ] || { echo "platforms: $LIB missing (run scripts/cross.sh $PLATFORM)"; echo "0 passed, 1 failed"; exit 1; }

CFLAGS=(-std=c99 -O1 -Wall -Wextra -Werror -I"$ROOT/include")
case "$PLATFORM" in
  windows-x86_64)
    T=x86_64-pc-windows-gnu; EXE=.exe
    export WINEPREFIX="$TOOLS/wineprefix" WINEDEBUG=-all
    RUN=(/usr/lib/wine/wine64)
    # One wineserver for the whole run instead of one per program.
    /usr/lib/wine/wineserver -p
    trap '/usr/lib/wine/wineserver -k 2>/dev/null || true' EXIT
    # Each program beside the DLLs, as a Windows program finds them. The MinGW runtime
    # (winpthreads, which the tests' pthread calls use) is linked statically: only ftapi.dll
    # (or FTAPIChannel.dll) is a DLL of ours.
    cp "$LIB/ftapi.dll" "$LIB/FTAPIChannel.dll" "$OUT/"
    cc() { # out src libs...
      local out="$1" src="$2"; shift 2
      x86_64-w64-mingw32-gcc "${CFLAGS[@]}" "$src" -o "$out" -L"$LIB" "$@" \
        -static-libgcc -Wl,-Bstatic -lpthread -Wl,-Bdynamic -lws2_32
    }
    ;;
  linux-aarch64)
    T=aarch64-unknown-linux-gnu; EXE=
    # -L: the cross toolchain's sysroot. (No arm64 multiarch packages: their libc mixed
    # with this one hangs threaded programs; docs/PLATFORMS.md.)
    RUN=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
    cc() {
      local out="$1" src="$2"; shift 2
      aarch64-linux-gnu-gcc "${CFLAGS[@]}" "$src" -o "$out" -L"$LIB" "$@" -Wl,-rpath,"$LIB" -lpthread
    }
    ;;
  *) echo "platforms: unknown platform $PLATFORM"; echo "0 passed, 1 failed"; exit 1 ;;
esac

# ---- build ----
for p in ftapi_c_tests fault_matrix; do
  cc "$OUT/$p$EXE" "$ROOT/tests/c/$p.c" -lftapi && ok "build $p" || bad "build $p"
done
cc "$OUT/channel$EXE" "$ROOT/tests/c/channel.c" -lFTAPIChannel && ok "build channel (-lFTAPIChannel)" ||
  bad "build channel (-lFTAPIChannel)"
for ex in get_user_security_group get_user_security_group_sync; do
  cc "$OUT/$ex$EXE" "$ROOT/examples-c/$ex.c" -lftapi && ok "build example $ex" || bad "build example $ex"
done
cc "$OUT/channel_example$EXE" "$ROOT/examples-c/channel_get_user_security_group.c" -lFTAPIChannel &&
  ok "build example channel_get_user_security_group" || bad "build example channel_get_user_security_group"
if [ "$PLATFORM" = windows-x86_64 ]; then
  # What a program of ours needs at run time: ftapi.dll and system DLLs, no MinGW runtime.
  dlls=$(x86_64-w64-mingw32-objdump -p "$OUT/get_user_security_group.exe" | awk '/DLL Name:/{print $3}' | tr '\n' ' ')
  if grep -q 'ftapi.dll' <<<"$dlls" && ! grep -Eqi 'libgcc|libwinpthread' <<<"$dlls"; then ok "example imports: $dlls"
  else bad "example imports: $dlls"; fi
  dlls=$(x86_64-w64-mingw32-objdump -p "$OUT/channel.exe" | awk '/DLL Name:/{print $3}' | tr '\n' ' ')
  if grep -q 'FTAPIChannel.dll' <<<"$dlls"; then ok "channel client imports FTAPIChannel.dll"; else bad "channel client imports: $dlls"; fi
fi

# ---- keys and certificates, then the shared case tables ----
KEY="$OUT/key.pem"; KEY2="$OUT/key2.pem"
openssl genrsa -traditional -out "$KEY" 1024 2>/dev/null
openssl genrsa -traditional -out "$KEY2" 1024 2>/dev/null
TLS_CA="$OUT/ca.pem"; TLS_CERT="$OUT/server.pem"; TLS_KEY="$OUT/server.key"
"$ROOT/tests/c/make-test-certs.sh" "$OUT" >/dev/null 2>&1 || bad "test certificates"
source "$ROOT/tests/c/cases.sh"
# Paths as the program sees them: Wine maps / to drive Z:, which takes forward slashes.
hostpath() { if [ "$PLATFORM" = windows-x86_64 ]; then echo "Z:$1"; else echo "$1"; fi; }
export FTAPI_TEST_WS_KEY="c-suite key" FTAPI_TEST_CA; FTAPI_TEST_CA=$(hostpath "$TLS_CA")


run() { # tag sim-flags env -- program args...
  local tag="$1" flags="$2" envs="$3"; shift 4
  local -a fl=()
  for f in $flags; do fl+=("${f//%20/ }"); done
  local log="$OUT/$tag.log"
  # shellcheck disable=SC2086
  if (cd "$OUT" && env $envs timeout 150 "$SIM" --port 0 "${fl[@]}" -- "${RUN[@]}" "$@") >"$log" 2>&1; then
    ok "$tag ${flags//%20/ }"
  else
    bad "$tag ${flags//%20/ }"; sed 's/^/    | /' "$log" | tail -15
  fi
}
# Key paths inside a case's environment, as the program sees them.
fix_env() { echo "${1//$KEY/$(hostpath "$KEY")}"; }

# ---- ftapi_c_tests.c ----
for spec in "${CASES[@]}"; do
  IFS='|' read -r name flags envs <<<"$spec"
  run "c-$name" "$flags" "$(fix_env "$envs")" -- "./ftapi_c_tests$EXE" "$name" 127.0.0.1 '{port}'
done

# ---- the fault matrix: the API port, ws://, wss:// ----
for spec in "${FAULT_CASES[@]}"; do
  IFS='|' read -r name flags <<<"$spec"
  run "fm-$name" "$flags" "FTAPI_TEST_KEY=$(hostpath "$KEY")" -- "./fault_matrix$EXE" "$name" 127.0.0.1 '{port}'
  if [[ "$WS_CASES" == *" $name "* ]]; then
    run "ws-fm-$name" "$flags --ws-port 0 --ws-key c-suite%20key" "FTAPI_TEST_DOOR=ws" -- \
      "./fault_matrix$EXE" "$name" 127.0.0.1 '{ws_port}'
  fi
  if [[ "$WSS_CASES" == *" $name "* ]]; then
    run "wss-fm-$name" "$flags --ws-port 0 --ws-key c-suite%20key --ws-tls-cert $TLS_CERT --ws-tls-key $TLS_KEY" \
      "FTAPI_TEST_DOOR=wss" -- "./fault_matrix$EXE" "$name" 127.0.0.1 '{ws_port}'
  fi
done

# ---- the official channel, linked by its own name ----
for spec in "${CH_CASES[@]}"; do
  IFS='|' read -r name flags <<<"$spec"
  tag="ch-$name"; [[ "$flags" == *ecb* ]] && tag="$tag-ecb"
  run "$tag" "$flags" "FTAPI_TEST_KEY=$(hostpath "$KEY")" -- "./channel$EXE" "$name" 127.0.0.1 '{port}'
done

# ---- the examples, with the output make demo shows ----
example() { # tag expect-check sim-flags -- program args...
  local tag="$1" check="$2" flags="$3"; shift 4
  local out
  # shellcheck disable=SC2086
  out=$(cd "$OUT" && timeout 120 "$SIM" --port 0 $flags -- "${RUN[@]}" "$@" 2>"$OUT/$tag.err" | tr -d '\r')
  if eval "$check"; then ok "example $tag"; else bad "example $tag: $(head -c 400 <<<"$out") $(tail -3 "$OUT/$tag.err")"; fi
}
example callback '[ "$out" = $'"'"'A\tCUSTOM\nC\tCUSTOM'"'"' ]' "" -- "./get_user_security_group$EXE" 127.0.0.1 '{port}' custom
example sync '[ "$out" = $'"'"'A\tCUSTOM\nC\tCUSTOM'"'"' ]' "" -- "./get_user_security_group_sync$EXE" 127.0.0.1 '{port}' custom
example channel '[ "$(head -1 <<<"$out")" = $'"'"'All\tSYSTEM'"'"' ] && [ "$(wc -l <<<"$out")" = 12 ]' "" -- \
  "./channel_example$EXE" 127.0.0.1 '{port}'
example encrypt '[ "$(grep -c SYSTEM <<<"$out")" = 10 ]' "--rsa-key $KEY" -- \
  "./get_user_security_group$EXE" --encrypt "$(hostpath "$KEY")" 127.0.0.1 '{port}' system
example ws '[ "$out" = $'"'"'A\tCUSTOM\nC\tCUSTOM'"'"' ]' "--ws-port 0 --ws-key k1" -- \
  "./get_user_security_group$EXE" --ws k1 127.0.0.1 '{ws_port}' custom
example wss '[ "$(grep -c SYSTEM <<<"$out")" = 10 ]' "--ws-port 0 --ws-key k1 --ws-tls-cert $TLS_CERT --ws-tls-key $TLS_KEY" -- \
  "./get_user_security_group$EXE" --wss k1 --ca "$(hostpath "$TLS_CA")" 127.0.0.1 '{ws_port}' system

# ---- the Rust unit tests, built for the platform and run there ----
# The library's own, crate opend (the engine core on its virtual clock, the protocols, the doors) and
# the wire format's and crypto's (opend-proto). cargo runs each test binary through the
# platform's runner.
log="$OUT/cargo-test.log"
(
  source "$ROOT/scripts/cross-env.sh"
  cd "$ROOT" && nice -n 5 /usr/bin/cargo test --release "${BS[@]}" --target "$T" \
    -p opend -p opend-proto --lib
) >"$log" 2>&1
rc=$?
p=$(grep -E '^test result:' "$log" | sed -E 's/.* ([0-9]+) passed.*/\1/' | awk '{s+=$1} END {print s+0}')
f=$(grep -E '^test result:' "$log" | sed -E 's/.* ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}')
core=$(grep -c '^test engine::core::.* ok$' "$log")
if [ "$rc" -eq 0 ] && [ "$p" -gt 0 ] && [ "$f" -eq 0 ] && [ "$core" -ge 10 ]; then
  ok "cargo test (opend, opend-proto) on $PLATFORM: $p passed, $core of them the engine core's"
else
  bad "cargo test on $PLATFORM (exit $rc, $p passed, $f failed, core $core)"; grep -E '^(test .*FAILED|error|failures)' "$log" | head -20 | sed 's/^/    | /'
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
