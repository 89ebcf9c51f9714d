#!/usr/bin/env bash
# Python binding suite: builds the wheel (libftapi.so inside), installs it into the test
# venv target/py-venv (no pandas), runs the pytest suite against opend-sim, then the small
# DataFrame check in target/py-venv-pandas. Last line: "N passed, N failed".
# Needs `make build` first; uses $FTAPI_LIB_DIR and $OPEND_SIM.
# Many requests per test: the client-side rate limiter (10 per 30 s for 3222 by default)
# starts off here unless the caller says otherwise; its own tests set it explicitly.
export FTAPI_RATE_LIMIT="${FTAPI_RATE_LIMIT:-off}"
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export FTAPI_LIB_DIR="${FTAPI_LIB_DIR:-$ROOT/target/release}"
export OPEND_SIM="${OPEND_SIM:-$FTAPI_LIB_DIR/opend-sim}"
VENV="$ROOT/target/py-venv"
PVENV="$ROOT/target/py-venv-pandas"
OUT="$ROOT/target/py-test"

fail_setup() { echo "python: $*" >&2; echo "0 passed, 1 failed"; exit 1; }
[ -f "$FTAPI_LIB_DIR/libftapi.so" ] || fail_setup "$FTAPI_LIB_DIR/libftapi.so missing (run make build)"
[ -x "$OPEND_SIM" ] || fail_setup "$OPEND_SIM missing (run make build)"

"$HERE/ensure-venv.sh" "$VENV" || fail_setup "cannot set up $VENV"
whl=$("$HERE/build-wheel.sh" | tail -1) || fail_setup "wheel build failed"
echo "python: built $(basename "$whl")"
"$VENV/bin/python" -m pip install --quiet --force-reinstall --no-deps "$whl" || fail_setup "pip install of the wheel failed"

if ! { [ -x "$PVENV/bin/python" ] && "$PVENV/bin/python" -c 'import pandas, pytest' 2>/dev/null; }; then
  echo "python: creating $PVENV (pandas, once)"
  { [ -x "$PVENV/bin/python" ] || python3 -m venv "$PVENV"; } &&
    "$PVENV/bin/python" -m pip install --quiet pandas pytest || fail_setup "cannot set up $PVENV"
fi
"$PVENV/bin/python" -m pip install --quiet --force-reinstall --no-deps "$whl" || fail_setup "pip install of the wheel (pandas venv) failed"

rm -rf "$OUT" && mkdir -p "$OUT"
# Run from a scratch cwd with the pytest script (not python -m) so the source tree is
# never on sys.path: the tests import the installed wheel.
cd "$OUT"
rc=0
"$VENV/bin/pytest" -p no:cacheprovider -q --junitxml="$OUT/main.xml" \
    --ignore="$HERE/tests/test_pandas.py" "$HERE/tests" || rc=1
"$PVENV/bin/pytest" -p no:cacheprovider -q --junitxml="$OUT/pandas.xml" \
    "$HERE/tests/test_pandas.py" || rc=1

read -r p f < <("$VENV/bin/python" - "$OUT/main.xml" "$OUT/pandas.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
p = f = 0
for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except Exception:
        f += 1
        continue
    for s in (root.iter("testsuite")):
        n, bad = int(s.get("tests", 0)), int(s.get("failures", 0)) + int(s.get("errors", 0))
        skipped = int(s.get("skipped", 0))
        p += n - bad - skipped
        f += bad + skipped   # a skip here means something is missing: count it as a failure
print(p, f)
PY
)
[ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ] && f=1
echo "${p:-0} passed, ${f:-1} failed"
[ "$rc" -eq 0 ] && [ "${f:-1}" -eq 0 ]
