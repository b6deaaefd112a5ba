#!/usr/bin/env bash
# Install and start the real parts the tests run against: three Docker
# daemons and Debian's distribution 2.8 registry (the tests start registry
# processes themselves; this only installs it). Needs root; Debian 12.
# Safe to run again: what is installed or answering already is kept.
#
#   d20   Debian 12's Docker 20.10, legacy `docker save`   unix:///var/run/docker.sock
#   d26   Docker 26.1.5 (Debian 13's package), classic store, OCI-layout save
#                                                          unix:///run/d26/docker.sock, tcp://127.0.0.1:23750
#   d26c  Docker 26.1.5 with the containerd image store    unix:///run/d26c/docker.sock
#
# It writes what the tests need to know to $MATRIX_ENV (default
# /run/charmcraft-matrix.env): CHARMCRAFT_TEST_DAEMONS, a list of
# name=DOCKER_HOST, and CHARMCRAFT_TEST_REGISTRY2, the 2.8 binary.
#
#   scripts/matrix.sh          install and start all
#   scripts/matrix.sh stop     stop the daemons it started
set -euo pipefail

D26_VERSION=26.1.5+dfsg1-9+deb13u1+b1
D26=/opt/docker26
MATRIX_ENV=${MATRIX_ENV:-/run/charmcraft-matrix.env}
TCP_D26=127.0.0.1:23750

log() { printf '== matrix: %s\n' "$*"; }

install_debian() {
	local missing=()
	command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
	[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
	if [ ${#missing[@]} -gt 0 ]; then
		log "apt-get install ${missing[*]}"
		apt-get update -qq
		# docker.io brings dockerd 20.10, containerd and runc. An existing
		# docker CLI (/usr/local/bin/docker) stays first on PATH.
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
}

# install_docker26 extracts Debian 13's docker.io beside the system's,
# with a private apt configuration so the system's sources stay Debian 12's.
install_docker26() {
	[ -x "$D26/root/usr/sbin/dockerd" ] && return
	log "Docker $D26_VERSION from Debian 13 into $D26"
	mkdir -p "$D26/lists/partial" "$D26/archives/partial"
	echo 'deb http://deb.debian.org/debian trixie main' >"$D26/sources.list"
	local a=(-o "Dir::Etc::sourcelist=$D26/sources.list" -o Dir::Etc::sourceparts=/dev/null
		-o "Dir::State::Lists=$D26/lists" -o "Dir::Cache::Archives=$D26/archives")
	apt-get "${a[@]}" update -qq
	(cd "$D26" && apt-get "${a[@]}" download -qq "docker.io=$D26_VERSION" 2>/dev/null)
	dpkg -x "$D26"/docker.io_*.deb "$D26/root"
}

# start NAME HOST DOCKERD ARGS...: start a daemon unless HOST answers.
start() {
	local name=$1 host=$2 bin=$3
	shift 3
	if DOCKER_HOST=$host docker info >/dev/null 2>&1; then
		log "$name answers already at $host"
		return
	fi
	mkdir -p "/var/lib/charmcraft-$name" "/run/charmcraft-$name"
	log "starting $name (log: /tmp/dockerd-$name.log)"
	# Each daemon runs its own containerd under its exec root: a Docker 26
	# dockerd would otherwise join /run/containerd/containerd.sock.
	nohup env PATH="$(dirname "$bin"):$PATH" "$bin" --iptables=false --ip6tables=false --bridge=none \
		--data-root="/var/lib/charmcraft-$name" --exec-root="/run/charmcraft-$name" \
		--pidfile="/run/charmcraft-$name/dockerd.pid" "$@" >"/tmp/dockerd-$name.log" 2>&1 &
}

wait_for() {
	local name=$1 host=$2
	for _ in $(seq 1 120); do
		if DOCKER_HOST=$host docker info >/dev/null 2>&1; then
			log "$name: $(DOCKER_HOST=$host docker version --format 'daemon {{.Server.Version}}, API {{.Server.APIVersion}}')"
			return
		fi
		sleep 1
	done
	echo "Docker daemon $name did not answer at $host; its log:" >&2
	tail -n 40 "/tmp/dockerd-$name.log" >&2
	exit 1
}

stop() {
	for name in d20 d26 d26c; do
		local pidfile=/run/charmcraft-$name/dockerd.pid
		if [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null; then
			log "stopped $name"
		fi
	done
}

if [ "${1:-}" = stop ]; then
	stop
	exit 0
fi

install_debian
install_docker26
mkdir -p /run/d26 /run/d26c
echo '{"features": {"containerd-snapshotter": true}}' >/run/charmcraft-d26c.json

start d20 unix:///var/run/docker.sock /usr/sbin/dockerd \
	--storage-driver=vfs -H unix:///var/run/docker.sock
start d26 unix:///run/d26/docker.sock "$D26/root/usr/sbin/dockerd" \
	--storage-driver=vfs -H unix:///run/d26/docker.sock -H "tcp://$TCP_D26"
# The containerd store needs containerd's native snapshotter (vfs is not one).
start d26c unix:///run/d26c/docker.sock "$D26/root/usr/sbin/dockerd" \
	--config-file=/run/charmcraft-d26c.json --storage-driver=native -H unix:///run/d26c/docker.sock

wait_for d20 unix:///var/run/docker.sock
wait_for d26 unix:///run/d26/docker.sock
wait_for d26c unix:///run/d26c/docker.sock

cat >"$MATRIX_ENV" <<EOF
CHARMCRAFT_TEST_DAEMONS=d20=unix:///var/run/docker.sock,d26=unix:///run/d26/docker.sock,d26c=unix:///run/d26c/docker.sock
CHARMCRAFT_TEST_DOCKER_TCP=tcp://$TCP_D26
CHARMCRAFT_TEST_REGISTRY2=/usr/bin/docker-registry
EOF
log "settings in $MATRIX_ENV"
