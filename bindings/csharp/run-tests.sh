#!/usr/bin/env bash
# C# binding suite: builds the assembly, examples and NUnit tests with mcs, runs each test
# category under its own opend-sim configuration (runner mode), the fault categories again over
# OpenD's WebSocket door (ws:// and wss://, FTAPI_TEST_DOOR), runs the official sample on Mono
# (Futu and moomoo names; TCP, ws:// and wss://, a wrong key and bad CA files) and on CoreCLR,
# and ends with "N passed, N failed".
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
export FTAPI_LIB_DIR="${FTAPI_LIB_DIR:-$REPO/target/release}"
OPEND_SIM="${OPEND_SIM:-$FTAPI_LIB_DIR/opend-sim}"
OUT="$REPO/target/csharp"
VENV="$REPO/target/dotnet-venv"
export LD_LIBRARY_PATH="$FTAPI_LIB_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

"$REPO/scripts/install-deps.sh" csharp || { bad "install-deps"; finish; }
for f in "$FTAPI_LIB_DIR/libftapi.so" "$FTAPI_LIB_DIR/libFTAPIChannel.so" "$OPEND_SIM"; do
  [ -e "$f" ] || { echo "missing $f: run make build first" >&2; bad "prerequisites"; finish; }
done
NUNIT_DLL=$(ls /usr/lib/cli/nunit.framework-2.6*/nunit.framework.dll 2>/dev/null | head -1)
[ -n "$NUNIT_DLL" ] || { echo "nunit.framework.dll not found" >&2; bad "nunit"; finish; }

