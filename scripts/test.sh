#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a fresh machine: installs what it needs, builds the
# binary, lints, and runs the unit, integration and end-to-end tests. README.md calls it `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export NO_UPDATE_NOTIFIER=1 npm_config_fund=false npm_config_audit=false

step() { printf '\n== %s\n' "$*"; }

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
fi

# The integration tests need a Docker engine and pbx's images: provisioning is idempotent (seconds when done).
step "provision: Docker engine and images"
if [ "$(id -u)" -eq 0 ]; then
  bash scripts/provision.sh
elif ! docker version >/dev/null 2>&1; then
  echo "No Docker engine answers and provisioning needs root: run \`sudo npm run provision\` first." >&2
  exit 1
fi

step "build dist/pbx"
npm run --silent build

step "typecheck, lint, format"
npx tsc --noEmit
npx eslint .
npx prettier --check . >/dev/null

step "tests"
report=$(mktemp)
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?
set -e
# One plain closing line that any reader of the log can count.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$report" || echo "tests: 0 passed, 1 failed"
rm -f "$report"
exit "$status"
