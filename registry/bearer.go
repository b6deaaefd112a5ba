package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
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
	// seeded: realm and service were given (WithChallenge), not learnt
	// from a 401 of the repository's, until the first token is fetched. A
	// 401 to that token is answered as any challenge is: the registry's
	// own may name another realm or service.
	seeded bool
	basic  bool // the registry asked for Basic auth instead
	token  string
	expiry time.Time
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
// body cannot be sent again; fresh says it was, from a challenge of the
// registry's own (a seeded one may be wrong: see seeded).
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
	b.mu.Lock()
	seeded := b.seeded
	b.seeded = false
	b.mu.Unlock()
	token, err = b.refresh(ctx, token)
	switch {
	case err != nil && seeded:
		b.log.Printf("no token from the challenge learnt beforehand (%v): asking the registry for its own", err)
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	return "Bearer " + token, !seeded, nil
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

// maxTokenBody caps how much of the token endpoint's answer is read.
const maxTokenBody = 64 << 10

// defaultTokenTTL is how long a token lasts when its answer does not say
// (the distribution token specification's default).
const defaultTokenTTL = 60 * time.Second

// fetch asks the realm for a token for the scope, with the credentials.
func (b *bearerTransport) fetch(ctx context.Context, realm *url.URL, service string) (string, time.Duration, error) {
	u := *realm
	q := u.Query()
	if service != "" {
		q.Set("service", service)
	}
	q.Set("scope", b.scope)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", 0, err
	}
	if b.user != "" || b.pass != "" {
		req.SetBasicAuth(b.user, b.pass)
	}
	b.log.Printf("fetching a token for %s from %s", b.scope, where(&u))
	resp, err := b.tokens.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("getting a registry token from %s: %w", where(&u), transport.WithoutURL(err))
	}
	defer drainClose(resp)
	if resp.StatusCode != http.StatusOK {
		e := newError(http.MethodGet, where(&u), resp)
		e.tokenEndpoint = true
		return "", 0, fmt.Errorf("getting a registry token: %w", e)
	}
	data, err := transport.ReadAllWithin(resp.Body, maxTokenBody, transport.SmallAnswerTimeout)
	if err != nil {
		return "", 0, fmt.Errorf("getting a registry token from %s: %w", where(&u), err)
	}
	token, ttl, err := decodeToken(bytes.NewReader(data))
	if err != nil {
		return "", 0, fmt.Errorf("getting a registry token from %s: %w", where(&u), err)
	}
	b.log.Printf("got a token for %s, valid %s", b.scope, ttl)
	return token, ttl, nil
}

// decodeToken reads a token endpoint's JSON answer, whatever its
// Content-Type says.
func decodeToken(r io.Reader) (string, time.Duration, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxTokenBody+1))
	if err != nil {
		return "", 0, err
	}
	if len(data) > maxTokenBody {
		return "", 0, errors.New("the answer is larger than 64 KiB")
	}
	var t struct {
		Token       string  `json:"token"`
		AccessToken string  `json:"access_token"`
		ExpiresIn   float64 `json:"expires_in"`
	}
	if err := json.Unmarshal(data, &t); err != nil {
		return "", 0, fmt.Errorf("decoding the answer: %w", err)
	}
	token := t.Token
	if token == "" {
		token = t.AccessToken
	}
	if token == "" {
		return "", 0, errors.New("the answer holds no token")
	}
	for _, c := range []byte(token) {
		if c < 0x21 || c > 0x7e {
			return "", 0, errors.New("the answer holds a malformed token")
		}
	}
	ttl := defaultTokenTTL
	if t.ExpiresIn >= 1 {
		ttl = time.Duration(min(t.ExpiresIn, 1<<30)) * time.Second
	}
	return token, ttl, nil
}

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}
