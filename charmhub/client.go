package charmhub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// maxJSON caps a JSON answer: Charmhub's are a few kilobytes.
const maxJSON = 1 << 20

// Client talks to Charmhub and its storage. It is safe for concurrent use.
type Client struct {
	apiURL, storageURL string
	loginURL           string
	token              string
	hc                 *http.Client
	schedule           []time.Duration
	log                *transport.Log

	mu   sync.Mutex
	sent map[string]sentContent // by upload id
}

// CredentialsID is a stable name of the credentials c sends, for keys
// that must differ between users and stay the same from one run to the
// next: a hash, from which the credentials cannot be read back. "" when
// c has none.
func (c *Client) CredentialsID() string {
	if c.token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("docker-charmcraft credentials\x00" + c.token))
	return hex.EncodeToString(sum[:])
}

// New returns a Client configured by opts.
func New(opts ...Option) (*Client, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	c := &Client{
		apiURL: o.apiURL, storageURL: o.storageURL, loginURL: o.loginURL,
		token:    o.token,
		schedule: o.schedule,
	}
	c.log = transport.NewLog(o.requests.Debug, "charmhub")
	// Charmhub's answers are read whole before they are returned, so
	// that one cut short is retried too.
	c.hc = &http.Client{
		Transport:     o.requests.Stack(c.log, maxJSON),
		CheckRedirect: transport.RedirectPolicy(nil),
	}
	return c, nil
}

// charmPath is the API path of a charm, or of something under it, with
// each name escaped.
func charmPath(charm string, rest ...string) string {
	p := "/v1/charm/" + url.PathEscape(charm)
	for _, r := range rest {
		p += "/" + url.PathEscape(r)
	}
	return p
}

// newRequest builds an authenticated request; body, when not nil, is
// sent as JSON.
func (c *Client) newRequest(ctx context.Context, method, u string, body any) (*http.Request, error) {
	if c.token == "" {
		return nil, ErrNoCredentials
	}
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return nil, errors.New("building the request: invalid URL")
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Macaroon "+c.token)
	return req, nil
}

// do sends req and decodes its JSON answer into v.
func (c *Client) do(req *http.Request, v any) error {
	data, err := c.read(req, maxJSON)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s %s: decoding the answer: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// read sends req and returns the whole body of its 2xx answer, which
// must be at most limit bytes long. Read to its end, the body leaves the
// connection ready for the next request.
func (c *Client) read(req *http.Request, limit int64) ([]byte, error) {
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := readCapped(resp.Body, limit)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	return data, nil
}

// send sends req and returns a 2xx answer, or else an error that says
// how many attempts were made if more than one.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, attempts, err := c.sendAny(req)
	if err != nil {
		return nil, err
	}
	if err := checkResponse(resp); err != nil {
		_ = resp.Body.Close() // checkResponse read what it needs
		if e, ok := errors.AsType[*APIError](err); ok {
			e.Attempts = attempts
		}
		return nil, err
	}
	return resp, nil
}

// sendAny sends req and returns its answer, whatever its status, and the
// number of attempts made.
func (c *Client) sendAny(req *http.Request) (*http.Response, int, error) {
	req, attempts := transport.CountAttempts(req)
	resp, err := c.hc.Do(req)
	n := int(attempts.Load())
	if err != nil {
		return nil, n, transportError(req, err, n)
	}
	return resp, n, nil
}

// readCapped reads all of r, failing past limit bytes.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("the answer is larger than %d bytes", limit)
	}
	return data, nil
}

// transportError drops the URL (and its query) that net/http puts in
// its errors, keeping the method, the path and the cause, and says how
// many attempts failed.
func transportError(req *http.Request, err error, attempts int) error {
	return fmt.Errorf("%s %s: %w%s", req.Method, req.URL.Path, transport.WithoutURL(err), transport.AfterAttempts(attempts))
}

// resolve turns a path answered by Charmhub into a URL under the API
// base. An absolute URL is accepted only on the API host, so the token
// is never sent to a host Charmhub names (it goes to the API and, as the
// contract requires, to the configured storage, nowhere else).
func (c *Client) resolve(ref string) (string, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", errors.New("charmhub answered an invalid status URL")
	}
	if u.IsAbs() {
		base, _ := url.Parse(c.apiURL)
		if u.Scheme != base.Scheme || u.Host != base.Host {
			return "", errors.New("charmhub answered a status URL on another host")
		}
		return u.String(), nil
	}
	if !strings.HasPrefix(u.Path, "/") {
		return "", errors.New("charmhub answered a status URL that is not an absolute path")
	}
	return c.apiURL + u.String(), nil
}
