#!/usr/bin/env bash
# Install (Debian's docker.io) and start a Docker daemon for the tests, if
# none answers yet. Needs root. Safe to run again.
set -eu

if docker version >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
	echo "A Docker daemon already answers."
	exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
	apt-get update -qq
	# docker.io brings dockerd, containerd and runc. Keep an existing docker
	# CLI (e.g. /usr/local/bin/docker) first on PATH.
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
mkdir -p /var/lib/docker-ci /run/docker-ci
nohup dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
	--data-root=/var/lib/docker-ci --exec-root=/run/docker-ci \
	-H unix:///var/run/docker.sock >/tmp/dockerd.log 2>&1 &
for _ in $(seq 1 60); do
	if docker info >/dev/null 2>&1; then
		echo "Docker daemon started (log: /tmp/dockerd.log)."
		exit 0
	fi
	sleep 1
done
echo "The Docker daemon did not start; its log:" >&2
tail -n 50 /tmp/dockerd.log >&2
exit 1
