package transport

import "testing"

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost":        true,
		"LocalHost:5000":   true,
		"127.0.0.1":        true,
		"127.3.2.1:443":    true,
		"::1":              true,
		"[::1]:5000":       true,
		"[::1]":            true,
		"10.213.0.1":       false,
		"0.0.0.0:5000":     false,
		"example.com":      false,
		"localhost.test":   false,
		"registry.test:80": false,
	} {
		if got := Loopback(host); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", host, got, want)
		}
	}
}
