package registry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/faultproxy"
	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/canonical/docker-charmcraft/internal/testutil"
	"github.com/canonical/docker-charmcraft/internal/transport"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/canonical/docker-charmcraft/registry/registrytest"
	"github.com/opencontainers/go-digest"
)

const (
	uploadsPath = "/v2/" + testRepo + "/blobs/uploads/"
	sessionPath = uploadsPath + "*"
	testStall   = time.Second
)

// faulty is a client of a test registry behind a fault proxy.
type faulty struct {
	env *testEnv
	p   *faultproxy.Proxy
	c   *registry.Client
	log *testutil.SyncBuffer
}

func newFaulty(t *testing.T, rules ...faultproxy.Rule) *faulty {
	t.Helper()
	env := newEnv(t, envConfig{})
	p, err := faultproxy.New(env.reg.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	p.Add(rules...)
	f := &faulty{env: env, p: p, log: &testutil.SyncBuffer{}}
	f.c = f.client(t)
	return f
}

// client is a client through the proxy, logging to f.log, with a stall
// timeout a test can wait out, and opts.
func (f *faulty) client(t *testing.T, opts ...registry.Option) *registry.Client {
	return newClient(t, f.p.URL, append([]registry.Option{registry.WithDebug(f.log), registry.WithTransport(transport.New(testStall))}, opts...)...)
}

// holds checks the registry holds blob under d, and nothing under other.
func (f *faulty) holds(t *testing.T, blob []byte, d digest.Digest) {
	t.Helper()
	rc, err := f.env.client(t).GetBlob(t.Context(), d)
	if err != nil {
		t.Fatalf("GetBlob(%s): %v\n%s", d, err, f.log)
	}
	defer func() { _ = rc.Close() }()
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("the registry holds %d bytes under %s (%v), want the %d pushed", len(got), d, err, len(blob))
	}
}

// rightOrNothing checks the registry holds nothing under d, or blob.
func (f *faulty) rightOrNothing(t *testing.T, blob []byte, d digest.Digest) {
	t.Helper()
	if ok, err := f.env.client(t).BlobExists(t.Context(), d); err != nil {
		t.Fatal(err)
	} else if ok {
		f.holds(t, blob, d)
	}
}

func (f *faulty) lacks(t *testing.T, d digest.Digest) {
	t.Helper()
	if ok, err := f.env.client(t).BlobExists(t.Context(), d); err != nil || ok {
		t.Errorf("BlobExists(%s) = %v, %v; want false", d, ok, err)
	}
}

// sessions is how many upload sessions the registry opened.
func (f *faulty) sessions() int {
	n := 0
	for _, r := range f.p.Requests() {
		if r.Method == "POST" && r.Path == uploadsPath && r.Status == 202 {
			n++
		}
	}
	return n
}

// oneShot hides a reader's other methods: it can be read once only.
func oneShot(b []byte) io.Reader { return io.MultiReader(bytes.NewReader(b)) }

// TestPushBlobResumes breaks the single PUT of a blob read from a seekable
// source: the upload goes on, from where the registry says it stopped when
// it can, and the registry ends up with the blob.
func TestPushBlobResumes(t *testing.T) {
	tests := []struct {
		name    string
		fault   faultproxy.Fault
		logLine string
		resumed bool // the last PUT carried only the end of the blob
	}{
		{"reset midway", faultproxy.ResetAfter(1 << 20), "resuming the upload at byte", true},
		{"503", faultproxy.Fail(503), "restarting the upload in a new session", false},
		{"answer stalls", faultproxy.Fault{Kind: faultproxy.StallAnswer, Delay: time.Minute}, "restarting the upload in a new session", false},
		{"request stalls", faultproxy.StallFor(time.Minute), "restarting the upload in a new session", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.resumed {
				dropsBrokenSessions(t)
			}
			f := newFaulty(t, faultproxy.Rule{Method: "PUT", Path: sessionPath, Times: 1, Fault: tt.fault})
			blob, d := randomBlob(t, 4<<20)
			if err := f.c.PushBlob(t.Context(), bytes.NewReader(blob), int64(len(blob)), d); err != nil {
				t.Fatalf("PushBlob: %v\n%s", err, f.log)
			}
			f.holds(t, blob, d)
			puts := 0
			var last int64
			for _, r := range f.p.Requests() {
				if r.Method == "PUT" {
					puts++
					last = r.ContentLength
				}
			}
			if puts < 2 {
				t.Errorf("%d PUTs, want the blob sent again", puts)
			}
			if tt.resumed != (last < int64(len(blob))) {
				t.Errorf("the last PUT carried %d of %d bytes; resumed: want %v", last, len(blob), tt.resumed)
			}
			if !strings.Contains(f.log.String(), tt.logLine) {
				t.Errorf("the debug log lacks %q:\n%s", tt.logLine, f.log)
			}
		})
	}
}

