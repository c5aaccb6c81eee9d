#!/usr/bin/env bash
# kinesalite (npm devDependency: the Kinesis API on LevelDB) for local runs and the benchmark; tests
# start their own in-process instance on a free port (test/support/kinesis.ts). Data lives in
# .tickflow/kinesalite/data (LevelDB), so streams survive a restart.
#
#   kinesalite.sh ensure          install if needed, start if down, create the default streams
#                                 (tickflow-events, 2 shards; tickflow-heartbeat, 1) — idempotent
#   kinesalite.sh stop            stop the kinesalite this script started
#   kinesalite.sh status          exit 0 when a Kinesis API answers on the port
#   kinesalite.sh endpoint        print http://127.0.0.1:<port> (sinks[].endpoint)
#   kinesalite.sh create-stream NAME [SHARDS]
#
# TICKFLOW_KINESALITE_PORT picks the port (default 4567; kinesalite reads 0 as 4567, so no "free
# port" mode here). kinesalite checks no signature: any AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY do.
# See docs/kinesis.md.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HOME_DIR="$ROOT/.tickflow/kinesalite"
HOST=127.0.0.1
PORT="${TICKFLOW_KINESALITE_PORT:-4567}"
PIDFILE="$HOME_DIR/kinesalite.pid"
LOG="$HOME_DIR/kinesalite.log"
ENDPOINT="http://$HOST:$PORT"

log() { echo "kinesalite.sh: $*" >&2; }

# Runs a Kinesis call with the project's SDK: `kinesis <Command> '<json input>'`; prints the answer.
kinesis() {
  (cd "$ROOT" && AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}" \
    node --no-warnings --input-type=module -e "
      import * as k from '@aws-sdk/client-kinesis';
      import { NodeHttpHandler } from '@smithy/node-http-handler';
      const client = new k.KinesisClient({ region: 'us-east-1', endpoint: '$ENDPOINT', maxAttempts: 1,
        requestHandler: new NodeHttpHandler({ connectionTimeout: 2000, requestTimeout: 5000 }) });
      try { console.log(JSON.stringify(await client.send(new k[process.argv[1] + 'Command'](JSON.parse(process.argv[2]))))); }
      finally { client.destroy(); }
    " "$1" "$2")
}

answers() { kinesis ListStreams '{}' >/dev/null 2>&1; }

install() {
  if [ -f "$ROOT/node_modules/kinesalite/cli.js" ] && [ -d "$ROOT/node_modules/@aws-sdk/client-kinesis" ]; then return 0; fi
  log "installing the npm packages (kinesalite is a devDependency)"
  (cd "$ROOT" && npm install --no-audit --no-fund >&2)
}

running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

create_stream() {
  local name="$1" shards="${2:-1}"
  if kinesis DescribeStreamSummary "{\"StreamName\":\"$name\"}" >/dev/null 2>&1; then return 0; fi
  kinesis CreateStream "{\"StreamName\":\"$name\",\"ShardCount\":$shards}" >/dev/null
  log "created stream $name ($shards shards)"
}

start() {
  install
  if ! answers; then
    mkdir -p "$HOME_DIR/data"
    if ! running_pid >/dev/null; then
      log "starting kinesalite on $HOST:$PORT (log $LOG)"
      # setsid: it outlives the shell that started it; streams become ACTIVE at once.
      setsid nohup node "$ROOT/node_modules/kinesalite/cli.js" --port "$PORT" --path "$HOME_DIR/data" \
        --createStreamMs 0 --deleteStreamMs 0 --updateStreamMs 0 --shardLimit 100 >"$LOG" 2>&1 </dev/null &
      echo $! >"$PIDFILE"
    fi
    local deadline=$((SECONDS + 60))
    until answers; do
      if ! running_pid >/dev/null; then
        log "kinesalite exited during start-up:"
        tail -n 20 "$LOG" >&2 || true
        exit 1
      fi
      if [ "$SECONDS" -ge "$deadline" ]; then
        log "kinesalite did not answer on $ENDPOINT within 60 s (see $LOG)"
        exit 1
      fi
      sleep 0.5
    done
  fi
  create_stream tickflow-events 2
  create_stream tickflow-heartbeat 1
  log "kinesalite answers on $ENDPOINT"
}

stop() {
  local pid
  if pid="$(running_pid)"; then
    kill "$pid"
    rm -f "$PIDFILE"
    log "stopped kinesalite (pid $pid)"
  fi
}

case "${1:-ensure}" in
  ensure | start) start ;;
  stop) stop ;;
  status) answers ;;
  endpoint) echo "$ENDPOINT" ;;
  create-stream) create_stream "${2:?stream name}" "${3:-1}" ;;
  *) echo "usage: $0 ensure|stop|status|endpoint|create-stream NAME [SHARDS]" >&2; exit 64 ;;
esac
