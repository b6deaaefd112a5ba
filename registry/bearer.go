package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// bearerTransport authenticates requests to the registry: it answers a
// Bearer challenge by trading the Basic credentials for a token at the
// challenge's realm, and sends the cached token with the requests that
// follow. Requests to any other origin (a redirect to storage) pass
// untouched, so neither the token nor the credentials leak there.
type bearerTransport struct {
	inner      http.RoundTripper
	tokens     *http.Client // over inner; fetches tokens
	registry   *url.URL     // the origin that may see the token
	scope      string       // asked for with every token
	user, pass string
	log        *transport.Log

	fetching chan struct{} // held while a token is fetched

	mu      sync.Mutex
	realm   *url.URL // from the last Bearer challenge; nil before
	service string
	basic   bool // the registry asked for Basic auth instead
	token   string
	expiry  time.Time
}

func (b *bearerTransport) RoundTrip(in *http.Request) (*http.Response, error) {
	if !transport.SameOrigin(in.URL, b.registry) {
		return b.inner.RoundTrip(in)
	}
	auth, fresh, err := b.authorization(in.Context())
	if err != nil {
		closeBody(in)
		return nil, err
	}
	resp, err := b.send(in, in.Body, auth)
	// A request whose body is gone cannot be sent again: the caller must
	// have made a body-less request first, which got the token.
	if err != nil || resp.StatusCode != http.StatusUnauthorized || fresh || !transport.Rewindable(in) {
		return resp, err
	}
	auth, ok, err := b.answer(in.Context(), resp.Header.Values("WWW-Authenticate"), auth)
	if err != nil {
		drainClose(resp)
		return nil, err
	}
	if !ok {
		return resp, nil
	}
	drainClose(resp)
	body := in.Body
	if in.GetBody != nil {
		if body, err = in.GetBody(); err != nil {
			return nil, err
		}
	}
	return b.send(in, body, auth)
}

func (b *bearerTransport) send(in *http.Request, body io.ReadCloser, auth string) (*http.Response, error) {
	req := in.Clone(in.Context())
	req.Body = body
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return b.inner.RoundTrip(req)
}

// authorization is the Authorization header to send, if any. An expired
// token is renewed before the request goes, since a request streaming its
// body cannot be sent again; fresh says it was.
func (b *bearerTransport) authorization(ctx context.Context) (auth string, fresh bool, err error) {
	b.mu.Lock()
	basic, token, expiry, realm := b.basic, b.token, b.expiry, b.realm
	b.mu.Unlock()
	switch {
	case basic:
		return basicAuth(b.user, b.pass), false, nil
	case token != "" && time.Now().Before(expiry):
		return "Bearer " + token, false, nil
	case realm == nil:
		return "", false, nil
	}
	if token, err = b.refresh(ctx, token); err != nil {
		return "", false, err
	}
	return "Bearer " + token, true, nil
}

// answer answers the challenges of a 401 to a request sent with sent, and
// says whether the request is worth sending again with the new auth.
func (b *bearerTransport) answer(ctx context.Context, challenges []string, sent string) (string, bool, error) {
	for _, h := range challenges {
		scheme, params, err := ParseChallenge(h)
		if err != nil {
			b.log.Printf("ignoring a malformed challenge: %v", err)
			continue
		}
		switch scheme {
		case "bearer":
			realm, err := b.checkRealm(params["realm"])
			if err != nil {
				return "", false, err
			}
			b.mu.Lock()
			b.realm, b.service = realm, params["service"]
			b.mu.Unlock()
			token, err := b.refresh(ctx, strings.TrimPrefix(sent, "Bearer "))
			if err != nil {
				return "", false, err
			}
			return "Bearer " + token, true, nil
		case "basic":
			if b.user == "" && b.pass == "" || strings.HasPrefix(sent, "Basic ") {
				return "", false, nil
			}
			b.log.Printf("the registry asks for basic auth")
			b.mu.Lock()
			b.basic = true
			b.mu.Unlock()
			return basicAuth(b.user, b.pass), true, nil
		}
	}
	return "", false, nil
}

// checkRealm parses the realm of a challenge. The credentials may go to
// another host, but not over plain HTTP unless the registry is reached so.
func (b *bearerTransport) checkRealm(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("the registry's challenge names no realm")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, errors.New("the registry's challenge has a malformed realm")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && b.registry.Scheme == "http":
	default:
		return nil, fmt.Errorf("refusing to send credentials to the realm %s://%s", u.Scheme, where(u))
	}
	return u, nil
}

// refresh fetches a token in place of stale, unless another request has
// already done so. One fetch runs at a time.
func (b *bearerTransport) refresh(ctx context.Context, stale string) (string, error) {
	select {
	case b.fetching <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-b.fetching }()
	b.mu.Lock()
	token, expiry, realm, service := b.token, b.expiry, b.realm, b.service
	b.mu.Unlock()
	if token != "" && token != stale && time.Now().Before(expiry) {
		return token, nil
	}
	start := time.Now()
	token, ttl, err := b.fetch(ctx, realm, service)
	if err != nil {
		return "", err
	}
	b.mu.Lock()
	b.token, b.expiry = token, start.Add(ttl-ttl/10)
	b.mu.Unlock()
	return token, nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
