package registry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/faultproxy"
	"github.com/canonical/docker-charmcraft/internal/resumekey"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/canonical/docker-charmcraft/registry/registrytest"
)

// memSessions is a registry.Sessions in memory: one per "machine", shared
// by the runs a test makes on it.
type memSessions struct {
	mu sync.Mutex
	m  map[string]savedSession
}

type savedSession struct {
	loc    string
	offset int64
}

func (s *memSessions) UploadSession(key string) (string, int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	return e.loc, e.offset, ok
}

func (s *memSessions) SaveUploadSession(key, loc string, offset int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]savedSession{}
	}
	s.m[key] = savedSession{loc, offset}
}

func (s *memSessions) ForgetUploadSession(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
}

func (s *memSessions) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// killingReader stops the run it feeds once the registry got at bytes of
// the upload, as a kill would: the request in flight is cut wherever it
// is.
type killingReader struct {
	r      io.Reader
	p      *faultproxy.Proxy
	at     int64
	cancel context.CancelFunc
}

func (k *killingReader) Read(p []byte) (int, error) {
	if k.p.BodyBytes("", sessionPath) >= k.at {
		k.cancel()
	}
	n, err := k.r.Read(p)
	if err == io.EOF {
		// The end is read ahead of what is sent: wait for the registry
		// to get at bytes.
		for k.p.BodyBytes("", sessionPath) < k.at {
			time.Sleep(time.Millisecond)
		}
		k.cancel()
	}
	return n, err
}

// pushStream pushes what it reads with c.PushBlobStream, under the key
// of one layer, as a run of the plugin would push it.
func pushStream(c *registry.Client) func(context.Context, io.Reader) error {
	return func(ctx context.Context, r io.Reader) error {
		_, err := c.PushBlobStream(resumekey.With(ctx, "layer test"), r, nil)
		return err
	}
}

// killedRun pushes blob as a run killed once the registry got at bytes
// of it.
func (f *faulty) killedRun(t *testing.T, read func(context.Context, io.Reader) error, blob []byte, at int64) {
	t.Helper()
	f.p.ClearRequests()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	err := read(ctx, &killingReader{r: bytes.NewReader(blob), p: f.p, at: at, cancel: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("the killed run ended with %v, want it cancelled\n%s", err, f.log)
	}
	f.settle()
}

// settle waits until the proxy has passed on what it took before the
// kill: the bytes a dead client's connection held reach the registry
// meanwhile, and the session grows under the run again until they have.
func (f *faulty) settle() { f.p.Settled(10 * time.Second) }

// TestResumeAcrossRuns cancels an upload (as Ctrl-C does) at about half
// and at about nine tenths of a blob, and runs it again, with the sessions
// the cancelled run left: the run again sends only what the registry
// lacks, and the blob is whole. The chunk under way when the run was
// cancelled is finished, so distribution 2.8, which cancels a session
// asked about with a state older than what it holds, resumes too; a
// SIGKILL, which cuts the chunk, is e2e's TestImageKilledUploadResumes.
func TestResumeAcrossRuns(t *testing.T) {
	const size = 12 << 20
	for _, tt := range []struct {
		name   string
		killAt float64
		most   float64 // of the blob, sent by the run again
		stream bool
	}{
		{"stream killed at 50%", 0.5, 0.55, true},
		{"stream killed at 90%", 0.9, 0.15, true},
		{"known blob killed at 50%", 0.5, 0.55, false},
		{"known blob killed at 90%", 0.9, 0.15, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFaulty(t)
			sessions := &memSessions{}
			run := func() *registry.Client { return f.client(t, registry.WithChunkSize(512<<10)).WithSessions(sessions) }
			blob, d := randomBlob(t, size)
			push := func(c *registry.Client) func(context.Context, io.Reader) error {
				if tt.stream {
					return pushStream(c)
				}
				return func(ctx context.Context, r io.Reader) error {
					return c.PushBlob(ctx, io.MultiReader(r), size, d) // a plain reader: sent in chunks
				}
			}
			f.killedRun(t, push(run()), blob, int64(tt.killAt*size))
			if sessions.len() != 1 {
				t.Fatalf("the killed run saved %d sessions, want 1\n%s", sessions.len(), f.log)
			}
			f.p.ClearRequests()
			if err := push(run())(t.Context(), bytes.NewReader(blob)); err != nil {
				t.Fatalf("the run again: %v\n%s", err, f.log)
			}
			f.holds(t, blob, d)
			sent := f.p.BodyBytes("", sessionPath)
			t.Logf("%s: the run again sent %d bytes, %.0f%% of the blob", f.env.reg.Kind, sent, 100*float64(sent)/size)
			if sessions.len() != 0 {
				t.Errorf("%d sessions left saved after the blob was pushed", sessions.len())
			}
			if !strings.Contains(f.log.String(), "resuming the upload an earlier run left, at byte") {
				t.Errorf("the run again did not resume:\n%s", f.log)
			}
			if float64(sent) > tt.most*size {
				t.Errorf("the run again sent %d bytes, more than %.0f%% of the %d", sent, 100*tt.most, size)
			}
		})
	}
}

