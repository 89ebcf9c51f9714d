#!/usr/bin/env bash
# Builds the Node package: the Node-API addon (this folder's crate, ftapi-node, a member of
# the main workspace outside its default members), then the package folder
# target/node/package (JavaScript, declarations, README, the stripped addon as
# ftapi.linux-x64-gnu.node, the version from scripts/version.sh), then `npm pack` into
# target/node/ftapi-<V>.tgz. Prints the tarball's path. `make node` runs it.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/target/node"
STAGE="$OUT/package"
VERSION="$("$ROOT/scripts/version.sh")"
(cd "$ROOT" && cargo build --release --quiet -p ftapi-node) >&2
SO="${CARGO_TARGET_DIR:-$ROOT/target}/release/libftapi_node.so"
[ -f "$SO" ] || { echo "node: $SO missing after the build" >&2; exit 1; }

rm -rf "$STAGE"; mkdir -p "$STAGE/lib"
for f in index.js index.mjs index.d.ts proto.js proto.mjs proto.d.ts moomoo.js moomoo.mjs moomoo.d.ts README.md; do
  cp "$HERE/$f" "$STAGE/$f"
done
# The ES module entries' declarations are the same text: in a .d.mts, `export default` is
# the module's default (the class), in the .d.ts it describes CommonJS's `.default`.
for f in index proto moomoo; do cp "$HERE/$f.d.ts" "$STAGE/$f.d.mts"; done
cp "$HERE/lib/ftapi.js" "$STAGE/lib/"
install -m 755 "$SO" "$STAGE/ftapi.linux-x64-gnu.node"
strip --strip-debug "$STAGE/ftapi.linux-x64-gnu.node"
# The one version every artifact carries.
sed -E "s/^  \"version\": \"[^\"]*\"/  \"version\": \"$VERSION\"/" "$HERE/package.json" > "$STAGE/package.json"
grep -q "\"version\": \"$VERSION\"" "$STAGE/package.json" || { echo "node: cannot set the version in package.json" >&2; exit 1; }

rm -f "$OUT/ftapi-$VERSION.tgz"
(cd "$OUT" && npm pack --silent --pack-destination "$OUT" "$STAGE" >/dev/null)
[ -f "$OUT/ftapi-$VERSION.tgz" ] || { echo "node: npm pack made no $OUT/ftapi-$VERSION.tgz" >&2; exit 1; }
echo "$OUT/ftapi-$VERSION.tgz"
