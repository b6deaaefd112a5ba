#!/usr/bin/env bash
# Serve Podman's Docker-compatible API on this machine, for the tests of
# e2e/podman_test.go: Debian sid's podman (5.8) in a Debian sid chroot,
# since Debian 12 has none recent enough, storing images with vfs and
# running no container (the API needs only the image store). Needs root and
# debootstrap (installed if missing).
#
#   scripts/podman.sh                       set up and start; print the setting
#   scripts/podman.sh test [go test flags]  also run the e2e tests against it
#   scripts/podman.sh stop                  stop the service this script started
#
#   PODMAN_ROOT  the chroot, made once and kept (default /srv/sid)
#
# The socket is $PODMAN_ROOT/run/podman/podman.sock: the tests find it in
# CHARMCRAFT_TEST_PODMAN=unix://$PODMAN_ROOT/run/podman/podman.sock.
# Setting the chroot up takes 3 to 4.5 minutes here (mostly downloads);
# once there, it is only checked, and the service starts in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOFLAGS=${GOFLAGS:--mod=mod}

ROOT=${PODMAN_ROOT:-/srv/sid}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
READY=$ROOT/.charmcraft-podman-ready
SOCK=$ROOT/run/podman/podman.sock
PIDFILE=$ROOT/run/podman/service.pid
LOG=$ROOT/run/podman/service.log
export CHARMCRAFT_TEST_PODMAN=unix://$SOCK

log() { printf '== podman: %s\n' "$*"; }
die() {
	printf 'podman.sh: %s\n' "$*" >&2
	exit 1
}

mounts() {
	mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
	# podman reads its cgroups and the kernel's settings there.
	mountpoint -q "$ROOT/sys" || mount -t sysfs sysfs "$ROOT/sys"
}

set_up() {
	if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
		[ ! -e "$ROOT" ] || [ -z "$(ls -A "$ROOT")" ] ||
			die "$ROOT holds something other than a finished chroot: remove it (umount $ROOT/proc $ROOT/sys first) or set PODMAN_ROOT"
		command -v debootstrap >/dev/null || {
			apt-get update -qq
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
		}
		log "debootstrap sid into $ROOT"
		debootstrap --variant=minbase sid "$ROOT" "$MIRROR" >/tmp/podman-debootstrap.log 2>&1 ||
			die "debootstrap failed; see /tmp/podman-debootstrap.log"
	fi
	[ ! -d "$ROOT/debootstrap" ] || die "$ROOT is a debootstrap that did not finish: remove it and run again"
	cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
	# The mirror's sid Release can be past its Valid-Until by this machine's clock.
	echo 'Acquire::Check-Valid-Until "false";' >"$ROOT/etc/apt/apt.conf.d/99charmcraft-no-valid-until"
	mounts
	if [ ! -x "$ROOT/usr/bin/podman" ]; then
		log "apt-get install podman in the chroot"
		chroot "$ROOT" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman' \
			>/tmp/podman-apt.log 2>&1 || die "installing podman failed; see /tmp/podman-apt.log"
	fi
	# vfs: no overlay mounts inside the chroot; cgroupfs and a file for
	# events: no systemd there.
	mkdir -p "$ROOT/etc/containers"
	cat >"$ROOT/etc/containers/storage.conf" <<-'EOF'
		[storage]
		driver = "vfs"
		runroot = "/run/containers/storage"
		graphroot = "/var/lib/containers/storage"
	EOF
	cat >"$ROOT/etc/containers/containers.conf" <<-'EOF'
		[engine]
		cgroup_manager = "cgroupfs"
		events_logger = "file"
	EOF
	in_root podman --version >"$READY"
}

# in_root runs a command in the chroot with a clean environment.
in_root() {
	chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		PODMAN_IGNORE_CGROUPSV1_WARNING=1 "$@"
}

answers() { DOCKER_HOST=$CHARMCRAFT_TEST_PODMAN docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start() {
	if answers; then
		log "service already answers at $CHARMCRAFT_TEST_PODMAN"
		return
	fi
	mkdir -p "$ROOT/run/podman"
	rm -f "$SOCK"
	log "starting podman system service at $CHARMCRAFT_TEST_PODMAN (log: $LOG)"
	setsid chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		PODMAN_IGNORE_CGROUPSV1_WARNING=1 podman system service --time=0 unix:///run/podman/podman.sock \
		</dev/null >"$LOG" 2>&1 &
	echo $! >"$PIDFILE"
	for _ in $(seq 1 100); do
		answers && return
		kill -0 "$(cat "$PIDFILE")" 2>/dev/null || die "the service stopped: $(tail -5 "$LOG")"
		sleep 0.2
	done
	die "the service does not answer at $CHARMCRAFT_TEST_PODMAN after 20 s; see $LOG"
}

stop() {
	if [ -f "$PIDFILE" ] && kill "$(cat "$PIDFILE")" 2>/dev/null; then
		log "stopped the service (pid $(cat "$PIDFILE"))"
	else
		log "no service of this script runs"
	fi
	rm -f "$PIDFILE"
}

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mount)"
mode=${1:-}
case "$mode" in
stop)
	stop
	exit 0
	;;
test) shift ;;
"") ;;
*) die "usage: scripts/podman.sh [test [go test flags] | stop]" ;;
esac

t0=$(date +%s)
if [ -f "$READY" ]; then
	mounts
	log "chroot ready at $ROOT: $(cat "$READY")"
else
	set_up
fi
start
t1=$(date +%s)
log "Podman $(DOCKER_HOST=$CHARMCRAFT_TEST_PODMAN docker version --format '{{.Server.Version}}, API {{.Server.APIVersion}}') ready in $((t1 - t0)) s"
echo "CHARMCRAFT_TEST_PODMAN=$CHARMCRAFT_TEST_PODMAN"

if [ "$mode" = test ]; then
	log "e2e tests against Podman"
	go test -count=1 -timeout 10m -run 'TestPodman' -v ./e2e "$@"
	log "tests: $(($(date +%s) - t1)) s"
fi
