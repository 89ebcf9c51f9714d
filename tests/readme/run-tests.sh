#!/usr/bin/env bash
# The README suite: what README.md tells a newcomer, checked against the tree
# (tests/readme/check_readme.py: the Quick start commands and what `make demo` prints, the
# one-line swaps from each official SDK run against opend-sim, the install table's file names
# against target/dist), and the promise that `make demo` installs only what the demo needs:
# it runs with a dpkg-query that reports every package missing and an apt-get that records
# what it was asked for, and may have been asked for a C compiler and make, nothing else.
# Ends with "N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
pass=0; fail=0
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

T=$(mktemp -d "${TMPDIR:-/tmp}/ftapi-readme.XXXXXX"); trap 'rm -rf "$T"' EXIT
mkdir -p "$T/bin"
cat >"$T/bin/dpkg-query" <<'SH'
#!/bin/sh
exit 1
SH
cat >"$T/bin/apt-get" <<SH
#!/bin/sh
echo "\$*" >>"$T/apt.log"
exit 0
SH
chmod +x "$T/bin/dpkg-query" "$T/bin/apt-get"
: >"$T/apt.log"
if PATH="$T/bin:$PATH" make -s demo >"$T/demo.out" 2>"$T/demo.err"; then
  asked=$(grep -E '(^| )install ' "$T/apt.log" | sed -E 's/.*--no-install-recommends //' | tr ' ' '\n' | sort -u | tr '\n' ' ')
  if [ "$asked" = "gcc make " ]; then
    ok "make demo, on a machine missing every package, asks apt for gcc and make only"
  else
    bad "make demo asked apt for: ${asked:-nothing} (want: gcc make)"; cat "$T/apt.log"
  fi
  grep -qx "Bonds	SYSTEM" "$T/demo.out" && ok "make demo (with the recording apt-get) printed the watchlist" ||
    { bad "make demo printed no watchlist"; cat "$T/demo.out" "$T/demo.err"; }
else
  bad "make demo failed with the recording apt-get"; tail -30 "$T/demo.err"
fi
# Each group is one part's own; the demo's holds nothing a suite needs.
extra=$(scripts/install-deps.sh --list build | grep -xE 'valgrind|mono-runtime|junit4|nuget|cmake|protobuf-compiler')
[ -z "$extra" ] && ok "install-deps: the build group holds no suite's package" || bad "the build group holds $extra"
scripts/install-deps.sh --list all | grep -qx mono-runtime && ok "install-deps: the all group holds every suite's packages" ||
  bad "install-deps all lacks mono-runtime"
scripts/install-deps.sh no-such-group >/dev/null 2>&1 && bad "install-deps accepted an unknown group" ||
  ok "install-deps refuses an unknown group"

python3 tests/readme/check_readme.py "$@" | tee "$T/check.out"
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$T/check.out" | tail -1)
p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
[ -n "$line" ] || { p=0; f=1; }
pass=$((pass + p)); fail=$((fail + f))
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
