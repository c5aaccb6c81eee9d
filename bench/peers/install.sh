#!/usr/bin/env bash
# Installs the peers that bench/peers.ts measures tickflow against — the seed design's Python
# pipeline and cryptofeed — into a virtual environment, .tickflow/peers-venv, from PyPI with the
# versions pinned in bench/peers/requirements.txt. Idempotent: a venv whose stamp matches the
# requirements file and the interpreter is left as it is (quick); otherwise it is rebuilt.
#
#   bash bench/peers/install.sh         prints the venv's python path on the last line
#
# PYTHON picks the interpreter (default python3, which must be 3.11 or newer).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${TICKFLOW_PEERS_VENV:-$ROOT/.tickflow/peers-venv}"
REQUIREMENTS="$ROOT/bench/peers/requirements.txt"
PYTHON="${PYTHON:-python3}"

log() { echo "peers/install.sh: $*" >&2; }

if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  log "$PYTHON is missing or older than 3.11 (the peers need Python 3.11+ and pip; set PYTHON=...)"
  exit 1
fi
stamp="$("$PYTHON" -c 'import sys; print(sys.version.split()[0])') $(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"

if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV/.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "$VENV/bin/python"
  exit 0
fi

log "creating $VENV ($stamp); cryptofeed compiles from source, this takes a few minutes"
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
# Written last: an install that failed half-way is redone on the next call.
echo "$stamp" >"$VENV/.stamp"
echo "$VENV/bin/python"
