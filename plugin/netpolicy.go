package plugin

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub"
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
		if getenv(allowInsecureEnv) != "1" && strings.EqualFold(u.Scheme, "http") && !transport.Loopback(u.Hostname()) {
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

// netPolicy is how the plugin's clients use the network: the transport
// under each, whose silences CHARMCRAFT_STALL_TIMEOUT bounds, and the
// retry policy of each. Every client (Charmhub's API and storage, the
// registry) retries alike, under one transport.Run for the command:
// transport.DefaultPolicy, for as long as CHARMCRAFT_RETRY_TIMEOUT says
// when it is set, after the command's last progress; each retry episode
// is told on stderr in one line.
type netPolicy struct {
	transport *http.Transport
	retry     transport.Policy
}

func (e *cliEnv) netPolicy() (netPolicy, error) {
	stall, err := e.duration(stallTimeoutEnv, transport.DefaultStallTimeout)
	if err != nil {
		return netPolicy{}, err
	}
	retry := transport.DefaultPolicy()
	if retry.Budget, err = e.duration(retryTimeoutEnv, transport.DefaultBudget); err != nil {
		return netPolicy{}, err
	}
	if e.run == nil {
		e.run = transport.NewRun(nil, e.tellRetrying)
		e.nameServices()
	}
	retry.Run, retry.Grace = e.run, firstContactGrace
	if e.conns == nil {
		e.conns = transport.New(stall)
	}
	return netPolicy{transport: e.conns, retry: retry}, nil
}

// firstContactGrace is how long a failure waiting is unlikely to mend is
// retried (see transport.Tries.Next); tests that do not time it shorten
// it.
var firstContactGrace = transport.DefaultGrace

// nameServices names, for the retry lines, the services the command may
// call.
func (e *cliEnv) nameServices() {
	for _, s := range []struct{ url, name string }{
		{e.apiURL(), "Charmhub"},
		{e.serviceURL(uploadURLEnv, charmhub.DefaultStorageURL), "Charmhub's storage"},
		{e.serviceURL(ssoURLEnv, charmhub.DefaultLoginURL), "Ubuntu One"},
		{e.registryURL(), "Canonical's registry"},
	} {
		if u, err := url.Parse(s.url); err == nil && u.Host != "" {
			e.run.Name(u.Host, s.name)
		}
	}
}

// serviceURL is the URL in the variable name, def if it is unset.
func (e *cliEnv) serviceURL(name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}

// tellRetrying says on stderr, in one line, that a service is being
// retried, why and for how long at most.
func (e *cliEnv) tellRetrying(r transport.Retrying) {
	switch {
	case r.FirstContact:
		_, _ = fmt.Fprintf(e.stderr(), "%s %s; trying again for up to %s\n", r.Service, r.Cause, roundUp(r.For))
	case r.For > 0:
		_, _ = fmt.Fprintf(e.stderr(), "%s %s; retrying for up to %s (%s)\n", r.Service, r.Cause, roundUp(r.For), retryTimeoutEnv)
	default:
		_, _ = fmt.Fprintf(e.stderr(), "%s %s; retrying\n", r.Service, r.Cause)
	}
}

// roundUp is d to the second above, for a line users read.
func roundUp(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}

// duration reads the positive duration in the variable name, def if it
// is unset.
func (e *cliEnv) duration(name string, def time.Duration) (time.Duration, error) {
	v := e.getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q is not a positive duration such as 30s or 2m", name, v)
	}
	return d, nil
}
