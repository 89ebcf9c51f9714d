#!/usr/bin/env bash
# The Java binding's test suite: builds target/java/ftapi.jar and the JUnit 4 tests, runs
# each test class against its own opend-sim (runner mode) under -Xcheck:jni, on JDK 17 and,
# if present, on Temurin 25; some classes run again through OpenD's WebSocket door (ws:// and
# wss://, with certificates made by tests/c/make-test-certs.sh in target/java/pki).
# Last line: "N passed, N failed". Assumes `make build` ran.
# Many requests per test: the client-side rate limiter (10 per 30 s for 3222 by default)
# starts off here unless the caller says otherwise; its own tests set it explicitly.
export FTAPI_RATE_LIMIT="${FTAPI_RATE_LIMIT:-off}"
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
FTAPI_LIB_DIR="${FTAPI_LIB_DIR:-$repo/target/release}"
OPEND_SIM="${OPEND_SIM:-$FTAPI_LIB_DIR/opend-sim}"
out="$repo/target/java"
logs="$out/test-logs"

for f in /usr/share/java/protobuf.jar /usr/share/java/protobuf-util.jar /usr/share/java/junit4.jar /usr/share/java/gson.jar \
         /usr/share/java/guava.jar; do
  [ -f "$f" ] || { "$repo/scripts/install-deps.sh" java || exit 1; break; }
done
for f in "$FTAPI_LIB_DIR/libftapi.so" "$OPEND_SIM"; do
  [ -e "$f" ] || { echo "missing $f: run make build first"; echo "0 passed, 1 failed"; exit 1; }
done
# libftapi.so carries the JNI exports (ftapi-c's default feature `java`); the tests load a
# private copy, so a build running beside them cannot swap the library under the JVM.
has_jni() { local syms; syms=$(nm -D "$1" 2>/dev/null) && [[ "$syms" == *Java_com_futu_openapi_NativeLib_liveHandles* ]]; }
native="$out/native"; mkdir -p "$native"
cp "$FTAPI_LIB_DIR/libftapi.so" "$native/libftapi.so.tmp" && mv "$native/libftapi.so.tmp" "$native/libftapi.so"
if ! has_jni "$native/libftapi.so"; then
  echo "libftapi.so has no JNI exports (built with --no-default-features? make build)"; echo "0 passed, 1 failed"; exit 1
fi

