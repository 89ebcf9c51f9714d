#!/usr/bin/env bash
# Runs the official Java sample (argv: OUTFILE then the java command line) inside opend-sim's
# runner mode. The sample sleeps forever after printing its reply, so stop it (SIGTERM) once
# the reply's JSON has ended ("}" alone on a line), its failure line came, or after 30 s.
# Exit 0 when it was stopped here (or exited by itself with 0); its stdout is in OUTFILE,
# its stderr (the JVM's own warnings, say) in OUTFILE.err.
set -u
out="$1"; shift
: >"$out"
"$@" >"$out" 2>"$out.err" &
pid=$!
for _ in $(seq 300); do
  grep -q '^}$' "$out" && break
  grep -q 'QotGetUserSecurityGroup failed' "$out" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"; wait "$pid"; rc=$?
  # The JVM exits 143 on SIGTERM: that is the stop asked for here.
  [ "$rc" -eq 143 ] && rc=0
else
  wait "$pid"; rc=$?
fi
exit "$rc"
