#!/usr/bin/env bash
# Run the Windows build of the plugin for real: docker-charmcraft.exe,
# standalone, under Wine 10 in a Debian 13 (trixie) chroot, against the
# test Charmhub, a real registry and a real Docker daemon on loopback TCP
# (the suite in e2e/windows). Debian 12's own Wine 8 cannot start Go 1.26
# programs. Needs root, debootstrap (installed if missing) and the daemon
# scripts/matrix.sh starts.
#
#   scripts/windows-e2e.sh [go test flags]    e.g. -run TestCtrlC
#
#   WINE_ROOT   the chroot, made once and kept (default /srv/trixie)
#   MATRIX_ENV  what scripts/matrix.sh wrote (default /run/charmcraft-matrix.env);
#               its CHARMCRAFT_TEST_DOCKER_TCP names the daemon, unless already set
#
# Setting the chroot up takes 1.5 to 10 minutes (mostly downloads); once
# there, it is only checked.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOFLAGS=${GOFLAGS:--mod=mod}

ROOT=${WINE_ROOT:-/srv/trixie}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
MATRIX_ENV=${MATRIX_ENV:-/run/charmcraft-matrix.env}
WINE_USER=charm # Wine runs as a user, not root, so that file modes hold
READY=$ROOT/.charmcraft-wine-ready

log() { printf '== windows: %s\n' "$*"; }
die() {
	printf 'windows-e2e: %s\n' "$*" >&2
	exit 1
}

# as_user runs a command as the Wine user in the chroot.
as_user() {
	chroot --userspec="$WINE_USER:$WINE_USER" "$ROOT" /usr/bin/env -i -C "/home/$WINE_USER" \
		HOME="/home/$WINE_USER" USER="$WINE_USER" PATH=/usr/bin:/bin WINEDEBUG=-all "$@"
}

set_up() {
	[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"
	if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
		[ ! -e "$ROOT" ] || [ -z "$(ls -A "$ROOT")" ] ||
			die "$ROOT holds something other than a finished chroot: remove it (umount $ROOT/proc first) or set WINE_ROOT"
		command -v debootstrap >/dev/null || {
			apt-get update -qq
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
		}
		log "debootstrap trixie into $ROOT"
		debootstrap --variant=minbase trixie "$ROOT" "$MIRROR" >/tmp/windows-e2e-debootstrap.log 2>&1 ||
			die "debootstrap failed; see /tmp/windows-e2e-debootstrap.log"
	fi
	[ ! -d "$ROOT/debootstrap" ] || die "$ROOT is a debootstrap that did not finish: remove it and run again"
	cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
	mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
	if [ ! -x "$ROOT/usr/lib/wine/wine64" ]; then
		log "apt-get install wine wine64 in the chroot"
		chroot "$ROOT" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wine wine64' \
			>/tmp/windows-e2e-apt.log 2>&1 || die "installing Wine failed; see /tmp/windows-e2e-apt.log"
	fi
	chroot "$ROOT" id "$WINE_USER" >/dev/null 2>&1 || chroot "$ROOT" useradd -m -s /bin/sh "$WINE_USER"
	mkdir -p "$ROOT/w"
	chmod 755 "$ROOT/w"
	if [ ! -f "$ROOT/home/$WINE_USER/.wine/system.reg" ]; then
		log "creating the Wine prefix"
		# No wine32: wineboot fails to start syswow64\rundll32.exe, which
		# the 64-bit prefix does not need.
		as_user /usr/lib/wine/wine64 wineboot -i >/tmp/windows-e2e-wineboot.log 2>&1 || true
		as_user /usr/lib/wine/wineserver -w # the registry files are written when it ends
		[ -f "$ROOT/home/$WINE_USER/.wine/system.reg" ] || die "wineboot made no prefix; see /tmp/windows-e2e-wineboot.log"
	fi
	chroot "$ROOT" /usr/lib/wine/wine64 --version >"$READY"
}

# daemon sets CHARMCRAFT_TEST_DOCKER_TCP from scripts/matrix.sh's settings
# and waits until the daemon answers there (Docker 26 on plain TCP waits
# about 15 s before it does).
daemon() {
	if [ -z "${CHARMCRAFT_TEST_DOCKER_TCP:-}" ] && [ -f "$MATRIX_ENV" ]; then
		CHARMCRAFT_TEST_DOCKER_TCP=$(sed -n 's/^CHARMCRAFT_TEST_DOCKER_TCP=//p' "$MATRIX_ENV")
	fi
	[ -n "${CHARMCRAFT_TEST_DOCKER_TCP:-}" ] ||
		die "no Docker daemon on loopback TCP: run scripts/matrix.sh first (or set CHARMCRAFT_TEST_DOCKER_TCP=tcp://127.0.0.1:PORT)"
	export CHARMCRAFT_TEST_DOCKER_TCP
	for _ in $(seq 1 60); do
		if DOCKER_HOST=$CHARMCRAFT_TEST_DOCKER_TCP docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
			log "daemon at $CHARMCRAFT_TEST_DOCKER_TCP: Docker $(DOCKER_HOST=$CHARMCRAFT_TEST_DOCKER_TCP docker version --format '{{.Server.Version}}')"
			return
		fi
		sleep 1
	done
	die "the Docker daemon at $CHARMCRAFT_TEST_DOCKER_TCP does not answer"
}

t0=$(date +%s)
if [ -f "$READY" ]; then
	mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
	log "chroot ready at $ROOT: $(cat "$READY")"
else
	set_up
fi
t1=$(date +%s)
log "set-up: $((t1 - t0)) s"

daemon
log "building docker-charmcraft.exe and the Windows unit tests of internal/transport"
# Built as `make cross` builds (no -trimpath), so that its packages are reused.
CGO_ENABLED=0 GOOS=windows GOARCH=amd64 go build -ldflags '-X main.version=windows-e2e' \
	-o "$ROOT/w/docker-charmcraft.exe" ./cmd/docker-charmcraft
CGO_ENABLED=0 GOOS=windows GOARCH=amd64 go test -c -o "$ROOT/w/transport.test.exe" ./internal/transport
t2=$(date +%s)
log "build: $((t2 - t1)) s"

# The transport tests, Windows build, under Wine: the connection-reset
# classifier among them. One walks the source tree, which is not in the
# chroot.
log "internal/transport tests under Wine"
as_user /usr/lib/wine/wine64 'Z:\w\transport.test.exe' -test.count=1 -test.skip TestNobodySkipsVerification

log "e2e/windows under Wine"
CHARMCRAFT_WINE_ROOT=$ROOT CHARMCRAFT_WINE_USER=$WINE_USER CHARMCRAFT_WINE_EXE=$ROOT/w/docker-charmcraft.exe \
	CHARMCRAFT_REQUIRE_DOCKER=1 go test -count=1 -timeout 10m -v ./e2e/windows "$@"
t3=$(date +%s)
log "set-up $((t1 - t0)) s, build $((t2 - t1)) s, tests $((t3 - t2)) s"
