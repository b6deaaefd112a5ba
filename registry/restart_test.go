package registry_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/testutil"
	"github.com/canonical/docker-charmcraft/internal/transport"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/canonical/docker-charmcraft/registry/registrytest"
)

// restartingTransport stops the registry once an acknowledged chunk of an
// upload has taken the registry past at bytes, after the registry answered
// that PATCH and before the client sees the answer: no chunk is in flight
// then, so the stop falls between two chunks however loaded the machine
// is. It starts the registry again after down.
type restartingTransport struct {
	inner http.RoundTripper
	at    int64
	once  sync.Once
	done  chan error
	reg   *registrytest.Registry
	down  time.Duration
}

func (r *restartingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.inner.RoundTrip(req)
	if err != nil || req.Method != http.MethodPatch || resp.StatusCode != http.StatusAccepted {
		return resp, err
	}
	// Range: 0-N, the bytes the session holds.
	var last int64
	if _, serr := fmt.Sscanf(resp.Header.Get("Range"), "0-%d", &last); serr == nil && last+1 >= r.at {
		r.once.Do(func() {
			r.reg.Stop()
			go func() {
				time.Sleep(r.down)
				r.done <- r.reg.Start()
			}()
		})
	}
	return resp, err
}

// TestRegistryRestartsMidUpload stops the registry process midway through
// a streamed upload and starts it again 2s later, with its storage kept:
// the upload waits it out, and goes on in its session, which both
// registries keep: the registry stops between two chunks here (see
// restartingTransport), and its
// secret, which signs the session's state, is the same (a registry
// configured without one makes a new one at each start, and forgets
// every session).
func TestRegistryRestartsMidUpload(t *testing.T) {
	env := newEnv(t, envConfig{dir: t.TempDir()})
	log := &testutil.SyncBuffer{}
	src := &restartingTransport{inner: transport.New(testStall), at: 5 << 20, reg: env.reg, down: 2 * time.Second, done: make(chan error, 1)}
	c := env.client(t, registry.WithChunkSize(1<<20), registry.WithDebug(log),
		registry.WithTransport(src),
		registry.WithRetryPolicy(transport.Policy{Base: 200 * time.Millisecond, Cap: time.Second, Budget: 30 * time.Second}))
	blob, d := randomBlob(t, 12<<20)
	desc, err := c.PushBlobStream(t.Context(), bytes.NewReader(blob), nil)
	if err := <-src.done; err != nil {
		t.Fatalf("starting the registry again: %v", err)
	}
	if err != nil || desc.Digest != d {
		t.Fatalf("PushBlobStream = %+v, %v\n%s", desc, err, log)
	}
	(&faulty{env: env, log: log}).holds(t, blob, d)
	restarted := strings.Contains(log.String(), "restarting the upload of a blob from its start")
	t.Logf("%s: session kept across the restart: %v", env.reg.Kind, !restarted)
	if restarted {
		t.Errorf("%s lost the session across a restart:\n%s", env.reg.Kind, log)
	}
	if !strings.Contains(log.String(), "connection refused") {
		t.Errorf("the upload never met the registry down:\n%s", log)
	}
}
