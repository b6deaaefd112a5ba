package charmhub_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/internal/transport"
)

// answer is a RoundTripper that answers every request with the same
// status, Retry-After and body, as a hostile or broken Charmhub might.
type answer struct {
	status     int
	retryAfter string
	body       []byte
	endless    bool // the body never ends
}

func (a *answer) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if a.retryAfter != "" {
		h.Set("Retry-After", a.retryAfter)
	}
	var body io.Reader = bytes.NewReader(a.body)
	if a.endless {
		body = io.MultiReader(bytes.NewReader(a.body), endless{})
	}
	return &http.Response{StatusCode: a.status, Status: http.StatusText(a.status), Header: h,
		Body: io.NopCloser(body), ContentLength: -1, Request: req}, nil
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// calls are every client call that reads an answer.
var calls = []struct {
	name string
	call func(context.Context, *charmhub.Client) error
}{
	{"whoami", func(ctx context.Context, c *charmhub.Client) error { _, err := c.Whoami(ctx); return err }},
	{"resources", func(ctx context.Context, c *charmhub.Client) error { _, err := c.ListResources(ctx, "c"); return err }},
	{"revisions", func(ctx context.Context, c *charmhub.Client) error {
		_, err := c.ListResourceRevisions(ctx, "c", "r")
		return err
	}},
	{"upload credentials", func(ctx context.Context, c *charmhub.Client) error {
		_, err := c.UploadCredentials(ctx, "c", "r")
		return err
	}},
	{"image blob", func(ctx context.Context, c *charmhub.Client) error {
		_, err := c.ImageBlob(ctx, "c", "r", "sha256:"+strings.Repeat("a", 64))
		return err
	}},
	{"upload", func(ctx context.Context, c *charmhub.Client) error {
		_, err := c.Upload(ctx, "f", 3, func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("abc")), nil }, nil)
		return err
	}},
	{"create revision", func(ctx context.Context, c *charmhub.Client) error {
		_, err := c.CreateRevision(ctx, "c", "r", charmhub.RevisionRequest{UploadID: "u", Type: "file"})
		return err
	}},
	{"review", func(ctx context.Context, c *charmhub.Client) error {
		_, err := c.WaitForRevision(ctx, "/v1/charm/c/resources/r/revisions/review?upload-id=u")
		return err
	}},
	{"update revisions", func(ctx context.Context, c *charmhub.Client) error {
		_, err := c.UpdateResourceRevisions(ctx, "c", "r", []charmhub.RevisionUpdate{{Revision: 1, Bases: charmhub.AllBases()}})
		return err
	}},
	{"login", func(ctx context.Context, c *charmhub.Client) error {
		_, err := c.Login(ctx, charmhub.LoginRequest{Email: "e", Password: "p",
			OTP: func(context.Context) (string, error) { return "1", nil }})
		return err
	}},
}

func fuzzClient(t *testing.T, a *answer) *charmhub.Client {
	t.Helper()
	c, err := charmhub.New(charmhub.WithAPIURL("https://api.test"), charmhub.WithStorageURL("https://storage.test"),
		charmhub.WithLoginURL("https://login.test"), charmhub.WithToken("token"),
		charmhub.WithRetryPolicy(transport.Policy{Attempts: 2, Budget: transport.DefaultBudget}), charmhub.WithPollSchedule([]time.Duration{0, 0}),
		charmhub.WithTransport(a))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzResponses answers every client call with arbitrary bodies and
// statuses: malformed, huge, of the wrong types. Nothing panics, and no
// error carries a control character that could drive the terminal.
func FuzzResponses(f *testing.F) {
	// One seed a body, the call and status taking turns (the fuzzer
	// varies those itself), and one a call. Every body for every call and
	// status made 760 seeds, whose baseline coverage took longer than the
	// 10 s of `make fuzz`: not one input was fuzzed.
	statuses := []uint16{200, 401, 404, 503}
	for i, seed := range []string{
		`{"resources": [{"name": "r", "type": "file", "revision": 3}]}`,
		`{"revisions": [{"revision": 1, "size": 10, "sha256": "ab", "created-at": "2024-01-02T03:04:05"}]}`,
		`{"revisions": [{"revision": 1, "created-at": "2024-01-02T03:04:05", "updated-at": "yesterday"}]}`,
		`{"num-resource-revisions-updated": 2}`,
		`{"num-resource-revisions-updated": "two"}`,
		`{"revisions": [{"status": "approved", "revision": 2, "errors": null}]}`,
		`{"revisions": [{"status": "rejected", "errors": [{"code": "c", "message": "m"}]}]}`,
		`{"revisions": []}`,
		`{"status-url": "https://elsewhere.test/x"}`,
		`{"successful": true, "upload_id": "u"}`,
		`{"image-name": "h/charm/i/r", "username": "u", "password": "p"}`,
		`{"account": {"username": "u"}, "permissions": ["p"]}`,
		`{"error-list": [{"code": "\u001b[31mred", "message": "\u0007bell"}]}`,
		`{"error_list": "not a list"}`,
		`{"macaroon": "AgEOY2hhcm1odWJ0ZXN0"}`,
		`{"discharge_macaroon": "!!!"}`,
		`{"revisions": [{"revision": "one", "size": -1, "created-at": 5}]}`,
		`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`,
		``,
	} {
		f.Add(uint8(i%len(calls)), statuses[i%len(statuses)], "", []byte(seed)) //nolint:gosec // a handful of calls
	}
	for which := range len(calls) {
		f.Add(uint8(which), uint16(200), "", []byte(nil)) //nolint:gosec // a handful of calls
	}
	f.Fuzz(func(t *testing.T, which uint8, status uint16, retryAfter string, body []byte) {
		if status < 100 || status > 999 {
			status = 200
		}
		call := calls[int(which)%len(calls)]
		c := fuzzClient(t, &answer{status: int(status), retryAfter: retryAfter, body: body})
		// A Retry-After is waited for: the deadline cuts the wait short.
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		err := call.call(ctx, c)
		if err != nil && strings.ContainsAny(err.Error(), "\x1b\x07") {
			t.Errorf("%s: the error carries control characters: %q", call.name, err)
		}
	})
}

// TestEndlessAnswers answers every call with a body that never ends:
// each call fails on the cap instead of reading for ever.
func TestEndlessAnswers(t *testing.T) {
	for _, status := range []int{200, 400, 503} {
		for _, call := range calls {
			t.Run(call.name, func(t *testing.T) {
				c := fuzzClient(t, &answer{status: status, body: []byte(`{"x": "`), endless: true})
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				if err := call.call(ctx, c); err == nil || ctx.Err() != nil {
					t.Errorf("%d: %v (context: %v)", status, err, ctx.Err())
				}
			})
		}
	}
}
