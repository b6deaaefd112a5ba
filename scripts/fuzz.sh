#!/usr/bin/env bash
# Run every fuzz target (func FuzzXxx in a _test.go file) for FUZZTIME
# each (default 10s), and print how many inputs each ran. Fails, showing
# the failing input, if any target does: go test then writes it under
# the package's testdata/fuzz, where it becomes a regression seed.
#
# FUZZMINIMIZETIME (default 1s) bounds the time spent shrinking each input
# that found new coverage, or a failure. Go's default, 60s, is spent on
# the first such input: FuzzBuild, whose inputs are saves of 10-60 KiB,
# ran 33 inputs in its 10s, all before it.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
minimizetime=${FUZZMINIMIZETIME:-1s}
status=0
while read -r file target; do
	dir=$(dirname "$file")
	if out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimizetime" "./$dir" 2>&1 </dev/null); then
		result=ok
	elif grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written to' <<<"$out"; then
		# go test's fuzzing can end past -fuzztime while a worker is still
		# shrinking an input, and then fails with "context deadline
		# exceeded" though no input failed: a real failure always writes
		# its input. Said, not counted.
		result=ok
		echo "$dir.$target: go stopped fuzzing late (context deadline exceeded); no input failed"
	else
		result=FAILED
		status=1
		echo "$out"
	fi
	execs=$(grep -o 'execs: [0-9]*' <<<"$out" | tail -n 1 | cut -d' ' -f2 || true)
	printf '%-45s %-6s %12s execs in %s\n' "$dir.$target" "$result" "${execs:-?}" "$fuzztime"
done < <(grep -ro --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed 's|^\./||; s|:func | |' | sort)
exit "$status"
