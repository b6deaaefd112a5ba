#!/usr/bin/env bash
# Run every fuzz target (func FuzzXxx in a _test.go file) for FUZZTIME
# each (default 10s), and print how many inputs each ran. Fails, showing
# the failing input, if any target does: go test then writes it under
# the package's testdata/fuzz, where it becomes a regression seed.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
status=0
while read -r file target; do
	dir=$(dirname "$file")
	if out=$(go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "./$dir" 2>&1 </dev/null); then
		result=ok
	else
		result=FAILED
		status=1
		echo "$out"
	fi
	execs=$(grep -o 'execs: [0-9]*' <<<"$out" | tail -n 1 | cut -d' ' -f2 || true)
	printf '%-45s %-6s %12s execs in %s\n' "$dir.$target" "$result" "${execs:-?}" "$fuzztime"
done < <(grep -ro --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed 's|^\./||; s|:func | |' | sort)
exit "$status"
