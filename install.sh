#!/usr/bin/env bash
# Build docker-charmcraft and install it where the docker CLI finds plugins.
#
#   ./install.sh            into $DOCKER_CONFIG/cli-plugins, else ~/.docker/cli-plugins
#   ./install.sh --system   into /usr/local/lib/docker/cli-plugins (for every user)
#
# Running it again replaces the installed plugin. Written for bash 3.2 and
# BSD tools as well as GNU ones.
set -eu

usage() {
	sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
}

system=0
for arg in "$@"; do
	case "$arg" in
	--system) system=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "install.sh: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
	esac
done

here=$(cd "$(dirname "$0")" && pwd)
if [ "$system" = 1 ]; then
	dest=/usr/local/lib/docker/cli-plugins
else
	dest="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
fi

if ! command -v go >/dev/null 2>&1; then
	echo "install.sh: Go is needed to build the plugin (https://go.dev/dl/)" >&2
	exit 1
fi
version=$(git -C "$here" describe --tags --always --dirty 2>/dev/null || echo dev)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/docker-charmcraft.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "Building docker-charmcraft $version"
(cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$version" \
	-o "$tmp/docker-charmcraft" ./cmd/docker-charmcraft)

mkdir -p "$dest"
# Copy then rename, so a running docker never sees a half-written plugin.
cp "$tmp/docker-charmcraft" "$dest/.docker-charmcraft.new"
chmod 755 "$dest/.docker-charmcraft.new"
mv -f "$dest/.docker-charmcraft.new" "$dest/docker-charmcraft"
echo "Installed $dest/docker-charmcraft"

if ! command -v docker >/dev/null 2>&1; then
	echo "The docker CLI is not on PATH: install it, then run 'docker charmcraft --help'." >&2
	exit 0
fi
if docker charmcraft --help >/dev/null 2>&1; then
	echo "Check: 'docker charmcraft --help' works."
else
	echo "The docker CLI does not see the plugin in $dest." >&2
	echo "If docker uses another config directory, set DOCKER_CONFIG and run again, or add" >&2
	echo "\"cliPluginsExtraDirs\": [\"$dest\"] to its config.json (Docker Desktop)." >&2
	exit 1
fi