"$here/build.sh" >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
J=/usr/share/java
CP="$out/ftapi.jar:$J/protobuf.jar:$J/protobuf-util.jar:$J/gson.jar:$J/guava.jar:$J/junit4.jar:$J/hamcrest-core.jar"
rm -rf "$out/test-classes" "$logs"; mkdir -p "$out/test-classes" "$logs"
if ! javac -nowarn -encoding UTF-8 -cp "$CP" -d "$out/test-classes" "$here"/test/com/futu/openapi/*.java "$here/examples/QotDemo.java" "$here/test/ExitWithoutClose.java"; then
  echo "0 passed, 1 failed"; exit 1
fi
CP="$out/test-classes:$CP"
# The official sample, verbatim but for the port, in its own class directory (its class is
# QotDemo too).
official="$out/official-sample"; rm -rf "$official"; mkdir -p "$official/src"
sed 's/(short)11111/(short)Integer.parseInt(System.getenv("OPEND_SIM_PORT"))/' \
  "$here/test/official_sample/QotDemo.java" >"$official/src/QotDemo.java"
if ! grep -q 'OPEND_SIM_PORT' "$official/src/QotDemo.java" \
   || ! javac -nowarn -encoding UTF-8 -cp "$out/ftapi.jar:$J/protobuf.jar:$J/protobuf-util.jar" -d "$official" "$official/src/QotDemo.java"; then
  echo "the official sample does not build"; echo "0 passed, 1 failed"; exit 1
fi
OFFICIAL_CP="$official:$out/ftapi.jar:$J/protobuf.jar:$J/protobuf-util.jar:$J/gson.jar:$J/guava.jar"

jdks=("/usr/lib/jvm/java-17-openjdk-amd64")
[ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ] && jdks+=("/usr/lib/jvm/temurin-25-jdk-amd64")

passed=0; failed=0
# OpenD's WebSocket door: a key for the runner-mode simulators' ws:// / wss:// door, and a CA
# with a certificate it signs for 127.0.0.1 (made here with openssl, kept for a day).
PKI="$out/pki"
if ! "$repo/tests/c/make-test-certs.sh" "$PKI"; then echo "cannot make the test certificates"; echo "0 passed, 1 failed"; exit 1; fi
export FTAPI_TEST_PKI="$PKI"
export FTAPI_TEST_WS_KEY="java-suite-key-7522027ccf5a06b1"
WS="--ws-port 0 --ws-key $FTAPI_TEST_WS_KEY"
WSS="$WS --ws-tls-cert $PKI/server.pem --ws-tls-key $PKI/server.key"
# ConstantsTest compares Java's constants with the C header.
export FTAPI_TEST_HEADER="$repo/include/ftapi.h"
# class[@door]|sim flags. @ws / @wss runs the class again with Recorder.connect going through
# the WebSocket door (FTAPI_TEST_DOOR); the simulator serves both doors.
suites=(
  "HappyPathTest|--groups $here/test/unicode-groups.json --rate-limit off"
  "TimeoutTest|--withhold 3222 --rate-limit off"
  "DisconnectTest|--close-after 3222"
  "LimiterTest|--rate-limit off"
  "FeaturesTest|--rate-limit off"
  "RawAndPushTest|--notify-on 3222 --rate-limit off"
  # Makes its own never-answering listener; the simulator is not used.
  "CloseDuringConnectTest|--rate-limit off"
  "ConstantsTest|--rate-limit off"
  # The jar's platform folders for os.name / os.arch (FTAPI.platformFolder); no connection.
  "PlatformTest|--rate-limit off"
  # initConnectWebSocket / setTlsCaFile; starts its own wss:// and restarting simulators.
  "WebSocketTest|--groups $here/test/unicode-groups.json --rate-limit off $WS"
  "HappyPathTest@ws|--groups $here/test/unicode-groups.json --rate-limit off $WS"
  "HappyPathTest@wss|--groups $here/test/unicode-groups.json --rate-limit off $WSS"
  "TimeoutTest@ws|--withhold 3222 --rate-limit off $WS"
  "TimeoutTest@wss|--withhold 3222 --rate-limit off $WSS"
  "DisconnectTest@ws|--close-after 3222 $WS"
  "DisconnectTest@wss|--close-after 3222 $WSS"
  "RawAndPushTest@ws|--notify-on 3222 --rate-limit off $WS"
)
# FeaturesTest starts its own simulators (restarts on the same port) and an encrypted one.
export OPEND_SIM
KEY="$out/key.pem"
[ -s "$KEY" ] || openssl genrsa -traditional -out "$KEY" 1024 2>/dev/null
export FTAPI_TEST_KEY="$KEY"
for jdk in "${jdks[@]}"; do
  java="$jdk/bin/java"
  [ -x "$java" ] || continue
  ver=$("$java" -version 2>&1 | head -1 | sed -E 's/.*"([0-9]+).*/\1/')
  jflags=(-Xcheck:jni -Dfile.encoding=UTF-8 -Djava.library.path="$native")
  [ "$ver" -ge 17 ] && [ "$ver" != 17 ] && jflags+=(--enable-native-access=ALL-UNNAMED)
  for s in "${suites[@]}"; do
    cls="${s%%|*}"; flags="${s#*|}"; door=tcp; name="$cls"; suffix=""
    if [[ "$cls" == *@* ]]; then door="${cls#*@}"; cls="${cls%@*}"; name="$cls over $door"; suffix="-$door"; fi
    log="$logs/jdk$ver-$cls$suffix.log"
    # shellcheck disable=SC2086
    FTAPI_TEST_DOOR="$door" timeout 120 "$OPEND_SIM" --port 0 $flags -- "$java" "${jflags[@]}" -cp "$CP" \
      org.junit.runner.JUnitCore "com.futu.openapi.$cls" >"$log" 2>&1
    rc=$?
    n=0; f=0
    if line=$(grep -E '^OK \([0-9]+ tests?\)' "$log" | tail -1) && [ -n "$line" ]; then
      n=$(echo "$line" | grep -oE '[0-9]+' | head -1)
    elif line=$(grep -E '^Tests run: [0-9]+, +Failures: [0-9]+' "$log" | tail -1) && [ -n "$line" ]; then
      n=$(echo "$line" | sed -E 's/Tests run: ([0-9]+).*/\1/'); f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
      n=$((n - f))
    else
      f=1
    fi
    if [ "$f" -eq 0 ] && [ "$rc" -ne 0 ]; then f=1; fi
    if grep -qE 'WARNING in native method|FATAL ERROR in native method' "$log"; then
      echo "jdk$ver $name: -Xcheck:jni reported problems:"; grep -E 'in native method' "$log" | sort | uniq -c | head
      f=$((f + 1))
    fi
    echo "jdk$ver $name: $n passed, $f failed (log $log)"
    [ "$f" -gt 0 ] && sed -n '1,80p' "$log"
    passed=$((passed + n)); failed=$((failed + f))
  done
  # The official sample, imports changed, against the default watchlist.
  log="$logs/jdk$ver-QotDemo.log"
  timeout 60 "$OPEND_SIM" --port 0 -- "$java" "${jflags[@]}" -cp "$CP" QotDemo '{port}' >"$log" 2>&1
  rc=$?
  if [ $rc -eq 0 ] && grep -q '"groupName": "US options"' "$log" && grep -q 'Send QotGetUserSecurityGroup: 2' "$log" \
     && ! grep -q 'in native method' "$log"; then
    passed=$((passed + 1)); echo "jdk$ver QotDemo: passed"
  else
    failed=$((failed + 1)); echo "jdk$ver QotDemo: FAILED (rc $rc)"; cat "$log"
  fi
  # The official sample verbatim (it never exits; run-sample.sh stops it), the port its only
  # edit: what it prints, from "Send" to the end of the JSON (after it, the SIGTERM that
  # stops it closes the connection: "Qot onDisConnect: 0"), is exactly what the doc's
  # Output shows (retType, retMsg "", errCode 0, s2c in that order), with the simulator's
  # watchlist. Against --omit-ret-fields the binding must not invent the two fields.
  for mode in opend bare; do
    log="$logs/jdk$ver-official-sample-$mode.log"
    simflags=(--port 0); want="$out/official-expected-$mode.txt"
    if [ "$mode" = bare ]; then
      simflags+=(--omit-ret-fields); grep -vE '^  "(retMsg|errCode)": ' "$here/test/official_sample/expected-output.txt" >"$want"
    else cp "$here/test/official_sample/expected-output.txt" "$want"; fi
    timeout 60 "$OPEND_SIM" "${simflags[@]}" -- "$here/test/official_sample/run-sample.sh" "$log" \
      "$java" "${jflags[@]}" -cp "$OFFICIAL_CP" QotDemo >/dev/null 2>&1
    rc=$?
    if [ $rc -eq 0 ] && grep -qE '^Qot onInitConnect: ret=true desc= connID=[0-9]+$' "$log" \
       && grep -v '^Qot onInitConnect: ' "$log" | sed '/^}$/q' | diff -u "$want" - && ! grep -q 'in native method' "$log" "$log.err"; then
      passed=$((passed + 1)); echo "jdk$ver official sample ($mode): passed"
    else
      failed=$((failed + 1)); echo "jdk$ver official sample ($mode): FAILED (rc $rc)"; cat "$log" "$log.err"
    fi
  done
  # Returning from main without close(): the JVM exits by itself (a hang is killed).
  log="$logs/jdk$ver-ExitWithoutClose.log"
  t0=$SECONDS
  "$OPEND_SIM" --port 0 -- timeout -s KILL 20 "$java" "${jflags[@]}" -cp "$CP" ExitWithoutClose '{port}' >"$log" 2>&1
  rc=$?
  if [ $rc -eq 0 ] && grep -q '^groups: 12$' "$log" && grep -q '^main returns$' "$log" && [ $((SECONDS - t0)) -lt 15 ] \
     && grep -q '^disconnect at exit: 0$' "$log" \
     && ! grep -q 'in native method' "$log"; then
    passed=$((passed + 1)); echo "jdk$ver ExitWithoutClose: passed"
  else
    failed=$((failed + 1)); echo "jdk$ver ExitWithoutClose: FAILED (rc $rc after $((SECONDS - t0)) s)"; cat "$log"
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
