package registry

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// Client talks to one repository of a registry. It is safe for concurrent
// use, and shares one token and one pool of connections between requests.
type Client struct {
	base *url.URL
	repo string
	hc   *http.Client
	log  *transport.Log
	// policy paces what the client retries itself: the chunks of an
	// upload.
	policy    transport.Policy
	chunkSize int
	owner     string   // whose upload sessions these are: it scopes their keys
	sessions  Sessions // nil: upload sessions are not kept across runs
}

// repositoryRE is the distribution API's repository name grammar.
var repositoryRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)

// New returns a client of repository (e.g. "charm/<id>/<resource>") on
// the registry at baseURL (e.g. "https://registry.jujucharms.com").
func New(baseURL, repository string, opts ...Option) (*Client, error) {
	base, err := parseBase(baseURL)
	if err != nil {
		return nil, err
	}
	if len(repository) > 255 || !repositoryRE.MatchString(repository) {
		return nil, fmt.Errorf("invalid repository name %q", repository)
	}
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	o.requests.Policy = o.requests.Policy.WithRun()
	scope := "repository:" + repository + ":pull,push"
	log := transport.NewLog(o.requests.Debug, "registry")
	return &Client{
		base: base, repo: repository, hc: newHTTPClient(o, base, scope, log), log: log,
		policy: o.requests.Policy, chunkSize: o.chunkSize, owner: cmp.Or(o.owner, "user "+o.user),
	}, nil
}

// parseBase parses the base URL of a registry, which holds nothing but
// the scheme, the host and maybe a path.
func parseBase(baseURL string) (*url.URL, error) {
	base, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		// The URL is not shown: it might hold a password.
		return nil, fmt.Errorf("invalid registry URL: %w", transport.WithoutURL(err))
	}
	if base.Scheme != "http" && base.Scheme != "https" || base.Host == "" || base.User != nil ||
		base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("invalid registry URL %q: want http(s)://host[:port] and nothing more", base.Redacted())
	}
	return base, nil
}

// endpoint is the URL of /v2/<repository>/<elem...>.
func (c *Client) endpoint(elem ...string) *url.URL {
	u := *c.base
	u.Path = strings.Join(append([]string{c.base.Path, "v2", c.repo}, elem...), "/")
	return &u
}

func (c *Client) newRequest(ctx context.Context, method string, u *url.URL, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("building a %s request: %w", method, transport.WithoutURL(err))
	}
	return req, nil
}

// do sends req and returns the answer if its status is one of want, or
// else an *Error. Errors name the request by method and path only, and say
// how many attempts were made when there were several.
func (c *Client) do(req *http.Request, want ...int) (*http.Response, error) {
	req, attempts := transport.CountAttempts(req)
	resp, err := c.hc.Do(req)
	n := int(attempts.Load())
	if err != nil {
		return nil, &sendError{method: req.Method, path: req.URL.Path, err: transport.WithoutURL(err), attempts: n}
	}
	if slices.Contains(want, resp.StatusCode) {
		return resp, nil
	}
	defer drainClose(resp)
	e := newError(req.Method, req.URL.Path, resp)
	e.Attempts = n
	return nil, e
}

// sendError is a failure to get an answer.
type sendError struct {
	method, path string
	err          error
	attempts     int
}

func (e *sendError) Error() string {
	return fmt.Sprintf("sending %s %s: %v%s", e.method, e.path, e.err, transport.AfterAttempts(e.attempts))
}

func (e *sendError) Unwrap() error { return e.err }
