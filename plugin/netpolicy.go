package plugin

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// Environment variables of the network policy.
const (
	// allowInsecureEnv, set to 1, allows plain http to hosts other than
	// this machine.
	allowInsecureEnv = "CHARMCRAFT_ALLOW_INSECURE"
	// stallTimeoutEnv is how long a connection may stay silent before it
	// is dropped (and the request tried again when it can be).
	stallTimeoutEnv = "CHARMCRAFT_STALL_TIMEOUT"
)

// endpointEnvs are the variables that point the plugin at a service.
var endpointEnvs = []string{apiURLEnv, "CHARMCRAFT_UPLOAD_URL", registryURLEnv, "CHARMCRAFT_STORE_SSO_URL"}

// checkEndpoints refuses, before any call, a service reached over plain
// http, which would carry credentials in the clear, unless it is on this
// machine (a test service) or CHARMCRAFT_ALLOW_INSECURE=1 says so. https
// endpoints always have their certificates verified.
func checkEndpoints(getenv func(string) string) error {
	if getenv(allowInsecureEnv) == "1" {
		return nil
	}
	for _, name := range endpointEnvs {
		u, err := url.Parse(strings.TrimSpace(getenv(name)))
		if err != nil || !strings.EqualFold(u.Scheme, "http") || loopback(u.Hostname()) {
			continue // unset, https, local, or malformed: the client says so
		}
		return fmt.Errorf("%s points at http://%s, plain http that would carry your credentials unencrypted: use https, or set %s=1 if you trust the network to %s",
			name, u.Host, allowInsecureEnv, u.Hostname())
	}
	return nil
}

// loopback says whether host is this machine: localhost, 127.0.0.0/8 or
// ::1.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// httpTransport is the transport under the clients, with the stall
// timeout CHARMCRAFT_STALL_TIMEOUT sets.
func (e *cliEnv) httpTransport() (*http.Transport, error) {
	stall := transport.DefaultStallTimeout
	if v := e.getenv(stallTimeoutEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%s=%q is not a positive duration such as 30s or 2m", stallTimeoutEnv, v)
		}
		stall = d
	}
	return transport.New(stall), nil
}
