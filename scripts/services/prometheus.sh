#!/usr/bin/env bash
# Prometheus for the scrape tests (test/ops). Idempotent: installs Debian's package once. Nothing is
# started here: each test runs its own `prometheus --config.file=<tmp> --web.listen-address=127.0.0.1:<free>`,
# so the package's own service (port 9090, /etc/prometheus/prometheus.yml) is kept from starting.
set -euo pipefail

ensure() {
  if command -v prometheus >/dev/null 2>&1; then
    return 0
  fi
  local sudo=''
  if [ "$(id -u)" != 0 ]; then sudo='sudo'; fi
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d exit 101 tells invoke-rc.d "do not start services" (Debian policy §9.3.3). Only add
  # one if the machine has none, and remove only what we added.
  local policy=/usr/sbin/policy-rc.d added_policy=''
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    added_policy=1
  fi
  local rc=0
  {
    $sudo apt-get update -q &&
      $sudo apt-get install -y -q --no-install-recommends prometheus
  } || rc=$?
  if [ -n "$added_policy" ]; then $sudo rm -f "$policy"; fi
  if [ "$rc" != 0 ]; then return "$rc"; fi
  # With systemd the unit is enabled by the package; tests never use it.
  if [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
  prometheus --version
}

case "${1:-ensure}" in
  ensure) ensure ;;
  *) echo "usage: $0 ensure" >&2; exit 64 ;;
esac
