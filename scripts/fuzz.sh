#!/usr/bin/env bash
# Runs every fuzz target in the module for $FUZZTIME each.
set -euo pipefail
cd "$(dirname "$0")/.."
t="${FUZZTIME:-10s}"
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
    echo "-- $pkg $f ($t)"
    log=/tmp/fuzz-$f.log
    run() { go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg" >"$log" 2>&1; }
    if ! run; then
      # On a loaded machine Go's fuzzing engine can time out waiting for its
      # workers ("context deadline exceeded") without any finding: that is
      # run once more, loudly. A finding ("Failing input written") never is.
      if grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
        echo "   !! $f: the fuzzing engine timed out without a finding (machine loaded); running it again"
        run || { cat "$log"; exit 1; }
      else
        cat "$log"
        exit 1
      fi
    fi
  done
done
