#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the store tests, the benchmark and local runs. PostgreSQL comes
# from Debian's packages; the cluster lives in .tickflow/pg ($TMPDIR/tickflow-pg when the postgres
# user cannot reach the checkout; override with TICKFLOW_PG_DIR), runs as
# the `postgres` user (initdb refuses root), listens on 127.0.0.1:55432 only and trusts local TCP.
# TimescaleDB is not in Debian's repositories, so this cluster uses native daily partitions
# (docs/storage.md).
#
#   postgres.sh ensure   install if needed, start if down (idempotent, quick when up)
#   postgres.sh start    same as ensure
#   postgres.sh stop     stop the cluster this script started
#   postgres.sh status   exit 0 when the server accepts connections
#   postgres.sh url      print the connection URL
#
# A private TLS cluster (the TLS tests) is made with TICKFLOW_PG_DIR, TICKFLOW_PG_PORT and
# TICKFLOW_PG_TLS=1: ssl = on with certificates from scripts/tls.sh in $TICKFLOW_PG_DIR/tls
# (server certificate for 127.0.0.1 only), and TCP clients must use TLS, present a client
# certificate of that CA and log in with the password in the file TICKFLOW_PG_PASSWORD_FILE
# (pg_hba: hostssl … scram-sha-256 clientcert=verify-ca). The Unix socket stays trusted for the script.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HOST=127.0.0.1
PORT="${TICKFLOW_PG_PORT:-55432}"
URL="postgres://postgres@$HOST:$PORT/postgres"

# The cluster directory must be reachable by the postgres user; a checkout under /root is not.
pg_dir() {
  if [ -n "${TICKFLOW_PG_DIR:-}" ]; then
    echo "$TICKFLOW_PG_DIR"
  elif [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && ! runuser -u postgres -- test -x "$ROOT"; then
    echo "${TMPDIR:-/tmp}/tickflow-pg"
  else
    echo "$ROOT/.tickflow/pg"
  fi
}

set_dirs() {
  PG_DIR="$(pg_dir)"
  DATA="$PG_DIR/data"
  SOCKETS="$PG_DIR/sockets"
  LOGFILE="$PG_DIR/server.log"
}

log() { echo "postgres.sh: $*" >&2; }

bindir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install() {
  bindir >/dev/null && return 0
  [ "$(id -u)" = 0 ] || { log "PostgreSQL is missing and installing it needs root"; exit 1; }
  log "installing PostgreSQL from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  if [ -z "$(apt-cache search --names-only '^timescaledb' 2>/dev/null)" ]; then
    log "timescaledb is not packaged here: the store uses native daily partitions"
  fi
}

running() {
  local bin
  bin="$(bindir)" || return 1
  "$bin/pg_isready" -q -h "$HOST" -p "$PORT" -U postgres -d postgres
}

init_cluster() {
  [ -f "$DATA/PG_VERSION" ] && return 0
  local bin
  bin="$(bindir)"
  mkdir -p "$PG_DIR"
  rm -rf "$DATA" "$SOCKETS"
  mkdir -p "$DATA" "$SOCKETS"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DIR" "$DATA" "$SOCKETS"
  touch "$LOGFILE"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$LOGFILE"
  as_postgres "$bin/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  cat >>"$DATA/postgresql.conf" <<EOF
# scripts/services/postgres.sh: a throwaway local cluster.
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = '$SOCKETS'
max_connections = 200
# Losing the last few commits on a crash of this test cluster is acceptable; the fsync per commit is not.
synchronous_commit = off
timezone = 'UTC'
EOF
  if [ -n "${TICKFLOW_PG_TLS:-}" ]; then configure_tls; fi
}

configure_tls() {
  : "${TICKFLOW_PG_PASSWORD_FILE:?must name the file holding the password of the postgres user}"
  local tls="$PG_DIR/tls"
  bash "$ROOT/scripts/tls.sh" "$tls"
  [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$tls"
  chmod 755 "$tls"
  cat >>"$DATA/postgresql.conf" <<EOF
ssl = on
ssl_cert_file = '$tls/server.pem'
ssl_key_file = '$tls/server.key'
ssl_ca_file = '$tls/ca.pem'
password_encryption = 'scram-sha-256'
EOF
  cat >"$DATA/pg_hba.conf" <<EOF
# scripts/services/postgres.sh (TLS cluster): TCP only over TLS, with a client certificate and a password.
local   all all trust
hostssl all all 127.0.0.1/32 scram-sha-256 clientcert=verify-ca
EOF
}

# The password of the TLS cluster's postgres user, set over the Unix socket once the server is up.
set_password() {
  [ -n "${TICKFLOW_PG_TLS:-}" ] || return 0
  local bin password
  bin="$(bindir)"
  password="$(cat "$TICKFLOW_PG_PASSWORD_FILE")"
  # psql reads the statement from stdin, so the password is on no command line.
  printf "ALTER USER postgres PASSWORD '%s';\n" "${password//\'/\'\'}" |
    as_postgres "$bin/psql" -q -h "$SOCKETS" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 >/dev/null
}

start() {
  install
  running && return 0
  set_dirs
  # Several test runs may call ensure at once: one starts the server, the others wait for it.
  mkdir -p "$PG_DIR"
  exec 9>"$PG_DIR/.lock"
  flock 9
  running && return 0
  init_cluster
  local bin
  bin="$(bindir)"
  log "starting PostgreSQL on $HOST:$PORT (data in $DATA)"
  as_postgres "$bin/pg_ctl" -D "$DATA" -l "$LOGFILE" -w -t 60 start >/dev/null
  running || { log "PostgreSQL did not come up; see $LOGFILE"; exit 1; }
  set_password
}

stop() {
  local bin
  bin="$(bindir)" || return 0
  set_dirs
  [ -f "$DATA/postmaster.pid" ] || return 0
  as_postgres "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
}

case "${1:-}" in
  ensure | start) start ;;
  stop) stop ;;
  status) running ;;
  url) echo "$URL" ;;
  *)
    echo "usage: $0 ensure|start|stop|status|url" >&2
    exit 2
    ;;
esac
