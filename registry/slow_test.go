package registry_test

import (
	"bytes"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/faultproxy"
	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/canonical/docker-charmcraft/internal/transport"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/opencontainers/go-digest"
)

// TestTrickledManifest: a manifest the registry sends a byte at a time,
// each within the stall timeout, fails once the policy's AnswerWithin
// has passed, as a timeout, instead of holding the push for as long as
// the manifest is long.
func TestTrickledManifest(t *testing.T) {
	f := newFaulty(t)
	config := []byte("{}")
	if err := f.c.PushBlob(t.Context(), bytes.NewReader(config), 2, digest.FromBytes(config)); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"schemaVersion":2,"mediaType":"` + mediatype.OCIManifest + `","config":{"mediaType":"application/vnd.oci.image.config.v1+json` +
		`","digest":"` + digest.FromBytes(config).String() + `","size":2},"layers":[]}`)
	d, err := f.c.PushManifest(t.Context(), mediatype.OCIManifest, body)
	if err != nil {
		t.Fatal(err)
	}
	f.p.Add(faultproxy.Rule{Method: http.MethodGet, Path: "/v2/" + testRepo + "/manifests/*",
		Fault: faultproxy.Fault{Kind: faultproxy.TrickleAnswer, Delay: 50 * time.Millisecond}})
	const within = 300 * time.Millisecond // the body takes 50 ms a byte, some 200 of them
	c := newClient(t, f.p.URL, registry.WithTransport(transport.New(testStall)),
		registry.WithRetryPolicy(transport.Policy{Attempts: 1, AnswerWithin: within}))
	start := time.Now()
	_, _, err = c.GetManifest(t.Context(), d.String())
	if _, ok := errors.AsType[*transport.SlowError](err); !ok {
		t.Fatalf("got %v, want a *transport.SlowError", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s", took)
	}
}
