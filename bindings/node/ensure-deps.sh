#!/usr/bin/env bash
# Installs, once, the npm packages the Node suite and the benchmark use besides ftapi itself
# into target/node-cache/deps (js-beautify: the doc sample imports it; ws and the official
# futu-api 10.11.7108: the interop test and the comparison benchmark; typescript: the check
# of the package's declarations), then prints the folder
# whose node_modules holds them. Offline after the first run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DEPS="$ROOT/target/node-cache/deps"
OFFICIAL_VERSION=10.11.7108
have() { [ -f "$DEPS/node_modules/$1/package.json" ]; }
if ! have js-beautify || ! have ws || ! have typescript || ! have @types/node ||
   [ "$(node -p "require('$DEPS/node_modules/futu-api/package.json').version" 2>/dev/null)" != "$OFFICIAL_VERSION" ]; then
  echo "node: installing js-beautify, ws, typescript and futu-api@$OFFICIAL_VERSION into $DEPS (once)" >&2
  mkdir -p "$DEPS"
  (cd "$DEPS" && echo '{"private":true}' > package.json &&
     npm install --silent --no-audit --no-fund js-beautify@1 ws@8 typescript@5 @types/node@20 "futu-api@$OFFICIAL_VERSION" >&2)
fi
echo "$DEPS"
