#!/usr/bin/env bash
# Runs the official sample (argv: binary): it blocks in getchar(), so feed it a newline once
# it printed its reply (or after 20 s). Runs inside opend-sim's runner mode.
set -u
out="$1.out"; : >"$out"
fifo="$1.in"; rm -f "$fifo"; mkfifo "$fifo"
"$1" <"$fifo" >"$out" 2>&1 &
pid=$!
exec 3>"$fifo"
for _ in $(seq 200); do
  grep -q '"groupName"' "$out" && grep -q '^}' "$out" && break
  sleep 0.1
done
echo >&3; exec 3>&-
wait "$pid"; rc=$?
cat "$out"; rm -f "$fifo"
exit "$rc"
