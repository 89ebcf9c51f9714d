#!/usr/bin/env bash
# `make bench`: builds the C bench programs into target/bench/ (and the Node package) and runs bench/bench.py
# against opend-sim (rate limit off). Assumes `make examples` ran (the Makefile target
# depends on it). Prints a table; writes target/bench/results.json.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export FTAPI_LIB_DIR="${FTAPI_LIB_DIR:-$ROOT/target/release}"
export OPEND_SIM="${OPEND_SIM:-$FTAPI_LIB_DIR/opend-sim}"
OUT="${BENCH_OUT:-$ROOT/target/bench}"
export BENCH_OUT="$OUT"
mkdir -p "$OUT"

[[ -x "$OPEND_SIM" ]] || { echo "bench: $OPEND_SIM missing: run make build" >&2; exit 1; }
[[ -x "$ROOT/target/c/get_user_security_group" ]] || { echo "bench: C example missing: run make examples" >&2; exit 1; }

gcc -O2 -g -Wall -Wextra -Werror -std=c11 -I"$ROOT/include" "$ROOT/bench/bench.c" \
    -o "$OUT/bench" -L"$FTAPI_LIB_DIR" -lftapi -lpthread -Wl,-rpath,"$FTAPI_LIB_DIR"

# The official Python SDK (futu-api) in <repo>/.venv.
"$ROOT/scripts/ensure-venv.sh"

# The Node package (target/node/opend-V.tgz and this machine's opend-linux-x64-gnu-V.tgz, as
# `make node` builds them) and the official npm futu-api with ws (target/node-cache/deps),
# for the Node comparison.
export BENCH_NODE_TGZ="$(FTAPI_NODE_HOST_ONLY=1 "$ROOT/bindings/node/build.sh")"
export BENCH_NODE_DEPS="$("$ROOT/bindings/node/ensure-deps.sh")"

exec python3 "$ROOT/bench/bench.py"
