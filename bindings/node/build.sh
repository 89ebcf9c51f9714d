#!/usr/bin/env bash
# Builds the Node packages: the Node-API addon (this folder's crate, ftapi-node, a member of
# the main workspace outside its default members), then the main package folder
# target/node/package (JavaScript, declarations, README, the version from
# scripts/version.sh, the platform packages as optional dependencies) and one package per
# platform (target/node/platform-<target>: the stripped addon; Windows and aarch64 from
# make cross), each `npm pack`ed into target/node/: opend-<V>.tgz, opend-<target>-<V>.tgz.
# Every package carries LICENSE-MIT and LICENSE-APACHE; each platform package also the
# THIRD-PARTY-NOTICES of its addon's crates (scripts/notices.sh node-<platform>), except in
# the builds that are not shipped (the test build, FTAPI_NODE_HOST_ONLY=1).
# Prints the main tarball's path. `make node` runs it.
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

NAME=$(node -p 'require(process.argv[1]).name' "$HERE/package.json")
rm -rf "$STAGE"; mkdir -p "$STAGE/lib"
for f in index.js index.mjs index.d.ts proto.js proto.mjs proto.d.ts moomoo.js moomoo.mjs moomoo.d.ts README.md; do
  cp "$HERE/$f" "$STAGE/$f"
done
cp "$ROOT/LICENSE-MIT" "$ROOT/LICENSE-APACHE" "$STAGE/"
# The ES module entries' declarations are the same text: in a .d.mts, `export default` is
# the module's default (the class), in the .d.ts it describes CommonJS's `.default`.
for f in index proto moomoo; do cp "$HERE/$f.d.ts" "$STAGE/$f.d.mts"; done
cp "$HERE/lib/ftapi.js" "$HERE/lib/native.js" "$STAGE/lib/"

# One package per platform, napi-rs's layout: NAME-<target> holds NAME.<target>.node, with
# os / cpu (/ libc) so that npm installs only the one that fits; the main package lists
# them all as optional dependencies of the same version, and lib/native.js requires the one
# for the running platform. The test build (FTAPI_NODE_TEST_BUILD=1) and FTAPI_NODE_HOST_ONLY=1
# (the benchmarks) make linux-x64 only.
# The last field: the platform's name for scripts/notices.sh.
PLATFORMS=("linux-x64-gnu|linux|x64|glibc|$SO|strip|linux-x86_64")
SHIPPED=0
if [ ${#FEATURES[@]} -eq 0 ] && [ "${FTAPI_NODE_HOST_ONLY:-0}" != 1 ]; then
  SHIPPED=1
  X="$ROOT/target/cross/out"
  PLATFORMS+=("linux-arm64-gnu|linux|arm64|glibc|$X/linux-aarch64/opend.linux-arm64-gnu.node|-|linux-aarch64")
  PLATFORMS+=("win32-x64|win32|x64||$X/windows-x86_64/opend.win32-x64.node|-|windows-x86_64")
fi
OPTIONAL=""
for spec in "${PLATFORMS[@]}"; do
  IFS='|' read -r target os cpu libc addon strip platform <<<"$spec"
  [ -f "$addon" ] || { echo "node: $addon missing (run make cross)" >&2; exit 1; }
  P="$OUT/platform-$target"; rm -rf "$P"; mkdir -p "$P"
  install -m 755 "$addon" "$P/$NAME.$target.node"
  [ "$strip" = strip ] && strip --strip-debug "$P/$NAME.$target.node"
  cp "$ROOT/LICENSE-MIT" "$ROOT/LICENSE-APACHE" "$P/"
  notices=""
  if [ "$SHIPPED" = 1 ]; then
    "$ROOT/scripts/notices.sh" "$P/THIRD-PARTY-NOTICES" "node-$platform"
    notices=THIRD-PARTY-NOTICES
  fi
  node -e '
    const [name, version, target, os, cpu, libc, notices] = process.argv.slice(1);
    const pkg = { name: `${name}-${target}`, version,
      description: `The ${target} Node-API addon of ${name} (installed by ${name} as an optional dependency)`,
      license: "MIT OR Apache-2.0", main: `${name}.${target}.node`,
      files: [`${name}.${target}.node`, "LICENSE-MIT", "LICENSE-APACHE", ...(notices ? [notices] : [])],
      os: [os], cpu: [cpu] };
    if (libc) pkg.libc = [libc];
    pkg.engines = { node: ">=18" };
    process.stdout.write(JSON.stringify(pkg, null, 2) + "\n");' "$NAME" "$VERSION" "$target" "$os" "$cpu" "$libc" "$notices" > "$P/package.json"
  rm -f "$OUT/$NAME-$target-$VERSION.tgz"
  (cd "$OUT" && npm pack --silent --pack-destination "$OUT" "$P" >/dev/null)
  [ -f "$OUT/$NAME-$target-$VERSION.tgz" ] || { echo "node: npm pack made no $OUT/$NAME-$target-$VERSION.tgz" >&2; exit 1; }
  OPTIONAL="$OPTIONAL $NAME-$target"
done

# The one version every artifact carries, and the platform packages of that version.
node -e '
  const fs = require("fs");
  const [src, version, ...optional] = process.argv.slice(1);
  const pkg = JSON.parse(fs.readFileSync(src, "utf8"));
  pkg.version = version;
  pkg.optionalDependencies = Object.fromEntries(optional.map((n) => [n, version]));
  process.stdout.write(JSON.stringify(pkg, null, 2) + "\n");' "$HERE/package.json" "$VERSION" $OPTIONAL > "$STAGE/package.json"
grep -q "\"version\": \"$VERSION\"" "$STAGE/package.json" || { echo "node: cannot set the version in package.json" >&2; exit 1; }

rm -f "$OUT/$NAME-$VERSION.tgz"
(cd "$OUT" && npm pack --silent --pack-destination "$OUT" "$STAGE" >/dev/null)
[ -f "$OUT/$NAME-$VERSION.tgz" ] || { echo "node: npm pack made no $OUT/$NAME-$VERSION.tgz" >&2; exit 1; }
echo "$OUT/$NAME-$VERSION.tgz"
