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
	"time"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

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
		return "", 0, fmt.Errorf("getting a registry token from %s: %w", where(&u), unwrapURLError(err))
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