// TestStreamsResume breaks a chunk of a blob read from a plain reader,
// once: the chunk is sent again, once the session said what it holds, in
// the same session, and the registry ends up with the blob. The one
// exception is distribution 2, which forgets a session whose PATCH broke
// midway: there the upload starts again in a new one, from a reader that
// can be read again, and is interrupted from one that cannot.
func TestStreamsResume(t *testing.T) {
	for _, fault := range []faultproxy.Fault{
		faultproxy.ResetAfter(512 << 10),
		faultproxy.Fail(503),
		{Kind: faultproxy.TruncateRequest, Bytes: 512 << 10},
		{Kind: faultproxy.StallAnswer, Delay: time.Minute},
		faultproxy.StallFor(time.Minute),
	} {
		t.Run(string(fault.Kind), func(t *testing.T) {
			f := newFaulty(t, faultproxy.Rule{Method: "PATCH", After: 1, Times: 1, Fault: fault})
			blob, d := randomBlob(t, 3<<20)
			c := f.client(t, registry.WithChunkSize(1<<20))
			desc, err := c.PushBlobStream(t.Context(), oneShot(blob), nil)
			lost := forgetsBrokenSessions(fault)
			switch {
			case lost && !errors.Is(err, registry.ErrInterrupted):
				t.Fatalf("PushBlobStream = %v, want ErrInterrupted\n%s", err, f.log)
			case lost:
				desc, err = c.PushBlobStream(t.Context(), bytes.NewReader(blob), nil)
			}
			if err != nil || desc.Digest != d || desc.Size != int64(len(blob)) {
				t.Fatalf("PushBlobStream = %+v, %v\n%s", desc, err, f.log)
			}
			f.holds(t, blob, d)
			if !strings.Contains(f.log.String(), "asking the upload session where it stands") {
				t.Errorf("the debug log shows no question to the session:\n%s", f.log)
			}
			if n, want := f.sessions(), map[bool]int{false: 1, true: 2}[lost]; n != want {
				t.Errorf("%d sessions opened, want %d\n%s", n, want, f.log)
			}
		})
	}
}

// forgetsBrokenSessions says whether the registry under test forgets an
// upload session when fault breaks a PATCH that reached it. Distribution 2
// does: asked about a session with a state older than what it holds
// (the client never got the answer that carried the new one), it cancels
// the session (BLOB_UPLOAD_INVALID). Distribution 3 answers with what it
// holds.
func forgetsBrokenSessions(fault faultproxy.Fault) bool {
	k, _ := registrytest.KindFromEnv()
	switch fault.Kind {
	case faultproxy.ResetRequest, faultproxy.TruncateRequest, faultproxy.StallAnswer:
		return k == registrytest.Distribution2
	}
	return false
}

// TestLostSession answers the question to a session whose chunk failed
// with 404, as a registry that forgot it does: a plain reader cannot be
// sent again and the upload is interrupted; a reader that can is sent
// again from its start in a new session.
func TestLostSession(t *testing.T) {
	f := newFaulty(t,
		faultproxy.Rule{Method: "PATCH", Times: 1, Fault: faultproxy.Fail(503)},
		faultproxy.Rule{Method: "GET", Path: sessionPath, Times: 1, Fault: faultproxy.Fault{Kind: faultproxy.Status, Code: 404,
			Body: `{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown to registry"}]}`}})
	blob, d := randomBlob(t, 2<<20)
	_, err := f.c.PushBlobStream(t.Context(), oneShot(blob), nil)
	if !errors.Is(err, registry.ErrInterrupted) || !strings.Contains(err.Error(), "cannot be sent again") {
		t.Fatalf("PushBlobStream = %v, want ErrInterrupted", err)
	}
	f.p.Add(faultproxy.Rule{Method: "PATCH", Times: 1, Fault: faultproxy.Fail(503)},
		faultproxy.Rule{Method: "GET", Path: sessionPath, Times: 1, Fault: faultproxy.Fault{Kind: faultproxy.Status, Code: 404}})
	if desc, err := f.c.PushBlobStream(t.Context(), bytes.NewReader(blob), nil); err != nil || desc.Digest != d {
		t.Fatalf("PushBlobStream = %+v, %v\n%s", desc, err, f.log)
	}
	f.holds(t, blob, d)
	if !strings.Contains(f.log.String(), "restarting the upload of a blob from its start in a new session") {
		t.Errorf("the debug log shows no restart:\n%s", f.log)
	}
}

