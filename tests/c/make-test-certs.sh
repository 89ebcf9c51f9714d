#!/usr/bin/env bash
# Makes the certificates the wss:// tests use, in DIR (created if missing): a CA (ca.pem,
# ca.key) and a server certificate it signs for 127.0.0.1 and localhost (server.pem,
# server.key), valid for 2 days. Made at test time with openssl, never taken from
# elsewhere; a set already in DIR is kept while it is less than a day old. On failure
# openssl's output goes to stderr and the exit status is non-zero.
# Usage: make-test-certs.sh DIR
set -uo pipefail
dir="${1:?usage: make-test-certs.sh DIR}"
mkdir -p "$dir" && cd "$dir" || exit 1
[ -s server.pem ] && [ -s server.key ] && [ -s ca.pem ] && [ -z "$(find server.pem -mmin +1440)" ] && exit 0
if ! { openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=ftapi test CA" -keyout ca.key -out ca.pem \
         -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign &&
       openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr &&
       printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >ext.cnf &&
       openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf \
         -out server.pem; } >openssl.log 2>&1; then
  echo "make-test-certs.sh: openssl failed in $dir:" >&2
  cat openssl.log >&2
  rm -f server.pem
  exit 1
fi
