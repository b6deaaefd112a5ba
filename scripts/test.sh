#!/usr/bin/env bash
# make test: every test on the first daemon of the matrix and the embedded
# registry, with the race detector; then every test again on distribution
# 2.8; then every image test (a test whose name holds "Image") on each
# other daemon with both registries. The matrix is what scripts/matrix.sh
# started (its settings file is read when CHARMCRAFT_TEST_DAEMONS is
# unset); without it, the tests run once, on DOCKER_HOST's daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
settings=${MATRIX_ENV:-/run/charmcraft-matrix.env}
if [ -z "${CHARMCRAFT_TEST_DAEMONS:-}" ] && [ -r "$settings" ]; then
	set -a
	# shellcheck disable=SC1090 # written by scripts/matrix.sh
	. "$settings"
	set +a
fi

pass() {
	local daemon=$1 registry=$2
	shift 2
	printf '== tests: daemon %s, registry %s: go test %s\n' "$daemon" "$registry" "$*"
	DOCKER_HOST=${hosts[$daemon]} CHARMCRAFT_TEST_REGISTRY=$registry "$GO" test -count=1 "$@"
}

if [ -z "${CHARMCRAFT_TEST_DAEMONS:-}" ]; then
	"$GO" test -race -count=1 ./...
	echo "Only one daemon and the embedded registry were tested: scripts/matrix.sh starts the matrix."
	exit 0
fi

declare -A hosts
names=()
IFS=, read -ra entries <<<"$CHARMCRAFT_TEST_DAEMONS"
for e in "${entries[@]}"; do
	names+=("${e%%=*}")
	hosts[${e%%=*}]=${e#*=}
done
first=${names[0]}

pass "$first" embedded -race ./...
pass "$first" distribution2 ./...
for d in "${names[@]:1}"; do
	for r in embedded distribution2; do
		pass "$d" "$r" -run Image ./e2e
	done
done
