package registry

import (
	"net/http"
	"net/url"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// smallAnswer is how much of an answer the retry layer reads before it
// returns it: a token, a manifest or an error whole, a blob's start. It
// must arrive within the policy's AnswerWithin, else the request fails
// as a timeout (and is retried): a registry that trickles a manifest a
// byte at a time cannot hold the push.
const smallAnswer = 64 << 10

// newHTTPClient builds the layers every request goes through, outermost
// first: bearer auth, then transport.Stack (retries, the debug log, the
// user agent) over the caller's transport. Token requests enter below
// the auth layer.
func newHTTPClient(o *options, registry *url.URL, scope string, log *transport.Log) *http.Client {
	stack := o.requests.Stack(log, smallAnswer)
	bearer := &bearerTransport{
		inner:    stack,
		tokens:   &http.Client{Transport: stack, CheckRedirect: transport.RedirectPolicy(nil)},
		registry: registry,
		scope:    scope,
		user:     o.user,
		pass:     o.pass,
		log:      log,
		fetching: make(chan struct{}, 1),
	}
	if c := o.challenge; c != nil {
		if realm, err := bearer.checkRealm(c.Realm); err == nil {
			bearer.realm, bearer.service, bearer.seeded = realm, c.Service, true
		}
	}
	return &http.Client{Transport: bearer, CheckRedirect: transport.RedirectPolicy(nil)}
}

// where names a URL for logs and errors: host and path, never the user
// information or the query (an upload location's query holds its state).
func where(u *url.URL) string { return u.Host + u.EscapedPath() }
