// Package e2e tests the plugin end to end: the real docker CLI loads the
// freshly built docker-charmcraft from a temporary config directory, and
// uploads to the Charmhub test server and a real registry with token
// auth; image tests use the real Docker daemon.
package e2e
