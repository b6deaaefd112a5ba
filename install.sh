#!/usr/bin/env bash
# Install docker-charmcraft where the docker CLI finds plugins.
#
#   ./install.sh               into $DOCKER_CONFIG/cli-plugins, else ~/.docker/cli-plugins
#   ./install.sh --system      into /usr/local/lib/docker/cli-plugins (for every user)
#   ./install.sh --from-source build with Go even when dist/ holds a prebuilt plugin
#
# Takes dist/docker-charmcraft-<os>-<arch> (from `make release`; another
# directory with CHARMCRAFT_DIST) when it is there and matches
# dist/SHA256SUMS, else builds from source with Go. Running it again
# replaces the installed plugin. Written for macOS's bash 3.2 and BSD tools
# as well as GNU ones: it sticks to POSIX sh.
set -eu

usage() {
	sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
}

die() {
	echo "install.sh: $*" >&2
	exit 1
}

system=0
from_source=0
while [ $# -gt 0 ]; do
	case "$1" in
	--system) system=1 ;;
	--from-source) from_source=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "install.sh: unknown option '$1'" >&2
		usage >&2
		exit 2
		;;
	esac
	shift
done

here=$(cd "$(dirname "$0")" && pwd)
dist=${CHARMCRAFT_DIST:-$here/dist}

# The platform, named as Go names it.
case "$(uname -s)" in
Linux) os=linux ;;
Darwin) os=darwin ;;
MINGW* | MSYS* | CYGWIN*) os=windows ;;
*) os=$(uname -s | tr '[:upper:]' '[:lower:]') ;;
esac
case "$(uname -m)" in
x86_64 | amd64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
*) arch=$(uname -m) ;;
esac
# A shell under Rosetta 2 says x86_64 on Apple silicon: take the native build.
if [ "$os" = darwin ] && [ "$arch" = amd64 ] &&
	[ "$(sysctl -in sysctl.proc_translated 2>/dev/null)" = 1 ]; then
	arch=arm64
fi
exe=
if [ "$os" = windows ]; then exe=.exe; fi
plugin=docker-charmcraft$exe

if [ "$system" = 1 ]; then
	dest=/usr/local/lib/docker/cli-plugins
else
	dest="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/docker-charmcraft.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# sha256 FILE prints FILE's SHA-256 in hex.
sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d ' ' -f 1
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | cut -d ' ' -f 1
	else
		die "neither sha256sum nor shasum is here to check $1"
	fi
}

prebuilt=docker-charmcraft-$os-$arch$exe
if [ "$from_source" = 0 ] && [ -f "$dist/$prebuilt" ]; then
	[ -f "$dist/SHA256SUMS" ] ||
		die "$dist/$prebuilt has no $dist/SHA256SUMS to check it against: run 'make release' again, or use --from-source"
	# sha256sum lines: HASH, a space, then a space (text) or '*' (binary), then the name.
	want=$(awk -v n="$prebuilt" '$2 == n || $2 == "*" n { print $1; exit }' "$dist/SHA256SUMS")
	[ -n "$want" ] ||
		die "$dist/SHA256SUMS has no line for $prebuilt: run 'make release' again, or use --from-source"
	got=$(sha256 "$dist/$prebuilt")
	if [ "$(echo "$want" | tr '[:upper:]' '[:lower:]')" != "$got" ]; then
		die "$dist/$prebuilt does not match $dist/SHA256SUMS (sha256 $got, want $want): not installing it. Run 'make release' again, or use --from-source"
	fi
	cp "$dist/$prebuilt" "$tmp/$plugin"
	echo "Using $dist/$prebuilt (sha256 $got, as in SHA256SUMS)"
else
	command -v go >/dev/null 2>&1 ||
		die "Go is needed to build the plugin (https://go.dev/dl/), or run 'make release' elsewhere and copy dist/ here"
	version=$(git -C "$here" describe --tags --always --dirty 2>/dev/null || echo dev)
	echo "Building docker-charmcraft $version for $os/$arch"
	(cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$version" \
		-o "$tmp/$plugin" ./cmd/docker-charmcraft)
fi

hint=
if [ "$system" = 1 ]; then hint=" (--system: run it with sudo)"; fi
if ! mkdir -p "$dest" 2>/dev/null || ! [ -w "$dest" ]; then die "cannot write to $dest$hint"; fi
# Copy then rename, so a running docker never sees a half-written plugin.
cp "$tmp/$plugin" "$dest/.$plugin.new"
chmod 755 "$dest/.$plugin.new"
mv -f "$dest/.$plugin.new" "$dest/$plugin"
version=$("$dest/$plugin" docker-cli-plugin-metadata 2>/dev/null |
	sed -n 's/.*"Version": *"\([^"]*\)".*/\1/p') || true
echo "Installed $dest/$plugin${version:+ (version $version)}"

if ! command -v docker >/dev/null 2>&1; then
	echo "The docker CLI is not on PATH: install it, then run 'docker charmcraft --help'." >&2
	exit 0
fi
if docker charmcraft --help >/dev/null 2>&1; then
	echo "Check: 'docker charmcraft --help' works."
	exit 0
fi

# The docker CLI looks in its config directory's cli-plugins/, in the
# directories listed as cliPluginsExtraDirs in its config.json, then in
# system directories such as /usr/local/lib/docker/cli-plugins.
config="${DOCKER_CONFIG:-$HOME/.docker}/config.json"
{
	echo "The docker CLI does not see the plugin in $dest."
	echo "- If docker uses another config directory (DOCKER_CONFIG, --config), set"
	echo "  DOCKER_CONFIG to it and run install.sh again."
	echo "- Or list the directory in docker's config file, $config"
	echo "  (Docker Desktop keeps its own plugins there this way):"
	echo "    \"cliPluginsExtraDirs\": [\"$dest\"]"
	if command -v brew >/dev/null 2>&1; then
		brew_plugins="$(brew --prefix 2>/dev/null)/lib/docker/cli-plugins"
		echo "- With Homebrew's docker, plugins go in $brew_plugins, which docker"
		echo "  reads only when it is in cliPluginsExtraDirs too. To keep this plugin there:"
		echo "    cp \"$dest/$plugin\" \"$brew_plugins/\""
	fi
	if [ "$os" = darwin ]; then
		echo "- If macOS refuses to run a plugin copied from another machine:"
		echo "    xattr -d com.apple.quarantine \"$dest/$plugin\""
	fi
	echo "Then check with: docker charmcraft --help"
} >&2
exit 1
