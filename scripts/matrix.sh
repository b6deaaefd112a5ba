#!/usr/bin/env bash
# Install and start the real parts the tests run against: Docker daemons
# of three versions and both image stores, a network namespace with
# daemons of their own inside (Docker Desktop's shape), a test CA for TLS
# registries, and Debian's distribution 2.8 registry (the tests start
# registry processes themselves; this only installs it). Needs root;
# Debian 12. Safe to run again: what is installed or answering already is
# kept.
#
#   d20   Debian 12's Docker 20.10, legacy `docker save`   unix:///var/run/docker.sock
#   d26   Docker 26.1.5 (Debian 13's package), classic store, OCI-layout save
#                                                          unix:///run/d26/docker.sock, tcp://127.0.0.1:23750
#   d26c  Docker 26.1.5 with the containerd image store    unix:///run/d26c/docker.sock
#   d28   Docker 28.5.2 (Debian sid's, containerd 2.1.9), classic store
#                                                          unix:///run/d28/docker.sock
#   d28c  Docker 28.5.2 with the containerd image store    unix:///run/d28c/docker.sock
#   d26n  d26c's kind, inside the network namespace        unix:///run/d26n/docker.sock
#   d28n  d28c's kind, inside the network namespace        unix:///run/d28n/docker.sock
#
# The namespace ($NETNS) has its own loopback: the host's, where the plugin
# and the tests listen, cannot be reached from inside. A veth pair joins
# it to the host: $TLS_HOST, a name in /etc/hosts, is the host's end
# ($HOST_ADDR), which is not loopback, so every daemon verifies a
# registry's certificate there. TLS registries of the tests listen on it,
# with certificates signed by the CA made here ($CA_DIR): the daemons
# trust it through /etc/docker/certs.d (written by the tests per
# registry) and, for the token realm, SSL_CERT_FILE; the plugin through
# SSL_CERT_FILE.
#
# D26_DIR and D28_DIR (default /opt/docker26, /opt/docker28) are where
# Docker 26 and 28.5 are unpacked.
#
# It writes what the tests need to know to $MATRIX_ENV (default
# /run/charmcraft-matrix.env): CHARMCRAFT_TEST_DAEMONS, a list of
# name=DOCKER_HOST sharing the host's network; CHARMCRAFT_TEST_NETNS_DAEMONS,
# those in the namespace (reached by TLS registries only);
# CHARMCRAFT_TEST_REGISTRY2, the 2.8 binary; CHARMCRAFT_TEST_CA and
# CHARMCRAFT_TEST_CA_KEY, the CA; CHARMCRAFT_TEST_TLS_HOST, the name.
#
#   scripts/matrix.sh          install and start all
#   scripts/matrix.sh stop     stop the daemons it started
set -euo pipefail

D26_VERSION=26.1.5+dfsg1-9+deb13u1+b1
D26=${D26_DIR:-/opt/docker26}
D28_VERSION=28.5.2+dfsg4-5
D28_CONTAINERD_VERSION=2.1.9+ds1-5
D28=${D28_DIR:-/opt/docker28}
MATRIX_ENV=${MATRIX_ENV:-/run/charmcraft-matrix.env}
TCP_D26=127.0.0.1:23750
NETNS=charmcraft
HOST_ADDR=10.213.0.1
NS_ADDR=10.213.0.2
TLS_HOST=registry.charmcraft.test
CA_DIR=/etc/charmcraft-test

log() { printf '== matrix: %s\n' "$*"; }

