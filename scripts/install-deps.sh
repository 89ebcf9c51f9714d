#!/usr/bin/env bash
# Installs the Debian packages the build and the test suites need, when missing.
# Usage: scripts/install-deps.sh   (idempotent; quick when everything is there)
set -euo pipefail
need=()
# Java: Debian's libprotobuf-java also ships protobuf-java-util (protobuf-util.jar, whose
# JsonFormat the official Java sample prints with); JsonFormat needs gson and guava at run
# time, which that package does not pull in.
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in gcc g++ make pkg-config valgrind protobuf-compiler libprotobuf-dev \
         mono-mcs mono-runtime nunit-console libnunit-cil-dev \
         libprotobuf-java junit4 python3-venv libgoogle-gson-java libguava-java openssl \
         cmake nuget unzip; do
  have "$p" || need+=("$p")
done
# The Node package and its suite: the machine's Node.js and npm, or Debian's when there are none.
command -v node >/dev/null && command -v npm >/dev/null || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: installing ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
