#!/usr/bin/env bash
# make test: every test on the matrix scripts/matrix.sh started (its
# settings file is read when CHARMCRAFT_TEST_DAEMONS is unset); without
# it, every test once, on DOCKER_HOST's daemon.
#
# On the matrix, in passes (one `go test` each, daemon x registry x
# network; the chains of passes start longest first):
#   unit      every package but e2e, with the race detector, on each registry
#   e2e       every e2e test but $waits and (when there are TLS passes)
#             $heavy: on the first daemon with distribution 3, on the last
#             with distribution 2.8, plain HTTP
#   image     every image test (an e2e test whose name holds "Image") on
#             every daemon with both registries over TLS (the matrix's CA,
#             an HTTPS token realm, the registry named by a non-loopback
#             address); on the other daemons once more over plain HTTP, the
#             registries taking turns; on the namespaced daemons (which
#             reach the registry only through the namespace's veth pair)
#             over TLS only.
#             The kill-and-run-again tests ($heavy) take a minute or more
#             each: they run in one classic and one containerd image pass
#             ($heavy_passes, the e2e passes' daemons), not in every one.
#   budget    the tests that wait out the real retry budget ($waits), once,
#             beside the chains: they wait, idle, for 2 minutes.
# The race detector runs on the packages whose code runs in the test
# process; the e2e tests run the plugin as a separate, non-race binary.
#
# Passes on one daemon run one after another; up to CHARMCRAFT_TEST_JOBS
# (default 3) daemons' chains run at once: the e2e tests mostly wait on
# daemons and child processes. Each pass's output is kept in $TEST_LOGS
# (default a temporary directory); a failed pass's output is printed, and
# at the end each pass's time and the slowest tests.
#
# CHARMCRAFT_TEST_RUN=REGEXP runs only the tests it matches, in every pass:
# one test across the whole matrix.
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

if [ -z "${CHARMCRAFT_TEST_DAEMONS:-}" ]; then
	"$GO" test -race -count=1 -timeout=40m ./...
	echo "Only one daemon and the embedded registry were tested: scripts/matrix.sh starts the matrix."
	exit 0
fi

logs=${TEST_LOGS:-$(mktemp -d /tmp/charmcraft-test.XXXXXX)}
mkdir -p "$logs"
jobs=${CHARMCRAFT_TEST_JOBS:-3}