install_debian() {
	local missing=()
	command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
	[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
	command -v openssl >/dev/null 2>&1 || missing+=(openssl)
	command -v ip >/dev/null 2>&1 || missing+=(iproute2)
	if [ ${#missing[@]} -gt 0 ]; then
		log "apt-get install ${missing[*]}"
		apt-get update -qq
		# docker.io brings dockerd 20.10, containerd and runc. An existing
		# docker CLI (/usr/local/bin/docker) stays first on PATH.
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
}

# install_from DIR SUITE PACKAGE=VERSION...: extract Debian packages of
# another suite into DIR/root, with a private apt configuration so the
# system's sources stay Debian 12's.
install_from() {
	local dir=$1 suite=$2
	shift 2
	mkdir -p "$dir/lists/partial" "$dir/archives/partial"
	echo "deb http://deb.debian.org/debian $suite main" >"$dir/sources.list"
	local a=(-o "Dir::Etc::sourcelist=$dir/sources.list" -o Dir::Etc::sourceparts=/dev/null
		-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache::Archives=$dir/archives")
	apt-get "${a[@]}" update -qq
	(cd "$dir" && apt-get "${a[@]}" download -qq "$@" 2>/dev/null)
	local p
	for p in "$@"; do
		dpkg -x "$dir/${p%%=*}_${p#*=}_"*.deb "$dir/root"
	done
}

install_docker26() {
	[ -x "$D26/root/usr/sbin/dockerd" ] && return
	log "Docker $D26_VERSION from Debian 13 into $D26"
	install_from "$D26" trixie "docker.io=$D26_VERSION"
}

# Docker 28 needs containerd 2: Debian sid's, beside its dockerd, found on
# the PATH start gives it (its config, written by dockerd, is version 3).
install_docker28() {
	[ -x "$D28/root/usr/sbin/dockerd" ] && [ -x "$D28/root/usr/bin/containerd" ] && return
	log "Docker $D28_VERSION and containerd $D28_CONTAINERD_VERSION from Debian sid into $D28"
	install_from "$D28" sid "docker.io=$D28_VERSION" "containerd=$D28_CONTAINERD_VERSION"
}

# make_ca makes the test CA once; the tests sign registry certificates
# with it. roots.pem is the system's roots and the CA: the daemons'
# SSL_CERT_FILE.
make_ca() {
	mkdir -p "$CA_DIR"
	if [ ! -s "$CA_DIR/ca.crt" ] || [ ! -s "$CA_DIR/ca.key" ]; then
		log "test CA in $CA_DIR"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
			-subj '/CN=docker-charmcraft test CA' -addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign \
			-keyout "$CA_DIR/ca.key" -out "$CA_DIR/ca.crt" 2>/dev/null
		chmod 600 "$CA_DIR/ca.key"
	fi
	cat /etc/ssl/certs/ca-certificates.crt "$CA_DIR/ca.crt" >"$CA_DIR/roots.pem" 2>/dev/null ||
		cp "$CA_DIR/ca.crt" "$CA_DIR/roots.pem"
}

# make_netns makes the namespace and its veth pair, and names the host's
# end in /etc/hosts.
make_netns() {
	[ -e "/run/netns/$NETNS" ] || ip netns add "$NETNS"
	if ! ip link show cc-host >/dev/null 2>&1; then
		log "network namespace $NETNS: $NS_ADDR, host's end $HOST_ADDR ($TLS_HOST)"
		ip link add cc-host type veth peer name cc-ns netns "$NETNS"
		ip addr add "$HOST_ADDR/30" dev cc-host
		ip -n "$NETNS" addr add "$NS_ADDR/30" dev cc-ns
	fi
	ip link set cc-host up
	ip -n "$NETNS" link set cc-ns up
	ip -n "$NETNS" link set lo up
	grep -q "[[:space:]]$TLS_HOST\$" /etc/hosts || echo "$HOST_ADDR $TLS_HOST" >>/etc/hosts
}

# start NAME HOST DOCKERD ARGS...: start a daemon unless HOST answers. With
# NETNS_EXEC set (a command prefix), it starts inside the namespace:
# nsenter enters its network only (ip netns exec would also remount /sys,
# hiding the cgroups dockerd needs).
start() {
	local name=$1 host=$2 bin=$3
	shift 3
	if DOCKER_HOST=$host docker info >/dev/null 2>&1; then
		log "$name answers already at $host"
		return
	fi
	mkdir -p "/var/lib/charmcraft-$name" "/run/charmcraft-$name" "$(dirname "${host#unix://}")"
	log "starting $name (log: /tmp/dockerd-$name.log)"
	# Each daemon runs its own containerd under its exec root: a Docker 26
	# dockerd would otherwise join /run/containerd/containerd.sock. The
	# binaries beside dockerd come first on PATH (Docker 28's containerd 2).
	# SSL_CERT_FILE: the containerd store fetches registry tokens with Go's
	# default roots, not /etc/docker/certs.d.
	# shellcheck disable=SC2086 # NETNS_EXEC is a command prefix
	nohup ${NETNS_EXEC:-} env SSL_CERT_FILE="$CA_DIR/roots.pem" \
		PATH="$(dirname "$bin"):$(dirname "$(dirname "$bin")")/bin:$PATH" "$bin" \
		--iptables=false --ip6tables=false --bridge=none \
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

DAEMONS=(d20 d26 d26c d28 d28c)
NETNS_DAEMONS=(d26n d28n)

stop() {
	for name in "${DAEMONS[@]}" "${NETNS_DAEMONS[@]}"; do
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
install_docker28
make_ca
make_netns
for name in d26c d28c d26n d28n; do
	echo '{"features": {"containerd-snapshotter": true}}' >"/run/charmcraft-$name.json"
done

start d20 unix:///var/run/docker.sock /usr/sbin/dockerd \
	--storage-driver=vfs -H unix:///var/run/docker.sock
start d26 unix:///run/d26/docker.sock "$D26/root/usr/sbin/dockerd" \
	--storage-driver=vfs -H unix:///run/d26/docker.sock -H "tcp://$TCP_D26"
# The containerd store needs containerd's native snapshotter (vfs is not one).
start d26c unix:///run/d26c/docker.sock "$D26/root/usr/sbin/dockerd" \
	--config-file=/run/charmcraft-d26c.json --storage-driver=native -H unix:///run/d26c/docker.sock
start d28 unix:///run/d28/docker.sock "$D28/root/usr/sbin/dockerd" \
	--storage-driver=vfs -H unix:///run/d28/docker.sock
start d28c unix:///run/d28c/docker.sock "$D28/root/usr/sbin/dockerd" \
	--config-file=/run/charmcraft-d28c.json --storage-driver=native -H unix:///run/d28c/docker.sock
NETNS_EXEC="nsenter --net=/run/netns/$NETNS" start d26n unix:///run/d26n/docker.sock "$D26/root/usr/sbin/dockerd" \
	--config-file=/run/charmcraft-d26n.json --storage-driver=native -H unix:///run/d26n/docker.sock
NETNS_EXEC="nsenter --net=/run/netns/$NETNS" start d28n unix:///run/d28n/docker.sock "$D28/root/usr/sbin/dockerd" \
	--config-file=/run/charmcraft-d28n.json --storage-driver=native -H unix:///run/d28n/docker.sock

hosts() {
	local list=() name
	for name in "$@"; do
		local host=unix:///run/$name/docker.sock
		[ "$name" = d20 ] && host=unix:///var/run/docker.sock
		wait_for "$name" "$host" >&2
		list+=("$name=$host")
	done
	(IFS=,; echo "${list[*]}")
}
daemons=$(hosts "${DAEMONS[@]}")
netns_daemons=$(hosts "${NETNS_DAEMONS[@]}")

cat >"$MATRIX_ENV" <<EOF
CHARMCRAFT_TEST_DAEMONS=$daemons
CHARMCRAFT_TEST_NETNS_DAEMONS=$netns_daemons
CHARMCRAFT_TEST_DOCKER_TCP=tcp://$TCP_D26
CHARMCRAFT_TEST_REGISTRY2=/usr/bin/docker-registry
CHARMCRAFT_TEST_CA=$CA_DIR/ca.crt
CHARMCRAFT_TEST_CA_KEY=$CA_DIR/ca.key
CHARMCRAFT_TEST_TLS_HOST=$TLS_HOST
EOF
log "settings in $MATRIX_ENV"
