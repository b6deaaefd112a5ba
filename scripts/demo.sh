#!/usr/bin/env bash
# `make demo`: try docker charmcraft end to end, with no Charmhub account.
#
# Builds the plugin into a temporary docker config directory (or, with
# DEMO_USE_INSTALLED=1, uses the installed one), starts cmd/charmhub-sandbox
# (a stand-in Charmhub and a real registry on loopback), builds a tiny
# FROM scratch image on the local Docker daemon, uploads a file and the
# image (twice: the second time the registry already has it), then lists
# the resources and revisions. Each command is shown before its output.
# Without a Docker daemon the file part still runs; without the docker CLI
# the plugin runs on its own. Everything is removed on exit.
set -eu

cd "$(dirname "$0")/.."
repo=$(pwd)

# note prints its arguments as comment lines, after a blank line.
note() {
	echo
	for line in "$@"; do echo "# $line"; done
}
die() {
	echo "demo: $*" >&2
	exit 1
}

command -v go >/dev/null 2>&1 || die "Go is needed to build the plugin and the sandbox: install Go 1.26 (https://go.dev/dl/) and run make demo again"

work=$(mktemp -d "${TMPDIR:-/tmp}/charmcraft-demo.XXXXXX")
sandbox_pid=
image_id=
cleanup() {
	if [ -n "$sandbox_pid" ]; then kill "$sandbox_pid" 2>/dev/null || true; fi
	if [ -n "$image_id" ]; then docker rmi -f "$image_id" >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The docker CLI, its daemon, and the plugin.
have_cli=0
have_daemon=0
if command -v docker >/dev/null 2>&1; then
	have_cli=1
	# Keep reaching the daemon of the current context (Docker Desktop's,
	# say) once DOCKER_CONFIG points elsewhere.
	if [ -z "${DOCKER_HOST:-}" ]; then
		host=$(docker context inspect --format '{{.Endpoints.docker.Host}}' 2>/dev/null || true)
		if [ -n "$host" ]; then export DOCKER_HOST="$host"; fi
	fi
	if docker info >/dev/null 2>&1; then have_daemon=1; fi
fi

echo "Building the plugin and the Charmhub sandbox..."
go build -o "$work/charmhub-sandbox" ./cmd/charmhub-sandbox
# The demo's pushes must not fill (or use) the user's own layer cache.
export CHARMCRAFT_CACHE_DIR="$work/cache"
if [ "${DEMO_USE_INSTALLED:-0}" = 1 ] && [ $have_cli = 1 ] && docker charmcraft --version >/dev/null 2>&1; then
	echo "Using the installed plugin: $(docker charmcraft --version)"
else
	mkdir -p "$work/docker/cli-plugins"
	go build -o "$work/docker/cli-plugins/docker-charmcraft" ./cmd/docker-charmcraft
	export DOCKER_CONFIG="$work/docker"
fi
if [ $have_cli = 1 ]; then
	charmcraft() { docker charmcraft "$@"; }
	prog="docker charmcraft"
else
	echo "No docker CLI found: running the plugin on its own, as docker-charmcraft. Install the docker CLI to use it as docker charmcraft."
	charmcraft() { "$work/docker/cli-plugins/docker-charmcraft" "$@"; }
	prog="docker-charmcraft"
fi

# The sandbox writes its environment file whole once it is ready.
"$work/charmhub-sandbox" -env-file "$work/sandbox.env" >"$work/sandbox.log" 2>&1 &
sandbox_pid=$!
for _ in $(seq 1 300); do
	[ -f "$work/sandbox.env" ] && break
	kill -0 "$sandbox_pid" 2>/dev/null || die "the sandbox stopped: $(cat "$work/sandbox.log")"
	sleep 0.1
done
[ -f "$work/sandbox.env" ] || die "the sandbox did not start within 30s: $(cat "$work/sandbox.log")"
# shellcheck disable=SC1091
. "$work/sandbox.env"
note "A stand-in Charmhub runs at $CHARMCRAFT_STORE_API_URL with charm my-charm," \
	"resources my-file (file) and my-image (oci-image); CHARMCRAFT_AUTH holds its token."

cd "$work"
head -c 1048576 /dev/urandom >data.bin
run() {
	printf '\n$ %s %s\n' "$prog" "$*"
	charmcraft "$@"
}
run whoami
run upload-resource my-charm my-file --filepath=./data.bin --arch=amd64,arm64

if [ $have_daemon = 1 ]; then
	mkdir image
	head -c 2097152 /dev/urandom >image/payload.bin
	echo "hello from a charm resource" >image/hello.txt
	printf 'FROM scratch\nCOPY payload.bin /payload.bin\nCOPY hello.txt /hello.txt\n' >image/Dockerfile
	note "Building a tiny FROM scratch image on the local Docker daemon:"
	printf '$ DOCKER_BUILDKIT=0 docker build -q ./image\n'
	image_id=$(DOCKER_BUILDKIT=0 docker build -q ./image 2>"$work/build.log") || die "docker build failed: $(cat "$work/build.log")"
	echo "$image_id"
	short=$(echo "$image_id" | sed 's/^sha256://' | cut -c1-12)
	run upload-resource my-charm my-image --image="$short"
	note "Again: the same image gives the same remote digest, whose manifest the registry holds already."
	run upload-resource my-charm my-image --image="$short"
elif [ $have_cli = 1 ]; then
	note "No Docker daemon answers (docker info failed): skipping the image part, which needs a daemon" \
		"to build the image and export it. Start Docker (as root on Debian: scripts/matrix.sh)" \
		"and run make demo again to see it."
else
	note "No docker CLI: skipping the image part, which needs the docker CLI and a Docker daemon."
fi

run resources my-charm
run resource-revisions my-charm my-file
if [ $have_daemon = 1 ]; then run resource-revisions my-charm my-image; fi

cd "$repo"
note "Done. The sandbox, the image and the temporary files are removed now."