declare -A hosts
names=()
netns=()
IFS=, read -ra entries <<<"$CHARMCRAFT_TEST_DAEMONS"
for e in "${entries[@]}"; do
	names+=("${e%%=*}")
	hosts[${e%%=*}]=${e#*=}
done
if [ -n "${CHARMCRAFT_TEST_NETNS_DAEMONS:-}" ]; then
	IFS=, read -ra entries <<<"$CHARMCRAFT_TEST_NETNS_DAEMONS"
	for e in "${entries[@]}"; do
		netns+=("${e%%=*}")
		hosts[${e%%=*}]=${e#*=}
	done
fi
first=${names[0]}
last=${names[${#names[@]} - 1]}
tls=no
[ -n "${CHARMCRAFT_TEST_CA:-}" ] && tls=yes

# Everything is built once, before the passes: the unit tests with the
# race detector, the e2e tests into one binary that every e2e pass runs,
# and the plugin they run.
echo "== tests: building"
units=$("$GO" list ./... | grep -v /e2e\$ | tr '\n' ' ')
# shellcheck disable=SC2086 # package names
"$GO" test -race -count=1 -run '^$' $units >/dev/null
"$GO" test -c -o "$logs/e2e.test" ./e2e
# As e2e's TestMain builds it.
"$GO" build -ldflags "-X main.version=e2e-test" -o "$logs/docker-charmcraft" ./cmd/docker-charmcraft

# pass NAME DAEMON REGISTRY TLS ARGS...: one go test, logged to NAME.log;
# ARGS are packages and flags ("e2e" for the e2e binary).
pass() {
	local name=$1 daemon=$2 registry=$3 tls=$4
	shift 4
	local env=(DOCKER_HOST="${hosts[$daemon]}" CHARMCRAFT_TEST_REGISTRY="$registry" CHARMCRAFT_TEST_TLS=0
		CHARMCRAFT_TEST_PLUGIN="$logs/docker-charmcraft")
	[ "$tls" = tls ] && env+=(CHARMCRAFT_TEST_TLS=1 SSL_CERT_FILE="$CHARMCRAFT_TEST_CA")
	local start=$SECONDS rc=0
	if [ "$1" = e2e ]; then
		shift
		[ -n "${CHARMCRAFT_TEST_RUN:-}" ] && set -- "$@" -test.run "$CHARMCRAFT_TEST_RUN"
		(cd e2e && env "${env[@]}" "$logs/e2e.test" -test.count=1 -test.timeout=40m -test.v "$@") >"$logs/$name.log" 2>&1 || rc=$?
	else
		[ -n "${CHARMCRAFT_TEST_RUN:-}" ] && set -- "$@" -run "$CHARMCRAFT_TEST_RUN"
		env "${env[@]}" "$GO" test -count=1 -timeout=40m -v "$@" >"$logs/$name.log" 2>&1 || rc=$?
	fi
	local took=$((SECONDS - start))
	if [ $rc -eq 0 ]; then
		printf '== tests: %-40s ok    %4ds\n' "$name" "$took"
	else
		printf '== tests: %-40s FAIL  %4ds (exit %d)\n' "$name" "$took" "$rc"
		grep -E -B1 -A30 '^\s*--- FAIL|^FAIL|^panic:' "$logs/$name.log" | head -n 200
		echo "$name" >>"$logs/failed"
	fi
	printf '%s %d\n' "$name" "$took" >>"$logs/times"
}

# chain DAEMON PASS...: the passes on one daemon, in turn; each PASS is
# "NAME DAEMON REGISTRY TLS ARGS..." (word-split).
chain() {
	shift
	local p
	for p in "$@"; do
		# shellcheck disable=SC2086 # a pass is words
		pass $p
	done
}

heavy=TestImageKilled
# The tests that wait out the default retry budget (2 minutes), idle: they
# run once, in a pass of their own beside the chains, not in each e2e pass.
waits=TestFailFastBudget
heavy_passes=" image-$first-distribution2-tls image-$last-embedded-tls "
# Without TLS there are no such passes: the e2e passes run them then.
# With CHARMCRAFT_TEST_RUN the budget pass is not run (its -test.run would
# give way to that one, on a daemon an e2e pass uses at the same time): the
# e2e passes run the tests it matches, $waits included.
budget=yes
[ -n "${CHARMCRAFT_TEST_RUN:-}" ] && budget=no
e2e_skip=$heavy
[ "$tls" = yes ] || e2e_skip=
[ "$budget" = yes ] && e2e_skip="$waits${e2e_skip:+|$e2e_skip}"
# The registry's faults (about 30 s a pass) are met over TLS on every
# daemon, and over plain HTTP in the e2e passes: not again in the plain
# image passes, unless there are no TLS passes.
faults=TestImageUploadFaults
image() { # NAME DAEMON REGISTRY TLS: an image pass
	local skip=$heavy
	[[ $heavy_passes == *" $1 "* ]] && skip=
	[ "$4" = plain ] && [ "$tls" = yes ] && skip="${skip:+$skip|}$faults"
	echo "$1 $2 $3 $4 e2e -test.run Image ${skip:+-test.skip $skip}"
}

image_tls() { # DAEMON: the TLS image passes of a daemon
	[ "$tls" = yes ] || return 0
	image "image-$1-embedded-tls" "$1" embedded tls
	image "image-$1-distribution2-tls" "$1" distribution2 tls
}

# The chains start longest first, so that the last to end is a short
# one: those with an e2e pass (about 3 minutes of their 8 here), then the
# daemons' image passes, then the unit passes (2 x 2.5 minutes).
chains=()
i=0
for d in "${names[@]}"; do
	c="$d"
	[ "$d" = "$first" ] && c+=";e2e-$d-embedded $d embedded plain e2e ${e2e_skip:+-test.skip $e2e_skip}"
	[ "$d" = "$last" ] && c+=";e2e-$d-distribution2 $d distribution2 plain e2e ${e2e_skip:+-test.skip $e2e_skip}"
	if [ "$d" != "$first" ] && [ "$d" != "$last" ]; then
		r=embedded
		[ $((i % 2)) = 1 ] && r=distribution2
		c+=";$(image "image-$d-$r" "$d" "$r" plain)"
		i=$((i + 1))
	fi
	while read -r p; do [ -n "$p" ] && c+=";$p"; done < <(image_tls "$d")
	if [[ $c == *";e2e-"* ]]; then
		chains=("$c" "${chains[@]}")
	else
		chains+=("$c")
	fi
done
chains+=("unit;unit-embedded $first embedded plain -race $units;unit-distribution2 $first distribution2 plain -race $units")
for d in "${netns[@]}"; do
	c="$d"
	while read -r p; do [ -n "$p" ] && c+=";$p"; done < <(image_tls "$d")
	[ "$c" != "$d" ] && chains+=("$c")
done

beside=
[ "$budget" = yes ] && beside=", and the budget pass beside them"
echo "== tests: ${#chains[@]} chains of passes, $jobs at a time$beside; logs in $logs"
start=$SECONDS
waiting=none
if [ "$budget" = yes ]; then
	pass "budget-$first-embedded" "$first" embedded plain e2e -test.run "$waits" &
	waiting=$!
fi
for c in "${chains[@]}"; do
	while [ "$(jobs -rp | grep -cvx "$waiting")" -ge "$jobs" ]; do wait -n || true; done
	IFS=';' read -ra ps <<<"$c"
	chain "${ps[@]}" &
done
wait
echo "== tests: all passes in $((SECONDS - start))s; the slowest tests:"
for f in "$logs"/*.log; do
	sed -n "s/^--- \\(PASS\\|FAIL\\): \\([^ ]*\\) (\\([0-9.]*\\)s)\$/\\3s \\2 \\1 $(basename "$f" .log)/p" "$f"
done | sort -rn | head -n 25 || true
# Every test function's result in every pass (subtests not counted), in
# the form any reader of CI logs knows.
count() { cat "$logs"/*.log | grep -c "^--- $1: " || true; }
echo "tests: $(count PASS) passed, $(count FAIL) failed, $(count SKIP) skipped"
if [ -s "$logs/failed" ]; then
	echo "== tests: failed passes (logs in $logs): $(tr '\n' ' ' <"$logs/failed")"
	exit 1
fi
