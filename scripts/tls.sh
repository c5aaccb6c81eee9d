#!/usr/bin/env bash
# A self-signed test CA and the certificates the secure test listeners use, made with openssl.
# For tests and local trials only: the keys are unencrypted and the CA signs anything asked of it.
#
#   tls.sh <dir>   create (once) in <dir>:
#                    ca.pem, ca.key            the CA (CN "tickflow test CA <dir>")
#                    server.pem, server.key    a server certificate for IP 127.0.0.1 only (so
#                                              connecting as "localhost" is a host-name mismatch)
#                    client.pem, client.key    a client certificate (CN "tickflow"), for mutual TLS
#
# Keys are PKCS#8 PEM (Kafka's PEM keystore reads only that). Idempotent: an existing set is kept.
set -euo pipefail

DIR="${1:?usage: tls.sh <dir>}"
[ -f "$DIR/client.pem" ] && exit 0
mkdir -p "$DIR"
cd "$DIR"
umask 077

issue() { # name subject [extensions]
  openssl req -new -newkey rsa:2048 -nodes -subj "$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -sha256 \
    -extfile <(printf '%s\n' "$3") -out "$1.pem" 2>/dev/null
  rm -f "$1.csr"
}

openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 -subj "/CN=tickflow test CA $(basename "$DIR")" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout ca.key -out ca.pem 2>/dev/null
issue server "/CN=127.0.0.1" "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth"
issue client "/CN=tickflow" "extendedKeyUsage=clientAuth"
rm -f ca.srl
# The CA and certificates are public; the keys stay private to their owner.
chmod 644 ca.pem server.pem client.pem
