#!/usr/bin/env bash
# Builds target/java/ftapi.jar: the protobuf-java classes generated from crates/proto/proto/ plus
# com.futu.openapi. Needs protoc, javac and Debian's /usr/share/java/protobuf.jar.
# Usage: bindings/java/build.sh   (from any directory)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$repo/target/java"
JAVAC="${JAVAC:-javac}"
JAR="${JAR:-jar}"
PROTOBUF_JAR="${PROTOBUF_JAR:-/usr/share/java/protobuf.jar}"
"$repo/scripts/install-deps.sh" java
rm -rf "$out/gen" "$out/classes"
mkdir -p "$out/gen" "$out/classes"
protoc -I "$repo/crates/proto/proto" --java_out="$out/gen" "$repo"/crates/proto/proto/*.proto
find "$out/gen" "$here/src" -name '*.java' > "$out/sources.txt"
"$JAVAC" -nowarn --release 11 -encoding UTF-8 -cp "$PROTOBUF_JAR" -d "$out/classes" @"$out/sources.txt" 2>&1 \
  | grep -v '^Note:' || true
[ -f "$out/classes/com/futu/openapi/FTAPI_Conn.class" ] || { echo "build.sh: javac failed" >&2; exit 1; }
"$JAR" cf "$out/ftapi.jar" -C "$out/classes" .
echo "built $out/ftapi.jar"
