package transport

import (
	"net"
	"net/http"
	"strings"
)

// Rewindable says whether req's body can be had again: it has none, or
// GetBody makes a fresh one.
func Rewindable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// Loopback says whether host, with or without a port, is this machine:
// localhost, 127.0.0.0/8 or ::1. Only a peer on this machine shares it.
func Loopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