// TestResumeSingePUT kills a PushBlob of a seekable blob, sent in one PUT,
// midway: the run again sends the rest in one PUT.
func TestResumeSinglePUT(t *testing.T) {
	const size = 16 << 20
	f := newFaulty(t, faultproxy.Rule{Method: "PUT", Path: sessionPath, Times: 1, Fault: faultproxy.Throttle(32 << 20)})
	sessions := &memSessions{}
	blob, d := randomBlob(t, size)
	c := func() *registry.Client { return f.client(t).WithSessions(sessions) }
	ctx, cancel := context.WithCancel(t.Context())
	br := bytes.NewReader(blob)
	r := &seekKiller{killingReader{r: br, p: f.p, at: size / 2, cancel: cancel}, br}
	if err := c().PushBlob(ctx, r, size, d); !errors.Is(err, context.Canceled) {
		t.Fatalf("the killed run ended with %v\n%s", err, f.log)
	}
	f.settle()
	f.p.ClearRequests()
	if err := c().PushBlob(t.Context(), bytes.NewReader(blob), size, d); err != nil {
		t.Fatalf("the run again: %v\n%s", err, f.log)
	}
	f.holds(t, blob, d)
	sent := f.p.BodyBytes("", sessionPath)
	t.Logf("%s: the run again sent %d bytes, %.0f%% of the blob", f.env.reg.Kind, sent, 100*float64(sent)/size)
	if f.env.reg.Kind != registrytest.Distribution2 && sent > size*55/100 {
		t.Errorf("the run again sent %d bytes, more than 55%% of the %d\n%s", sent, size, f.log)
	}
}

// seekKiller is a killingReader of a blob that can be read again, as
// PushBlob sends in one PUT.
type seekKiller struct {
	killingReader
	io.Seeker
}

// TestResumeOtherContent resumes, under one key, a session whose bytes
// are not those of the blob sent now (a compressor that is not
// deterministic after all): the registry refuses the digest, nothing
// wrong is stored, and the upload is made again in a new session.
func TestResumeOtherContent(t *testing.T) {
	const size = 8 << 20
	f := newFaulty(t)
	sessions := &memSessions{}
	c := func() *registry.Client { return f.client(t, registry.WithChunkSize(1<<20)).WithSessions(sessions) }
	other, _ := randomBlob(t, size)
	blob, d := randomBlob(t, size)
	f.killedRun(t, pushStream(c()), other, size/2)
	desc, err := c().PushBlobStream(resumekey.With(t.Context(), "layer test"), bytes.NewReader(blob), nil)
	if err != nil || desc.Digest != d {
		t.Fatalf("PushBlobStream = %+v, %v\n%s", desc, err, f.log)
	}
	f.holds(t, blob, d)
	if f.env.reg.Kind != registrytest.Distribution2 && !strings.Contains(f.log.String(), "is not this blob's start") {
		t.Errorf("the resumed session was not refused:\n%s", f.log)
	}
	// A plain reader cannot be sent again: the caller is told to.
	f.killedRun(t, pushStream(c()), other, size/2)
	_, err = c().PushBlobStream(resumekey.With(t.Context(), "layer test"), io.MultiReader(bytes.NewReader(blob)), nil)
	if f.env.reg.Kind != registrytest.Distribution2 && !errors.Is(err, registry.ErrInterrupted) {
		t.Fatalf("PushBlobStream of a plain reader = %v, want ErrInterrupted\n%s", err, f.log)
	}
	if _, err = c().PushBlobStream(resumekey.With(t.Context(), "layer test"), io.MultiReader(bytes.NewReader(blob)), nil); err != nil {
		t.Fatalf("PushBlobStream once the session was forgotten: %v\n%s", err, f.log)
	}
}