mkdir -p "$OUT"
cd "$OUT"
if ! { mcs -nologo -warnaserror+ -target:library -out:ftapi-csharp.dll "$HERE"/src/*.cs &&
       mcs -nologo -out:example.exe -r:ftapi-csharp.dll "$HERE/examples/GetUserSecurityGroup.cs" &&
       mcs -nologo -out:example-moomoo.exe -r:ftapi-csharp.dll "$HERE/examples/MoomooGetUserSecurityGroup.cs" &&
       mcs -nologo -out:exit-without-dispose.exe -r:ftapi-csharp.dll "$HERE/tests/ExitWithoutDispose.cs" &&
       mcs -nologo -unsafe -out:channel-pinvoke.exe "$HERE/tests/ChannelPInvoke.cs" &&
       mcs -nologo -target:library -out:ftapi-tests.dll -r:ftapi-csharp.dll -r:"$NUNIT_DLL" -r:System.Core \
           "$HERE/tests/Tests.cs" "$HERE/tests/Features.cs" "$HERE/tests/CloseDuringConnect.cs" \
           "$HERE/tests/Constants.cs" "$HERE/tests/WebSocket.cs" "$HERE/tests/Platform.cs"; }; then
  bad "build"; finish
fi

# NUnit, one simulator per configuration; results counted from each run's XML.
run_nunit() {
  local name="$1"; shift   # remaining: simulator flags, then "--" and nunit filter
  local xml="$OUT/nunit-$name.xml"; rm -f "$xml"
  local sim=() nun=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do sim+=("$1"); shift; done; shift
  nun=("$@")
  if [ ${#sim[@]} -gt 0 ] && [ "${sim[0]}" = "nosim" ]; then
    timeout 120 nunit-console -nologo -labels "${nun[@]}" -xml="$xml" ftapi-tests.dll > "$OUT/nunit-$name.log" 2>&1
  else
    timeout 120 "$OPEND_SIM" --port 0 "${sim[@]}" -- nunit-console -nologo -labels "${nun[@]}" -xml="$xml" ftapi-tests.dll \
      > "$OUT/nunit-$name.log" 2>&1
  fi
  local rc=$?
  if [ ! -s "$xml" ]; then
    cat "$OUT/nunit-$name.log"; bad "nunit $name (no result XML, exit $rc)"; return
  fi
  local p f
  p=$(grep -o '<test-case [^>]*executed="True"[^>]*success="True"' "$xml" | wc -l)
  f=$(grep -o '<test-case [^>]*executed="True"[^>]*success="False"' "$xml" | wc -l)
  local door=""; [ -n "${FTAPI_TEST_DOOR:-}" ] && door="[$FTAPI_TEST_DOOR] "
  grep -o '<test-case name="[^"]*"[^>]*success="[A-Za-z]*"' "$xml" |
    sed -E "s/<test-case name=\"Ftapi\\.Tests\\.([^\"]*)\".*success=\"(True|False)\"/\\2 $door\\1/; s/^True/PASS/; s/^False/FAIL/"
  pass=$((pass + p)); fail=$((fail + f))
  if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
    sed -n '/Errors and Failures:/,$p' "$OUT/nunit-$name.log" | head -60
    [ "$f" -eq 0 ] && bad "nunit $name (exit $rc)"
  fi
}

# The constants test (tests/Constants.cs, in the codec run) reads the header; the platform test
# (tests/Platform.cs, codec run too) finds packaging/csharp/ from it.
export FTAPI_HEADER="$REPO/include/ftapi.h"
run_nunit codec  nosim -- -exclude=happy,withhold,closeafter,reject,features,push,closeconnect,websocket
run_nunit happy  --groups "$HERE/tests/groups.json" --rate-limit off -- -include=happy
run_nunit withhold --withhold 3222 --rate-limit off -- -include=withhold
run_nunit closeafter --close-after 3222 --rate-limit off -- -include=closeafter
run_nunit reject --reject-init "维护中 🛠" -- -include=reject
run_nunit push --notify-on 3222 --rate-limit off -- -include=push
# The push as received when OpenD's Notify carries no retMsg / errCode.
FTAPI_TEST_OMIT_RET_FIELDS=1 run_nunit push-bare --notify-on 3222 --rate-limit off --omit-ret-fields -- -include=push
# Limiter, auto-reconnect across a simulator restart, state and log callbacks: each test starts
# (and restarts) its own simulator from $OPEND_SIM; the log test connects encrypted with this key.
KEY="$OUT/key.pem"
[ -s "$KEY" ] || openssl genrsa -traditional -out "$KEY" 1024 2>/dev/null
export OPEND_SIM FTAPI_TEST_KEY="$KEY"
run_nunit features nosim -- -include=features
# Close / Dispose during a TCP connect never answered (a full accept queue the test makes):
# back at once, OnInitConnect with the user's close, nothing after (tests/CloseDuringConnect.cs).
run_nunit closeconnect nosim -- -include=closeconnect

# OpenD's WebSocket door. Certificates for wss:// (a CA and a server certificate it signs for
# 127.0.0.1), made here by tests/c/make-test-certs.sh.
CERTS="$OUT/certs"
if "$REPO/tests/c/make-test-certs.sh" "$CERTS"; then
  export FTAPI_TEST_CA="$CERTS/ca.pem" FTAPI_TEST_TLS_CERT="$CERTS/server.pem" FTAPI_TEST_TLS_KEY="$CERTS/server.key"
  WSKEY="cs suite key ✓"
  export FTAPI_TEST_WS_KEY="$WSKEY"
  # InitConnectWebSocket, SetTlsCaFile, a wrong key, TLS failures, states / log / auto-reconnect
  # (tests/WebSocket.cs; each test starts its own simulator).
  run_nunit websocket nosim -- -include=websocket
  # The TCP categories again through H.Connect over ws:// and wss:// (FTAPI_TEST_DOOR): request
  # timeout and close with requests pending (withhold), OpenD closing (closeafter), replies, GC and
  # exceptions in callbacks (happy), pushes (push).
  for door in ws wss; do
    tls=(); [ "$door" = wss ] && tls=(--ws-tls-cert "$FTAPI_TEST_TLS_CERT" --ws-tls-key "$FTAPI_TEST_TLS_KEY")
    ws=(--ws-port 0 --ws-key "$WSKEY" "${tls[@]}")
    FTAPI_TEST_DOOR=$door run_nunit "$door-happy" "${ws[@]}" --groups "$HERE/tests/groups.json" --rate-limit off -- -include=happy
    FTAPI_TEST_DOOR=$door run_nunit "$door-withhold" "${ws[@]}" --withhold 3222 --rate-limit off -- -include=withhold
    FTAPI_TEST_DOOR=$door run_nunit "$door-closeafter" "${ws[@]}" --close-after 3222 --rate-limit off -- -include=closeafter
    FTAPI_TEST_DOOR=$door run_nunit "$door-push" "${ws[@]}" --notify-on 3222 --rate-limit off -- -include=push
  done
else
  bad "test certificates (tests/c/make-test-certs.sh)"
fi

# The official sample (only the using lines changed) on Mono, default English watchlist.
check_example() {
  local name="$1" expect="$2"; shift 2
  local log; log=$(timeout 60 "$@" 2>&1); local rc=$?
  if [ $rc -eq 0 ] && grep -qF "$expect" <<<"$log" && grep -q '^Send QotGetUserSecurityGroup: 2$' <<<"$log" &&
     grep -q '^Reply: QotGetUserSecurityGroup: 2$' <<<"$log" && grep -q '^Qot onDisConnect: 0$' <<<"$log"; then
    ok "$name"
  else
    echo "$log"; bad "$name (exit $rc)"
  fi
}
check_example "example on Mono" "groupName: All, groupType: 2" "$OPEND_SIM" --port 0 -- mono example.exe '{port}'
check_example "moomoo example on Mono (zh)" "groupName: 全部, groupType: 2" "$OPEND_SIM" --port 0 --lang zh -- mono example-moomoo.exe '{port}'

# The same sample through OpenD's WebSocket door (--ws KEY / --wss KEY --ca CAFILE).
if [ -n "${FTAPI_TEST_CA:-}" ]; then
  TLS=(--ws-tls-cert "$FTAPI_TEST_TLS_CERT" --ws-tls-key "$FTAPI_TEST_TLS_KEY")
  check_example "example over ws:// on Mono" "groupName: All, groupType: 2" \
    "$OPEND_SIM" --port 0 --ws-port 0 --ws-key "$WSKEY" -- mono example.exe --ws "$WSKEY" '{ws_port}'
  check_example "example over wss:// on Mono" "groupName: All, groupType: 2" \
    "$OPEND_SIM" --port 0 --ws-port 0 --ws-key "$WSKEY" "${TLS[@]}" -- mono example.exe --wss "$WSKEY" --ca "$FTAPI_TEST_CA" '{ws_port}'
  check_example "moomoo example over wss:// on Mono (zh)" "groupName: 全部, groupType: 2" \
    "$OPEND_SIM" --port 0 --ws-port 0 --ws-key "$WSKEY" "${TLS[@]}" --lang zh -- mono example-moomoo.exe --wss "$WSKEY" --ca "$FTAPI_TEST_CA" '{ws_port}'
  # Failures: the sample exits non-zero within seconds (a hang is killed after 60 s and fails),
  # sends nothing, and prints the outcome: a wrong key is OpenD's refusal (100 << 32 | 5); an
  # untrusted certificate a connect failure (6 << 32); a missing or certificate-less CA file
  # FTAPI_ERR_BAD_CA_FILE (15) from SetTlsCaFile.
  check_example_fails() { # name expect command...
    local name="$1" expect="$2"; shift 2
    local t0=$SECONDS log; log=$(timeout 60 "$@" 2>&1); local rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -qF -- "$expect" <<<"$log" && ! grep -q '^Reply:' <<<"$log" &&
       [ $((SECONDS - t0)) -lt 30 ]; then
      ok "$name"
    else
      echo "$log"; bad "$name (exit $rc after $((SECONDS - t0)) s)"
    fi
  }
  check_example_fails "example over ws:// with a wrong key: refused" "Qot onInitConnect: ret=429496729605 desc=OpenD refused the WebSocket login" \
    "$OPEND_SIM" --port 0 --ws-port 0 --ws-key "$WSKEY" -- mono example.exe --ws "wrong key" '{ws_port}'
  check_example_fails "example over wss:// with a wrong key: refused" "Qot onInitConnect: ret=429496729605 desc=OpenD refused the WebSocket login" \
    "$OPEND_SIM" --port 0 --ws-port 0 --ws-key "$WSKEY" "${TLS[@]}" -- mono example.exe --wss "wrong key" --ca "$FTAPI_TEST_CA" '{ws_port}'
  check_example_fails "example over wss:// without the CA: certificate refused" "Qot onInitConnect: ret=25769803776 desc=TLS handshake" \
    "$OPEND_SIM" --port 0 --ws-port 0 --ws-key "$WSKEY" "${TLS[@]}" -- mono example.exe --wss "$WSKEY" '{ws_port}'
  check_example_fails "example over wss:// with a missing CA file" "SetTlsCaFile failed: LastResult=15" \
    "$OPEND_SIM" --port 0 --ws-port 0 --ws-key "$WSKEY" "${TLS[@]}" -- mono example.exe --wss "$WSKEY" --ca "$OUT/no-such-ca.pem" '{ws_port}'
  check_example_fails "example over wss:// with a CA file holding no certificate" "SetTlsCaFile failed: LastResult=15" \
    "$OPEND_SIM" --port 0 --ws-port 0 --ws-key "$WSKEY" "${TLS[@]}" -- mono example.exe --wss "$WSKEY" --ca "$FTAPI_TEST_TLS_KEY" '{ws_port}'
fi

# Returning from Main without Dispose: the process exits by itself (a hang is killed after
# 20 s and fails), and the connection is closed on the way out (OnDisconnect(0) after Main).
check_exit() {
  local name="$1"; shift
  local t0=$SECONDS log; log=$("$OPEND_SIM" --port 0 -- timeout -s KILL 20 "$@" 2>&1); local rc=$?
  if [ $rc -eq 0 ] && grep -q '^groups: 12$' <<<"$log" &&
     [ "$(grep -A5 '^main returns$' <<<"$log" | grep -c '^OnDisconnect: 0$')" = 1 ] && [ $((SECONDS - t0)) -lt 15 ]; then
    ok "$name"
  else
    echo "$log"; bad "$name (exit $rc after $((SECONDS - t0)) s)"
  fi
}
check_exit "exit without Dispose on Mono" mono exit-without-dispose.exe '{port}'

# The official native channel through P/Invoke ([DllImport("FTAPIChannel")], the official
# delegate shapes; tests/ChannelPInvoke.cs uses nothing of this binding): libFTAPIChannel.so
# from LD_LIBRARY_PATH on Mono gives the watchlist, -100 after 12 s, -200 when OpenD closes
# (OnDisConnect 11 << 32) and on ReleaseFTAPIChannel with requests pending.
check_channel() { # name expect-lines... -- sim flags
  local name="$1"; shift
  local -a want=() flags=()
  while [ "$1" != "--" ]; do want+=("$1"); shift; done; shift
  flags=("$@")
  local log; log=$(timeout 60 "$OPEND_SIM" --port 0 "${flags[@]}" -- mono channel-pinvoke.exe "$name" '{port}' 2>&1); local rc=$?
  local w miss=""
  for w in "${want[@]}"; do grep -qxF -- "$w" <<<"$log" || miss="$miss [$w]"; done
  if [ $rc -eq 0 ] && [ -z "$miss" ]; then ok "FTAPIChannel P/Invoke on Mono: $name"
  else echo "$log"; bad "FTAPIChannel P/Invoke on Mono: $name (exit $rc, missing$miss)"; fi
}
check_channel watchlist "init 0" $'All\tSYSTEM' $'US options\tSYSTEM' $'C\tCUSTOM' "disconnect 0" -- --rate-limit off
check_channel timeout "reply -100 proto 3222 serial 2 len 0 null reqlen 4 flag FT" "disconnect 0" -- --withhold 3222
check_channel disconnect "reply -200 proto 3222 serial 2 len 0 null reqlen 4 flag FT" "disconnect high 11" -- --close-after 3222
check_channel release "reply -200 proto 3222 serial 6 len 0 null reqlen 4 flag FT" "after release: 5 replies, 1 disconnects" -- --withhold 3222

# The same example on CoreCLR (.NET Core 3.1 runtime from PyPI dotnetcore2, own venv).
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV" >/dev/null; fi
DOTNET=$(ls "$VENV"/lib/python3*/site-packages/dotnetcore2/bin/dotnet 2>/dev/null | head -1)
if [ -z "$DOTNET" ]; then
  "$VENV/bin/pip" install -q dotnetcore2 >&2
  DOTNET=$(ls "$VENV"/lib/python3*/site-packages/dotnetcore2/bin/dotnet 2>/dev/null | head -1)
fi
if [ -z "$DOTNET" ]; then
  bad "example on CoreCLR (no dotnet runtime)"
else
  FW=$(ls "$(dirname "$DOTNET")/shared/Microsoft.NETCore.App" | sort -V | tail -1)
  printf '{"runtimeOptions":{"tfm":"netcoreapp3.1","framework":{"name":"Microsoft.NETCore.App","version":"%s"}}}\n' "$FW" > rc.json
  check_example "example on CoreCLR" "groupName: All, groupType: 2" "$OPEND_SIM" --port 0 -- "$DOTNET" exec --runtimeconfig rc.json example.exe '{port}'
  if [ -n "${FTAPI_TEST_CA:-}" ]; then
    check_example "example over wss:// on CoreCLR" "groupName: All, groupType: 2" \
      "$OPEND_SIM" --port 0 --ws-port 0 --ws-key "$WSKEY" "${TLS[@]}" -- "$DOTNET" exec --runtimeconfig rc.json example.exe --wss "$WSKEY" --ca "$FTAPI_TEST_CA" '{ws_port}'
  fi
  check_exit "exit without Dispose on CoreCLR" "$DOTNET" exec --runtimeconfig rc.json exit-without-dispose.exe '{port}'
fi

finish