// TestStreamsFaultsPersist fails every chunk: the upload ends once the
// policy is spent, saying how many attempts failed, and the registry
// holds nothing but the blob under its digest.
func TestStreamsFaultsPersist(t *testing.T) {
	for _, fault := range []faultproxy.Fault{
		faultproxy.ResetAfter(1 << 20),
		faultproxy.Fail(502),
		{Kind: faultproxy.StallAnswer, Delay: time.Minute},
	} {
		t.Run(string(fault.Kind), func(t *testing.T) {
			f := newFaulty(t, faultproxy.Rule{Method: "PATCH", Fault: fault}, faultproxy.Rule{Method: "PUT", Fault: fault})
			blob, d := randomBlob(t, 3<<20)
			want := func(err error) bool { return err != nil && strings.Contains(err.Error(), "(after 4 attempts)") }
			if forgetsBrokenSessions(fault) {
				want = func(err error) bool { return errors.Is(err, registry.ErrInterrupted) }
			}
			if _, err := f.c.PushBlobStream(t.Context(), oneShot(blob), nil); !want(err) {
				t.Fatalf("PushBlobStream = %v, want a failure after 4 attempts (or a lost session)\n%s", err, f.log)
			}
			if err := f.c.PushBlob(t.Context(), oneShot(blob), int64(len(blob)), d); !want(err) {
				t.Fatalf("PushBlob = %v, want a failure after 4 attempts (or a lost session)", err)
			}
			// A stalled answer may come after the registry stored the
			// blob: what it holds under d must be d's.
			f.rightOrNothing(t, blob, d)
		})
	}
}

// TestWrongDigestHeader has the registry claim it stored another digest:
// the push fails, and the registry holds only the right content.
func TestWrongDigestHeader(t *testing.T) {
	wrong := digest.FromString("something else").String()
	f := newFaulty(t, faultproxy.Rule{Method: "PUT", Fault: faultproxy.Fault{Kind: faultproxy.SetHeader, Header: "Docker-Content-Digest", Value: wrong}})
	blob, d := randomBlob(t, 1<<20)
	err := f.c.PushBlob(t.Context(), bytes.NewReader(blob), int64(len(blob)), d)
	if !errors.Is(err, registry.ErrDigestMismatch) || !strings.Contains(err.Error(), wrong) {
		t.Fatalf("PushBlob = %v, want ErrDigestMismatch naming %s", err, wrong)
	}
	if _, err := f.c.PushBlobStream(t.Context(), oneShot(blob), nil); !errors.Is(err, registry.ErrDigestMismatch) {
		t.Fatalf("PushBlobStream = %v, want ErrDigestMismatch", err)
	}
	if _, err := f.c.PushManifest(t.Context(), mediatype.DockerManifest, schema2(t, blob)); !errors.Is(err, registry.ErrDigestMismatch) {
		t.Fatalf("PushManifest = %v, want ErrDigestMismatch", err)
	}
	if n := f.p.Count("PUT", ""); n != 3 {
		t.Errorf("%d PUTs, want 3: a wrong digest is not retried", n)
	}
	f.holds(t, blob, d)
	f.lacks(t, digest.Digest(wrong))
}

// TestSessionOpeningRetried fails the body-less POST that opens an upload
// session: it is sent again.
func TestSessionOpeningRetried(t *testing.T) {
	f := newFaulty(t, faultproxy.Rule{Method: "POST", Path: uploadsPath, Times: 2, Fault: faultproxy.Fail(503)})
	pushRandom(t, f.c, 1000)
	if n := f.p.Count("POST", uploadsPath); n != 3+1 {
		t.Errorf("%d POSTs, want 4 (a 401 first, then 2 failures)", n)
	}
	if n := strings.Count(f.log.String(), "retrying POST"); n != 2 {
		t.Errorf("%d retries logged, want 2:\n%s", n, f.log)
	}
}

// TestFinalErrorSaysAttempts keeps failing a request: the error says how
// many attempts were made.
func TestFinalErrorSaysAttempts(t *testing.T) {
	for _, fault := range []faultproxy.Fault{faultproxy.Fail(503), faultproxy.ResetAfter(0), faultproxy.StallFor(time.Minute)} {
		t.Run(string(fault.Kind), func(t *testing.T) {
			f := newFaulty(t, faultproxy.Rule{Method: "HEAD", Fault: fault})
			_, err := f.c.BlobExists(t.Context(), digest.FromString("x"))
			if err == nil || !strings.Contains(err.Error(), "(after 4 attempts)") {
				t.Fatalf("BlobExists = %v, want an error after 4 attempts", err)
			}
			assertNoSecrets(t, "error", err.Error(), f.env)
		})
	}
}

