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

// checkEndpoints refuses, before any call, an endpoint variable that
// does not hold a base URL, naming the variable and its value; and a
// service reached over plain http, which would carry credentials in the
// clear, unless it is on this machine (a test service) or
// CHARMCRAFT_ALLOW_INSECURE=1 says so. https endpoints always have their
// certificates verified.
func checkEndpoints(getenv func(string) string) error {
	for _, e := range endpointEnvs {
		v := strings.TrimSpace(getenv(e.name))
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err := checkBaseURL(u, err); err != "" {
			shown := v
			if u != nil && u.User != nil {
				shown = u.Redacted() // never show a password
			}
			return fmt.Errorf("%s=%s %s: give an https URL such as %s, or unset it", e.name, quotePath(shown), err, e.def)
		}
		if getenv(allowInsecureEnv) != "1" && strings.EqualFold(u.Scheme, "http") && !loopback(u.Hostname()) {
			return fmt.Errorf("%s points at http://%s, plain http that would carry your credentials unencrypted: use https, or set %s=1 if you trust the network to %s",
				e.name, u.Host, allowInsecureEnv, u.Hostname())
		}
	}
	return nil
}

// checkBaseURL says what keeps u from being a service's base URL, or "".
func checkBaseURL(u *url.URL, err error) string {
	switch {
	case err != nil || u.Scheme == "" || u.Host == "":
		return "is not a URL"
	case !strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https"):
		return "is not an http or https URL"
	case u.User != nil:
		return "holds credentials, which are never sent this way"
	case u.RawQuery != "" || u.Fragment != "":
		return "has a query, which a base URL cannot have"
	}
	return ""
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
