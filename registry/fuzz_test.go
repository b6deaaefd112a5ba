package registry_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/canonical/docker-charmcraft/internal/transport"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/opencontainers/go-digest"
)

// scripted answers every request to the registry with the same status,
// headers and body, and token requests with tokenBody, as a hostile or
// broken registry might.
type scripted struct {
	status                        int
	challenge, location, rng, dcd string
	body, tokenBody               []byte
	endless                       bool
}

func (s *scripted) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	resp := &http.Response{StatusCode: s.status, Header: http.Header{}, ContentLength: -1, Request: req}
	body := s.body
	if req.URL.Path == "/token" {
		resp.StatusCode, body = http.StatusOK, s.tokenBody
	} else {
		for k, v := range map[string]string{"WWW-Authenticate": s.challenge, "Location": s.location, "Range": s.rng, "Docker-Content-Digest": s.dcd} {
			if v != "" {
				resp.Header.Set(k, v)
			}
		}
	}
	var r io.Reader = bytes.NewReader(body)
	if s.endless {
		r = io.MultiReader(r, neverEnding{})
	}
	resp.Body = io.NopCloser(r)
	return resp, nil
}

type neverEnding struct{}

func (neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '['
	}
	return len(p), nil
}

var fuzzBlob = []byte("the blob")

// registryCalls are the client's calls, each with a check of what a
// success claims.
var registryCalls = []struct {
	name string
	call func(context.Context, *testing.T, *registry.Client, *scripted) error
}{
	{"blob exists", func(ctx context.Context, _ *testing.T, c *registry.Client, _ *scripted) error {
		_, err := c.BlobExists(ctx, digest.FromBytes(fuzzBlob))
		return err
	}},
	{"manifest by digest", func(ctx context.Context, t *testing.T, c *registry.Client, _ *scripted) error {
		d := digest.FromString("m")
		_, body, err := c.GetManifest(ctx, d.String())
		if err == nil && digest.FromBytes(body) != d {
			t.Errorf("GetManifest(%s) accepted a body hashing to %s", d, digest.FromBytes(body))
		}
		return err
	}},
	{"manifest by tag", func(ctx context.Context, _ *testing.T, c *registry.Client, _ *scripted) error {
		_, _, err := c.GetManifest(ctx, "latest")
		return err
	}},
	{"get blob", func(ctx context.Context, t *testing.T, c *registry.Client, _ *scripted) error {
		d := digest.FromBytes(fuzzBlob)
		rc, err := c.GetBlob(ctx, d)
		if err != nil {
			return err
		}
		defer func() { _ = rc.Close() }()
		// The caller caps what it reads of a blob it does not know the
		// size of; what ends within the cap must be the blob.
		got, err := io.ReadAll(io.LimitReader(rc, 1<<20+1))
		if err == nil && len(got) <= 1<<20 && !bytes.Equal(got, fuzzBlob) {
			t.Errorf("GetBlob read %.40q without an error", got)
		}
		return err
	}},
	{"push blob, seekable", func(ctx context.Context, t *testing.T, c *registry.Client, s *scripted) error {
		d := digest.FromBytes(fuzzBlob)
		err := c.PushBlob(ctx, bytes.NewReader(fuzzBlob), int64(len(fuzzBlob)), d)
		if err == nil && s.dcd != "" && s.dcd != d.String() {
			t.Errorf("PushBlob succeeded though the registry stored %q", s.dcd)
		}
		return err
	}},
	{"push blob, stream", func(ctx context.Context, t *testing.T, c *registry.Client, s *scripted) error {
		d := digest.FromBytes(fuzzBlob)
		err := c.PushBlob(ctx, io.MultiReader(bytes.NewReader(fuzzBlob)), int64(len(fuzzBlob)), d)
		if err == nil && s.dcd != "" && s.dcd != d.String() {
			t.Errorf("PushBlob succeeded though the registry stored %q", s.dcd)
		}
		return err
	}},
	{"push blob stream", func(ctx context.Context, t *testing.T, c *registry.Client, s *scripted) error {
		desc, err := c.PushBlobStream(ctx, bytes.NewReader(fuzzBlob), nil)
		if err == nil && (desc.Digest != digest.FromBytes(fuzzBlob) || (s.dcd != "" && s.dcd != desc.Digest.String())) {
			t.Errorf("PushBlobStream = %+v, with the registry storing %q", desc, s.dcd)
		}
		return err
	}},
	{"push manifest", func(ctx context.Context, t *testing.T, c *registry.Client, s *scripted) error {
		body := []byte(`{"schemaVersion":2}`)
		d, err := c.PushManifest(ctx, mediatype.DockerManifest, body)
		if err == nil && (d != digest.FromBytes(body) || (s.dcd != "" && s.dcd != d.String())) {
			t.Errorf("PushManifest = %s, with the registry storing %q", d, s.dcd)
		}
		return err
	}},
}