// countingReader gives zeros slowly, for ever, and counts reads made
// after it is told its upload returned.
type endlessReader struct {
	mu       sync.Mutex
	returned bool
	late     int
	reads    atomic.Int64
}

func (r *endlessReader) Read(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.returned {
		r.late++
	}
	r.reads.Add(1)
	return copy(p, make([]byte, min(len(p), 8192))), nil
}

// TestCancelStopsReading cancels a streamed upload midway: once
// PushBlobStream returns, its source is read no more.
func TestCancelStopsReading(t *testing.T) {
	f := newFaulty(t)
	src := &endlessReader{}
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for src.reads.Load() < 10 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	_, err := f.c.PushBlobStream(ctx, src, nil)
	src.mu.Lock()
	src.returned = true
	src.mu.Unlock()
	if !errors.Is(err, context.Canceled) || errors.Is(err, registry.ErrInterrupted) {
		t.Fatalf("PushBlobStream = %v, want context.Canceled alone", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %s to stop", took)
	}
	time.Sleep(100 * time.Millisecond)
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.late != 0 {
		t.Errorf("the source was read %d times after PushBlobStream returned", src.late)
	}
}

// TestResumeFromWhereTheSourceStarts gives sources positioned past a
// prefix: another attempt goes back to where they started, not to 0.
func TestResumeFromWhereTheSourceStarts(t *testing.T) {
	f := newFaulty(t,
		faultproxy.Rule{Method: "PUT", Path: sessionPath, Times: 1, Fault: faultproxy.ResetAfter(1 << 20)},
		faultproxy.Rule{Method: "PATCH", Times: 1, Fault: faultproxy.ResetAfter(1 << 20)})
	blob, d := randomBlob(t, 3<<20)
	src := func() *bytes.Reader {
		r := bytes.NewReader(append([]byte("a prefix not to send"), blob...))
		_, _ = r.Seek(20, io.SeekStart)
		return r
	}
	if err := f.c.PushBlob(t.Context(), src(), int64(len(blob)), d); err != nil {
		t.Fatalf("PushBlob: %v\n%s", err, f.log)
	}
	desc, err := f.c.PushBlobStream(t.Context(), src(), nil)
	if err != nil || desc.Digest != d {
		t.Fatalf("PushBlobStream = %+v, %v\n%s", desc, err, f.log)
	}
	f.holds(t, blob, d)
	if f.p.Faulted() != 2 {
		t.Errorf("%d faults applied, want 2", f.p.Faulted())
	}
}

// TestResumeAfterTheRangeMoved answers the resumed PUT with 416, as a
// registry still writing what the broken request brought does: the
// client asks where the session stands again, and goes on from there.
func TestResumeAfterTheRangeMoved(t *testing.T) {
	dropsBrokenSessions(t)
	f := newFaulty(t,
		faultproxy.Rule{Method: "PUT", Path: sessionPath, Times: 1, Fault: faultproxy.ResetAfter(1 << 20)},
		faultproxy.Rule{Method: "PUT", Path: sessionPath, Times: 1, Fault: faultproxy.Fault{Kind: faultproxy.Status, Code: 416,
			Body: `{"errors":[{"code":"RANGE_INVALID","message":"invalid content range"}]}`}})
	blob, d := randomBlob(t, 3<<20)
	if err := f.c.PushBlob(t.Context(), bytes.NewReader(blob), int64(len(blob)), d); err != nil {
		t.Fatalf("PushBlob: %v\n%s", err, f.log)
	}
	f.holds(t, blob, d)
	if n := strings.Count(f.log.String(), "resuming the upload at byte"); n != 2 {
		t.Errorf("resumed %d times, want 2:\n%s", n, f.log)
	}
}

// dropsBrokenSessions skips a test of resuming a session after a PUT
// broke midway on distribution 2, which forgets such a session: there the
// upload starts again in a new one, as the other cases of these tests
// check.
func dropsBrokenSessions(t *testing.T) {
	t.Helper()
	if k, _ := registrytest.KindFromEnv(); k == registrytest.Distribution2 {
		t.Skip("distribution 2 forgets an upload session whose PUT broke midway: nothing to resume")
	}
}
