#!/usr/bin/env bash
# Builds the Node package: the Node-API addon (this folder's crate, ftapi-node, a member of
# the main workspace outside its default members), then the package folder
# target/node/package (JavaScript, declarations, README, the stripped addon as
# ftapi.linux-x64-gnu.node, the version from scripts/version.sh), then `npm pack` into
# target/node/ftapi-<V>.tgz. Prints the tarball's path. `make node` runs it.
#
# The Node suite's build (bindings/node/run-tests.sh) sets FTAPI_NODE_TEST_BUILD=1: the
# addon then has the cargo feature `test-panic` (injected panics, `testPanic(point)`) and
# the package goes to target/node-test/build instead, so the shipped tarball never has it
# (checked below: a shipped addon naming testPanic is refused).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
FEATURES=()
if [ "${FTAPI_NODE_TEST_BUILD:-0}" = 1 ]; then
  OUT="$ROOT/target/node-test/build"
  FEATURES=(--features test-panic)
else
  OUT="$ROOT/target/node"
fi
STAGE="$OUT/package"
VERSION="$("$ROOT/scripts/version.sh")"
(cd "$ROOT" && cargo build --release --quiet -p ftapi-node "${FEATURES[@]}") >&2
SO="${CARGO_TARGET_DIR:-$ROOT/target}/release/libftapi_node.so"
[ -f "$SO" ] || { echo "node: $SO missing after the build" >&2; exit 1; }
if [ ${#FEATURES[@]} -eq 0 ] && grep -q testPanic "$SO"; then
  echo "node: $SO has the test build's testPanic export; not packing it" >&2; exit 1
fi

rm -rf "$STAGE"; mkdir -p "$STAGE/lib"
for f in index.js index.mjs index.d.ts proto.js proto.mjs proto.d.ts moomoo.js moomoo.mjs moomoo.d.ts README.md; do
  cp "$HERE/$f" "$STAGE/$f"
done
# The ES module entries' declarations are the same text: in a .d.mts, `export default` is
# the module's default (the class), in the .d.ts it describes CommonJS's `.default`.
for f in index proto moomoo; do cp "$HERE/$f.d.ts" "$STAGE/$f.d.mts"; done
cp "$HERE/lib/ftapi.js" "$HERE/lib/native.js" "$STAGE/lib/"
install -m 755 "$SO" "$STAGE/ftapi.linux-x64-gnu.node"
strip --strip-debug "$STAGE/ftapi.linux-x64-gnu.node"
# The one version every artifact carries.
sed -E "s/^  \"version\": \"[^\"]*\"/  \"version\": \"$VERSION\"/" "$HERE/package.json" > "$STAGE/package.json"
grep -q "\"version\": \"$VERSION\"" "$STAGE/package.json" || { echo "node: cannot set the version in package.json" >&2; exit 1; }

rm -f "$OUT/ftapi-$VERSION.tgz"
(cd "$OUT" && npm pack --silent --pack-destination "$OUT" "$STAGE" >/dev/null)
[ -f "$OUT/ftapi-$VERSION.tgz" ] || { echo "node: npm pack made no $OUT/ftapi-$VERSION.tgz" >&2; exit 1; }
echo "$OUT/ftapi-$VERSION.tgz"
