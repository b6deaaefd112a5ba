// Package windows runs the Windows build of the plugin, standalone
// (docker-charmcraft.exe upload-resource ...), under Wine in a Debian 13
// chroot, against the test Charmhub, a real registry and a real Docker
// daemon on loopback. scripts/windows-e2e.sh sets the chroot up and runs
// it; without CHARMCRAFT_WINE_ROOT its tests are skipped.
package windows
