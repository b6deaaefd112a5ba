#!/usr/bin/env bash
# Install docker-charmcraft where the docker CLI finds plugins.
#
#   install.sh                  into $DOCKER_CONFIG/cli-plugins, else ~/.docker/cli-plugins
#   install.sh --system         into /usr/local/lib/docker/cli-plugins (for every user)
#   install.sh --version=V      download release V (v1.2.0, or latest) and install it
#   install.sh --url=URL        download the release whose files are at URL
#   install.sh --from-source    build with Go even when dist/ holds a prebuilt plugin
#
# A download is checked against the release's SHA256SUMS before anything
# is installed; it needs curl or wget. Without --version or --url, takes
# dist/docker-charmcraft-<os>-<arch> (from `make release`; another
# directory with CHARMCRAFT_DIST) when it matches dist/SHA256SUMS, else
# builds with Go in a source tree, else downloads the latest release.
# Releases come from CHARMCRAFT_RELEASES_URL, by default
# https://github.com/canonical/docker-charmcraft/releases. Running it
# again replaces the installed plugin. Written for macOS's bash 3.2 and
# BSD tools as well as GNU ones: it sticks to POSIX sh.
set -eu

usage() {
	echo 'Usage: install.sh [--system] [--version=V | --url=URL | --from-source]'
	echo
	echo '  --system       install into /usr/local/lib/docker/cli-plugins (for every user)'
	echo '  --version=V    download release V (v1.2.0, or latest), check its sha256, install it'
	echo '  --url=URL      the same, from the release files at URL'
	echo '  --from-source  build with Go even when dist/ holds a prebuilt plugin'
	echo
	echo "Without an option: dist/ from 'make release' if it is there, else a build"
	echo 'with Go in a source tree, else the latest release.'
}

die() {
	echo "install.sh: $*" >&2
	exit 1
}

system=0
from_source=0
release=
release_url=
while [ $# -gt 0 ]; do
	case "$1" in
	--system) system=1 ;;
	--from-source) from_source=1 ;;
	--version=*) release=${1#--version=} ;;
	--url=*) release_url=${1#--url=} ;;
	--version | --url)
		[ $# -gt 1 ] || die "$1 needs a value"
		if [ "$1" = --version ]; then release=$2; else release_url=$2; fi
		shift
		;;
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

if [ -n "$release" ] && [ -n "$release_url" ]; then die "give --version or --url, not both"; fi
if [ "$from_source" = 1 ] && [ -n "$release$release_url" ]; then die "--from-source builds here: it takes no --version or --url"; fi

# Piped into sh ($0 is then the shell), there is no source tree beside it.
here=$(cd "$(dirname "$0")" && pwd)
dist=${CHARMCRAFT_DIST:-$here/dist}
source_tree=0
if [ -f "$here/go.mod" ] && [ -d "$here/cmd/docker-charmcraft" ]; then source_tree=1; fi

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

# fetch URL FILE downloads URL into FILE, failing on an HTTP error.
fetch() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL --proto '=http,https' -o "$2" "$1"
	elif command -v wget >/dev/null 2>&1; then
		wget -q -O "$2" "$1"
	else
		die "neither curl nor wget is here to download $1"
	fi
}

# expected_sum SUMS NAME prints NAME's hash in the sha256sum file SUMS.
expected_sum() {
	# sha256sum lines: HASH, a space, then a space (text) or '*' (binary), then the name.
	awk -v n="$2" '$2 == n || $2 == "*" n { print $1; exit }' "$1"
}

prebuilt=docker-charmcraft-$os-$arch$exe
if [ "$from_source" = 0 ] && [ -z "$release$release_url" ] && ! [ -f "$dist/$prebuilt" ] && [ "$source_tree" = 0 ]; then
	release=latest
fi
if [ -n "$release$release_url" ]; then
	releases=${CHARMCRAFT_RELEASES_URL:-https://github.com/canonical/docker-charmcraft/releases}
	releases=${releases%/}
	if [ -n "$release_url" ]; then
		base=${release_url%/}
	elif [ "$release" = latest ]; then
		base=$releases/latest/download
	else
		case "$release" in v*) ;; *) release=v$release ;; esac
		base=$releases/download/$release
	fi
	echo "Downloading $base/$prebuilt"
	fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS" ||
		die "cannot download $base/SHA256SUMS: is ${release_url:-$release} a release? (see $releases)"
	want=$(expected_sum "$tmp/SHA256SUMS" "$prebuilt")
	[ -n "$want" ] || die "release ${release_url:-$release} has no $prebuilt: no build for $os/$arch there"
	fetch "$base/$prebuilt" "$tmp/download" || die "cannot download $base/$prebuilt"
	got=$(sha256 "$tmp/download")
	if [ "$(echo "$want" | tr '[:upper:]' '[:lower:]')" != "$got" ]; then
		die "$base/$prebuilt does not match the release's SHA256SUMS (sha256 $got, want $want): not installing it"
	fi
	mv "$tmp/download" "$tmp/$plugin"
	echo "Checked $prebuilt: sha256 $got, as in SHA256SUMS"
elif [ "$from_source" = 0 ] && [ -f "$dist/$prebuilt" ]; then
	[ -f "$dist/SHA256SUMS" ] ||
		die "$dist/$prebuilt has no $dist/SHA256SUMS to check it against: run 'make release' again, or use --from-source"
	want=$(expected_sum "$dist/SHA256SUMS" "$prebuilt")
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
		die "Go is needed to build the plugin (https://go.dev/dl/); or install a release instead: $0 --version=latest"
	version=$(git -C "$here" describe --tags --match 'v[0-9]*' --dirty 2>/dev/null ||
		echo "v0.0.0-dev+$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)")
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
