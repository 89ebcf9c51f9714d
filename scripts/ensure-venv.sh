#!/usr/bin/env bash
# Make sure <repo>/.venv exists and can `import futu` (the official futu-api Python SDK),
# which the interop tests use as an independent oracle (tests/crypto_vectors.rs,
# tests/interop_official.rs). Idempotent: when the venv already imports futu it exits
# at once. Everything it says goes to stderr.
#
# futu-api is not pinned: 10.11.x works with protobuf 7.x for protobuf-format replies
# (docs/PROTOCOL.md §9); only its JSON path is broken with protobuf 7, and nothing here
# uses JSON. Set FUTU_API_SPEC (e.g. "futu-api==10.11.7108") to pin a version by hand.
set -euo pipefail

say() { echo "ensure-venv: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${FTAPI_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
SPEC="${FUTU_API_SPEC:-futu-api}"
MARKER="$VENV/.ftapi-futu-ok"

# futu's import writes a log directory under $HOME (~/.com.futunn.FutuOpenD/Log);
# point HOME at a scratch dir for the check so a probe leaves nothing behind.
probe() {
    local home
    home="$(mktemp -d)"
    (cd "$home" && HOME="$home" "$PY" -c 'import futu, pytest' >/dev/null 2>&1)
    local rc=$?
    rm -rf "$home"
    return $rc
}

if [[ -f "$MARKER" && -x "$PY" ]] && probe; then
    exit 0
fi

# Two test binaries or make targets may get here at once: one installs, the other waits.
if command -v flock >/dev/null 2>&1; then
    LOCK="${TMPDIR:-/tmp}/ftapi-ensure-venv-$(printf '%s' "$VENV" | cksum | cut -d' ' -f1).lock"
    exec 9>"$LOCK"
    flock 9
    if [[ -f "$MARKER" && -x "$PY" ]] && probe; then
        exit 0
    fi
fi

command -v python3 >/dev/null 2>&1 || die "python3 is not installed (apt-get install python3 python3-venv)"

if [[ ! -x "$PY" ]]; then
    say "creating $VENV"
    python3 -m venv "$VENV" || die "python3 -m venv $VENV failed (is python3-venv installed?)"
fi

if ! probe; then
    say "installing $SPEC and pytest into $VENV (takes about a minute once)"
    "$PY" -m pip install --quiet --upgrade pip >&2 || say "pip self-upgrade failed; going on"
    "$PY" -m pip install --quiet "$SPEC" pytest >&2 || die "pip install $SPEC pytest failed"
fi

probe || die "$VENV still cannot 'import futu' after installing $SPEC"
touch "$MARKER"
ver="$("$PY" -c 'import importlib.metadata as m; print(m.version("futu-api"), "protobuf", m.version("protobuf"))' 2>/dev/null || echo '?')"
say "ready: futu-api $ver in $VENV"