func scriptedClient(t *testing.T, s *scripted) *registry.Client {
	t.Helper()
	c, err := registry.New("https://reg.test", testRepo, registry.WithBasicAuth(testUser, testPass),
		registry.WithRetryPolicy(transport.Policy{Attempts: 2, Budget: transport.DefaultBudget}), registry.WithTransport(s))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzResponses answers every call with arbitrary statuses, headers
// (challenges, upload locations, ranges, digests) and bodies (errors,
// tokens, manifests, blobs): nothing panics, no success is claimed for
// content the registry says it stored under another digest, and what is
// read is checked against its digest.
func FuzzResponses(f *testing.F) {
	challenge := `Bearer realm="https://reg.test/token",service="reg",scope="repository:` + testRepo + `:pull,push"`
	d := digest.FromBytes(fuzzBlob).String()
	// One seed an answer, the call taking turns (the fuzzer varies it
	// itself), and one a call: every answer for every call made seeds
	// whose baseline coverage took half the 10s of make fuzz.
	for i, s := range []struct {
		status                   uint16
		challenge, loc, rng, dcd string
		body, token              string
	}{
		{200, "", "", "", d, "the blob", ""},
		{401, challenge, "", "", "", `{"errors":[{"code":"UNAUTHORIZED","message":"\u001b[2J"}]}`, `{"token":"t","expires_in":60}`},
		{401, challenge, "", "", "", "", `{"access_token":"a b","expires_in":-1e308}`},
		{401, `Basic realm="x"`, "", "", "", "", ""},
		{202, "", "/v2/" + testRepo + "/blobs/uploads/u?_state=s", "0-7", "", "", ""},
		{202, "", "http://elsewhere.test/upload", "bytes=0-99999999999999999999", "", "", ""},
		{201, "", "", "", "sha256:" + strings.Repeat("0", 64), "", ""},
		{204, "", "//other.test/u", "0-3", "", "", ""},
		{503, "", "", "", "", `{"errors":"not a list"}`, ""},
		{404, "", "", "", "", `{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN"}]}`, ""},
	} {
		f.Add(uint8(i%len(registryCalls)), s.status, s.challenge, s.loc, s.rng, s.dcd, []byte(s.body), []byte(s.token)) //nolint:gosec // a handful of calls
	}
	for op := range registryCalls {
		f.Add(uint8(op), uint16(200), "", "", "", d, []byte(nil), []byte(nil)) //nolint:gosec // a handful of calls
	}
	f.Fuzz(func(t *testing.T, op uint8, status uint16, challenge, location, rng, dcd string, body, token []byte) {
		if status < 100 || status > 999 {
			status = 200
		}
		s := &scripted{status: int(status), challenge: challenge, location: location, rng: rng, dcd: dcd, body: body, tokenBody: token}
		call := registryCalls[int(op)%len(registryCalls)]
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		err := call.call(ctx, t, scriptedClient(t, s), s)
		if err != nil && strings.ContainsAny(err.Error(), "\x1b\x07") {
			t.Errorf("%s: the error carries control characters: %q", call.name, err)
		}
	})
}

// TestEndlessAnswers answers every call with a body that never ends: each
// call ends on a cap, or on the digest check, instead of reading for ever.
func TestEndlessAnswers(t *testing.T) {
	challenge := `Bearer realm="https://reg.test/token",service="reg"`
	for _, status := range []int{200, 401, 404, 503} {
		for _, call := range registryCalls {
			t.Run(call.name, func(t *testing.T) {
				s := &scripted{status: status, challenge: challenge, body: []byte(`{"errors": [`), tokenBody: []byte(`{"token": "`), endless: true}
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				err := call.call(ctx, t, scriptedClient(t, s), s)
				if ctx.Err() != nil {
					t.Errorf("%d: still reading after 10s (%v)", status, err)
				}
			})
		}
	}
}
