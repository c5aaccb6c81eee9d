#!/usr/bin/env bash
# The whole test suite (README's test command): installs and starts what the tests need, then runs
# the linter, the type check and every test under test/ against real processes.
set -euo pipefail
cd "$(dirname "$0")/.."
# A Node.js that engines accepts, fetched from npm when the system one is older (scripts/node.sh).
source scripts/node.sh

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# Lint first: it takes seconds, so a finding fails the run before services are installed and started.
npm run lint

# Services the integration tests use; each script under scripts/services takes `ensure` and is
# idempotent (installs once, starts if down). Helpers that are not services live in scripts/.
for svc in scripts/services/*.sh; do
  [ -e "$svc" ] || continue
  bash "$svc" ensure
done

npx tsc -p tsconfig.json --noEmit
node scripts/build-web.mjs

mapfile -t files < <(find test -name '*.test.ts' | sort)
# A hung test fails after 10 minutes instead of holding CI until its own limit.
exec node --import tsx --test --test-reporter=spec --test-concurrency=1 --test-timeout=600000 "${files[@]}"
