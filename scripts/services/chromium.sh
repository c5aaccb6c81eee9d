#!/usr/bin/env bash
# Headless Chromium for the dashboard browser tests (test/web). Idempotent: installs the Debian
# package once; there is nothing to start, playwright-core launches it per test.
set -euo pipefail

ensure() {
  if [ -x /usr/bin/chromium ]; then
    return 0
  fi
  local sudo=''
  if [ "$(id -u)" != 0 ]; then sudo='sudo'; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends chromium fonts-liberation
  /usr/bin/chromium --version
}

case "${1:-ensure}" in
  ensure) ensure ;;
  *) echo "usage: $0 ensure" >&2; exit 64 ;;
esac
