#!/usr/bin/env bash
# The unit lane (`npm run test:unit`): every test file that needs no service — no Kafka, PostgreSQL
# (Debian or embedded), Chromium, Prometheus, nor a tickflow or simulator process — with no root and
# no apt. The files that do need one are listed in test/service-tests.txt; they run in `npm test`
# only. test/support/unit-lane.ts makes any child process a test starts throw, so a test that needs
# a service but is missing from the list fails here loudly instead of slowing the lane.
set -euo pipefail
cd "$(dirname "$0")/.."
# A Node.js that engines accepts, fetched from npm when the system one is older (scripts/node.sh).
source scripts/node.sh

if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi

list=test/service-tests.txt
mapfile -t services < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$list" | grep -v '^$')
# A stale entry would leave a renamed service test in this lane unnoticed until it fails: refuse it.
for f in "${services[@]}"; do
  [ -f "$f" ] || { echo "$list lists $f, which does not exist" >&2; exit 1; }
done
mapfile -t files < <(find test -name '*.test.ts' | sort | grep -vxF -f <(printf '%s\n' "${services[@]}"))

# Type checking is `npm run typecheck` (and part of `npm test`); this lane only runs tests. Four files
# at a time on two cores: many unit files mostly wait (sockets, reconnect and ping timers) while
# others compute, and two at a time left cores idle behind a waiting file (docs/testing.md).
# A hung file fails after 10 minutes, as in npm test; a shorter limit failed slow files on a loaded
# machine (five files at 120 s with the load average at 39), which are slow, not stuck.
exec node --import tsx --import ./test/support/unit-lane.ts --test --test-reporter=spec --test-concurrency=4 \
  --test-timeout=600000 "${files[@]}"
