#!/usr/bin/env bash
# Mailpit, the SMTP server with an HTTP API that the alert e-mail tests deliver to (test/alerts).
# Idempotent: builds it once with `go install` (Go module proxy) into $GOBIN or $(go env GOPATH)/bin.
# Nothing is started here: each test runs its own `mailpit --smtp 127.0.0.1:<free> --listen
# 127.0.0.1:<free>` and stops it after. `path` prints the binary for tests to run.
set -euo pipefail

VERSION=v1.33.1

bin_dir() {
  local gobin
  gobin="$(go env GOBIN)"
  if [ -n "$gobin" ]; then echo "$gobin"; else echo "$(go env GOPATH)/bin"; fi
}

# `mailpit version` of a `go install` build says "dev"; the module version is in the build info.
installed() {
  local bin="$1"
  [ -x "$bin" ] && go version -m "$bin" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/axllent/mailpit[[:space:]]+${VERSION}([[:space:]]|$)"
}

ensure() {
  if ! command -v go >/dev/null 2>&1; then
    echo "mailpit.sh: Go is needed to build Mailpit (https://go.dev/dl/)" >&2
    return 1
  fi
  local bin
  bin="$(bin_dir)/mailpit"
  if ! installed "$bin"; then
    # CGO off: mailpit's SQLite driver is pure Go (modernc.org/sqlite); no C toolchain needed.
    CGO_ENABLED=0 go install "github.com/axllent/mailpit@${VERSION}"
  fi
  echo "mailpit ${VERSION}: $bin"
}

case "${1:-ensure}" in
  ensure) ensure ;;
  path) echo "$(bin_dir)/mailpit" ;;
  *) echo "usage: $0 ensure|path" >&2; exit 64 ;;
esac
