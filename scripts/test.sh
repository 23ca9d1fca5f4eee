#!/usr/bin/env bash
# Runs the whole test suite. Installs what the tests need (Debian's
# chromium for the browser tests) when it is missing, and says loudly
# whether PostgreSQL is there to run the store contract tests against.
set -euo pipefail
cd "$(dirname "$0")/.."

pg="${OUTBREAK_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
if command -v pg_isready >/dev/null && pg_isready -q -d "$pg" -t 3; then
  echo "== PostgreSQL reachable: store contract tests run on SQLite AND PostgreSQL"
  export OUTBREAK_REQUIRE_POSTGRES=1
else
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  echo "!!! PostgreSQL is NOT reachable at ${pg%%\?*}"
  echo "!!! Store contract tests run on SQLite ONLY. Start PostgreSQL to test both."
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
fi

./scripts/ensure-test-tools.sh
export OUTBREAK_REQUIRE_BROWSER=1

echo "== go vet"
go vet ./...
echo "== go test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
go test -count=1 -timeout 20m ./... 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
echo "== fuzz (short runs of every fuzz target)"
fuzzed=0
if [ "$status" -eq 0 ]; then
  FUZZTIME="${FUZZTIME:-4s}" ./scripts/fuzz.sh | tee -a "$log"
  fuzzed=$(grep -c '^-- ' "$log" || true)
fi
passed=$(grep -c '^ok ' "$log" || true)
failed=$(grep -c '^FAIL' "$log" || true)
echo "packages: $passed passed, $failed failed; fuzz targets run: $fuzzed"
echo "$((passed + fuzzed)) passed, $failed failed"
exit "$status"