// TestResumeLostSession starts a new session, saying so under --debug
// only, when the saved one is unknown to the registry or not one of the
// repository's.
func TestResumeLostSession(t *testing.T) {
	f := newFaulty(t)
	blob, d := randomBlob(t, 4<<20)
	for _, loc := range []string{
		f.p.URL + uploadsPath + "0d6e9f1c-5b2a-4bb4-9a4e-8d1f2f1b7e11?_state=x",
		"http://elsewhere.test" + uploadsPath + "x",
		f.p.URL + "/v2/charm/other/image/blobs/uploads/x",
	} {
		sessions := &memSessions{}
		c := f.client(t, registry.WithChunkSize(1<<20)).WithSessions(sessions)
		// What the key of the blob is, the client alone knows: save under it
		// by letting it save a session first.
		f.killedRun(t, pushStream(c), blob, 2<<20)
		if sessions.len() != 1 {
			t.Fatalf("the killed run saved %d sessions, want 1", sessions.len())
		}
		for k := range sessions.m {
			sessions.m[k] = savedSession{loc, 0}
		}
		mark := len(f.log.String())
		desc, err := c.PushBlobStream(resumekey.With(t.Context(), "layer test"), bytes.NewReader(blob), nil)
		if err != nil || desc.Digest != d {
			t.Fatalf("PushBlobStream after saving %s = %+v, %v\n%s", loc, desc, err, f.log)
		}
		if !strings.Contains(f.log.String()[mark:], "not resuming the upload an earlier run left") {
			t.Errorf("saved %s: the debug log does not say the session was not resumed:\n%s", loc, f.log.String()[mark:])
		}
	}
	for _, r := range f.p.Requests() {
		if strings.HasPrefix(r.Path, "/v2/charm/other/") {
			t.Errorf("a request went to another repository's session: %s %s", r.Method, r.Path)
		}
	}
}

// TestResumeOwner: a session is resumed only by a run of the same owner
// (WithSessionsOwner), whatever the registry's username.
func TestResumeOwner(t *testing.T) {
	const size = 8 << 20
	f := newFaulty(t)
	sessions := &memSessions{}
	blob, d := randomBlob(t, size)
	push := func(owner string) func(context.Context, io.Reader) error {
		return pushStream(f.client(t, registry.WithChunkSize(1<<20), registry.WithSessionsOwner(owner)).WithSessions(sessions))
	}
	f.killedRun(t, push("alice"), blob, size/2)
	mark := len(f.log.String())
	f.killedRun(t, push("bob"), blob, size/4)
	if strings.Contains(f.log.String()[mark:], "resuming") {
		t.Fatalf("another owner resumed alice's session:\n%s", f.log)
	}
	if n := sessions.len(); n != 2 {
		t.Fatalf("%d sessions saved, want alice's and bob's", n)
	}
	mark = len(f.log.String())
	if err := push("alice")(t.Context(), bytes.NewReader(blob)); err != nil {
		t.Fatalf("alice's run again: %v\n%s", err, f.log)
	}
	f.holds(t, blob, d)
	if f.env.reg.Kind != registrytest.Distribution2 && !strings.Contains(f.log.String()[mark:], "resuming the upload an earlier run left, at byte") {
		t.Errorf("alice's run again did not resume her session:\n%s", f.log)
	}
}
