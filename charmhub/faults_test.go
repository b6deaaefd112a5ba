package charmhub_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
	"github.com/canonical/docker-charmcraft/internal/faultproxy"
	"github.com/canonical/docker-charmcraft/internal/testutil"
	"github.com/canonical/docker-charmcraft/internal/transport"
)

// testStall is the stall timeout of the clients behind a fault proxy.
const testStall = time.Second

// proxied is a client of s through a fault proxy, with a debug log.
type proxied struct {
	c   *charmhub.Client
	p   *faultproxy.Proxy
	log *testutil.SyncBuffer
}

func newProxied(t *testing.T, s *charmhubtest.Server, rules ...faultproxy.Rule) *proxied {
	t.Helper()
	p, err := faultproxy.New(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	p.Add(rules...)
	log := &testutil.SyncBuffer{}
	c, err := charmhub.New(
		charmhub.WithAPIURL(p.URL+"/api"), charmhub.WithStorageURL(p.URL+"/storage"), charmhub.WithToken(aliceToken),
		charmhub.WithPollSchedule([]time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}),
		charmhub.WithRetryPolicy(transport.Policy{Attempts: 4, Budget: transport.DefaultBudget, Base: time.Millisecond}), charmhub.WithDebug(log),
		charmhub.WithTransport(transport.New(testStall)))
	if err != nil {
		t.Fatal(err)
	}
	return &proxied{c: c, p: p, log: log}
}

// publish uploads content as a new revision of the file resource data,
// the way the plugin does, and checks what Charmhub holds.
func (pc *proxied) publish(t *testing.T, content []byte) (int, error) {
	t.Helper()
	ctx := t.Context()
	if _, err := pc.c.ListResources(ctx, "my-charm"); err != nil {
		return 0, err
	}
	src := &opener{content: content}
	id, err := pc.c.Upload(ctx, "data.bin", int64(len(content)), src.open, nil)
	if err != nil {
		return 0, err
	}
	statusURL, err := pc.c.CreateRevision(ctx, "my-charm", "data", charmhub.RevisionRequest{UploadID: id, Type: charmhub.TypeFile})
	if err != nil {
		return 0, err
	}
	st, err := pc.c.WaitForRevision(ctx, statusURL)
	if err != nil {
		return 0, err
	}
	if st.Status != charmhub.StatusApproved {
		t.Fatalf("review %+v", st)
	}
	return st.Revision, pc.c.VerifyRevision(ctx, "my-charm", "data", st.Revision, id)
}

const (
	apiResources = "/api/v1/charm/my-charm/resources"
	apiRevisions = "/api/v1/charm/my-charm/resources/data/revisions"
	apiReview    = "/api/v1/charm/my-charm/resources/data/revisions/review"
	storagePath  = "/storage/unscanned-upload/"
)

// TestFaultsOvercome injects one temporary fault at each step of an
// upload: each is retried, and the revision holds exactly the content.
func TestFaultsOvercome(t *testing.T) {
	tests := []struct {
		name    string
		rule    faultproxy.Rule
		uploads int // storage uploads received
		// quiet: net/http itself sends a GET again, once, when a reused
		// connection fails before any answer, so no retry is logged.
		quiet bool
	}{
		{"503 twice on the resource list", faultproxy.Rule{Path: apiResources, Times: 2, Fault: faultproxy.Fail(503)}, 1, false},
		{"429 on the review", faultproxy.Rule{Path: apiReview, Times: 1, Fault: faultproxy.Fault{Kind: faultproxy.Status, Code: 429, RetryAfter: "0"}}, 1, false},
		{"connection reset mid-upload", faultproxy.Rule{Path: storagePath, Times: 1, Fault: faultproxy.ResetAfter(100_000)}, 1, false},
		{"storage answer cut short", faultproxy.Rule{Path: storagePath, Times: 1, Fault: faultproxy.Fault{Kind: faultproxy.TruncateAnswer, Bytes: 10}}, 2, false},
		{"storage answer stalls", faultproxy.Rule{Path: storagePath, Times: 1, Fault: faultproxy.Fault{Kind: faultproxy.StallAnswer, Delay: time.Minute}}, 2, false},
		{"resource list cut short", faultproxy.Rule{Path: apiResources, Times: 2, Fault: faultproxy.Fault{Kind: faultproxy.TruncateAnswer, Bytes: 3}}, 1, false},
		{"review stalls", faultproxy.Rule{Path: apiReview, Times: 1, Fault: faultproxy.StallFor(time.Minute)}, 1, true},
		{"revision list stalls", faultproxy.Rule{Method: "GET", Path: apiRevisions, Times: 1, Fault: faultproxy.StallFor(time.Minute)}, 1, true},
	}
	content := bytes.Repeat([]byte("0123456789abcdef"), 40_000)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t)
			pc := newProxied(t, s, tt.rule)
			rev, err := pc.publish(t, content)
			if err != nil {
				t.Fatalf("publish: %v\n%s", err, pc.log)
			}
			if pc.p.Faulted() == 0 {
				t.Fatal("the fault was never applied")
			}
			stored := s.Revisions("my-charm", "data")
			if len(stored) != 1 || rev != 1 || !bytes.Equal(stored[0].Content, content) {
				t.Fatalf("revision %d; stored %d revisions", rev, len(stored))
			}
			if n := len(s.Uploads()); n != tt.uploads {
				t.Errorf("storage received %d uploads, want %d", n, tt.uploads)
			}
			if n := pc.p.Count("POST", apiRevisions); n != 1 {
				t.Errorf("%d revision requests, want 1", n)
			}
			if n := pc.p.Count(tt.rule.Method, tt.rule.Path); n < 2 {
				t.Errorf("the faulty request was sent %d times", n)
			}
			if !tt.quiet && !strings.Contains(pc.log.String(), "retrying ") {
				t.Errorf("the debug log shows no retry:\n%s", pc.log)
			}
		})
	}
}

// TestFaultsPersist keeps failing a step: the error comes after the retry
// budget, says how many attempts were made, and no revision is created.
func TestFaultsPersist(t *testing.T) {
	tests := []struct {
		name string
		rule faultproxy.Rule
		want []string
	}{
		{"503 for ever", faultproxy.Rule{Path: apiResources, Fault: faultproxy.Fail(503)}, []string{"503 Service Unavailable", "(after 4 attempts)"}},
		{"reset for ever", faultproxy.Rule{Path: storagePath, Fault: faultproxy.ResetAfter(1000)}, []string{"uploading", "(after 4 attempts)"}},
		{"stall for ever", faultproxy.Rule{Path: apiResources, Fault: faultproxy.StallFor(time.Minute)}, []string{"GET /api/v1/charm/my-charm/resources", "(after 4 attempts)"}},
		{"storage answer cut for ever", faultproxy.Rule{Path: storagePath, Fault: faultproxy.Fault{Kind: faultproxy.TruncateAnswer, Bytes: 1}}, []string{"reading the answer", "(after 4 attempts)"}},
		{"request cut short", faultproxy.Rule{Path: storagePath, Fault: faultproxy.Fault{Kind: faultproxy.TruncateRequest, Bytes: 5000}}, []string{"400"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t)
			pc := newProxied(t, s, tt.rule)
			_, err := pc.publish(t, bytes.Repeat([]byte("x"), 100_000))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if n := len(s.Revisions("my-charm", "data")); n != 0 {
				t.Errorf("%d revisions created", n)
			}
			if n := pc.p.Count("POST", apiRevisions); n != 0 {
				t.Errorf("%d revision requests", n)
			}
			if strings.Contains(err.Error(), aliceToken) || strings.Contains(pc.log.String(), aliceToken) {
				t.Error("the token shows")
			}
		})
	}
}

// TestCreateRevisionNeverRepeated loses the answer to the revision
// request in every way: the request is never sent twice.
func TestCreateRevisionNeverRepeated(t *testing.T) {
	for _, f := range []faultproxy.Fault{
		faultproxy.Fail(503),
		{Kind: faultproxy.TruncateAnswer, Bytes: 0},
		{Kind: faultproxy.StallAnswer, Delay: time.Minute},
		faultproxy.ResetAfter(10),
	} {
		t.Run(string(f.Kind), func(t *testing.T) {
			s := startServer(t)
			pc := newProxied(t, s, faultproxy.Rule{Method: "POST", Path: apiRevisions, Fault: f})
			_, err := pc.publish(t, []byte("content"))
			if err == nil {
				t.Fatal("no error")
			}
			if n := pc.p.Count("POST", apiRevisions); n != 1 {
				t.Errorf("%d revision requests, want 1", n)
			}
			if strings.Contains(pc.log.String(), "retrying POST /api") {
				t.Errorf("the revision request was retried:\n%s", pc.log)
			}
		})
	}
}

// TestVerifyRevisionCatchesCorruption flips a byte of the upload on the
// way: the review approves it, but the check against what Charmhub
// lists fails loudly.
func TestVerifyRevisionCatchesCorruption(t *testing.T) {
	s := startServer(t)
	pc := newProxied(t, s, faultproxy.Rule{Path: storagePath, Times: 1, Fault: faultproxy.Fault{Kind: faultproxy.CorruptRequest, Bytes: 400}})
	content := bytes.Repeat([]byte("y"), 1000)
	_, err := pc.publish(t, content)
	if !errors.Is(err, charmhub.ErrContentMismatch) || !strings.Contains(err.Error(), "revision 1") || !strings.Contains(err.Error(), sha256hex(content)) {
		t.Fatalf("error %v, want ErrContentMismatch naming the revision and the digest sent", err)
	}
}

func TestVerifyRevisionRefusesUnknownUpload(t *testing.T) {
	s := startServer(t)
	c := newClient(t, s, aliceToken)
	if err := c.VerifyRevision(t.Context(), "my-charm", "data", 1, "not-mine"); err == nil {
		t.Fatal("no error")
	}
}

// TestRedirectsKeepTheMacaroon sends the client to another origin, and
// from https to http.
func TestRedirectsKeepTheMacaroon(t *testing.T) {
	seen := testutil.NewHeaderLog("Authorization")
	other := httptest.NewServer(seen.Serve(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"resources": []}`)
	}))
	t.Cleanup(other.Close)
	redirect := func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect) //nolint:gosec // the redirect under test
	}
	plain := httptest.NewServer(http.HandlerFunc(redirect))
	t.Cleanup(plain.Close)
	c, err := charmhub.New(charmhub.WithAPIURL(plain.URL), charmhub.WithToken(aliceToken), charmhub.WithRetryPolicy(transport.Policy{Attempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListResources(t.Context(), "my-charm"); err != nil {
		t.Fatal(err)
	}
	if got := seen.Seen(); len(got) != 1 || got[0] != "" {
		t.Errorf("the other origin received Authorization %q", got)
	}

	secure := httptest.NewTLSServer(http.HandlerFunc(redirect))
	t.Cleanup(secure.Close)
	c, err = charmhub.New(charmhub.WithAPIURL(secure.URL), charmhub.WithToken(aliceToken), charmhub.WithRetryPolicy(transport.Policy{Attempts: 1}),
		charmhub.WithTransport(secure.Client().Transport))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListResources(t.Context(), "my-charm"); err == nil || !strings.Contains(err.Error(), "https to plain http") {
		t.Errorf("a redirect from https to http: %v", err)
	}
}

// TestTLSVerified points the default client at a server whose
// certificate nothing trusts.
func TestTLSVerified(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("the request went through")
	}))
	t.Cleanup(srv.Close)
	c, err := charmhub.New(charmhub.WithAPIURL(srv.URL), charmhub.WithToken(aliceToken))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.Whoami(t.Context()); err == nil || !strings.Contains(err.Error(), "certificate") || strings.Contains(err.Error(), "attempts") {
		t.Fatalf("error %v, want a certificate error at the first attempt", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %s: a certificate error was retried", took)
	}
}

// slowOpener serves content slowly, and records reads after it is told
// the upload returned.
type slowOpener struct {
	mu       sync.Mutex
	open     int
	returned bool
	late     int
}

func (o *slowOpener) Open() (io.ReadCloser, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.open++
	return &slowReader{o: o}, nil
}

type slowReader struct{ o *slowOpener }

func (r *slowReader) Read(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	r.o.mu.Lock()
	defer r.o.mu.Unlock()
	if r.o.returned {
		r.o.late++
	}
	return copy(p, make([]byte, min(len(p), 4096))), nil
}

func (r *slowReader) Close() error {
	r.o.mu.Lock()
	defer r.o.mu.Unlock()
	r.o.open--
	return nil
}

// TestCancelledUploadStopsReading cancels an upload midway: when Upload
// returns, the content is closed and read no more.
func TestCancelledUploadStopsReading(t *testing.T) {
	s := startServer(t)
	c := newClient(t, s, aliceToken)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(t.Context())
	src := &slowOpener{}
	started := make(chan struct{}, 1)
	go func() {
		<-started
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	_, err := c.Upload(ctx, "big.bin", 1<<40, src.Open, func(int64) {
		select {
		case started <- struct{}{}:
		default:
		}
	})
	src.mu.Lock()
	src.returned = true
	open := src.open
	src.mu.Unlock()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if open != 0 {
		t.Errorf("%d contents left open", open)
	}
	time.Sleep(50 * time.Millisecond)
	src.mu.Lock()
	late := src.late
	src.mu.Unlock()
	if late != 0 {
		t.Errorf("the content was read %d times after Upload returned", late)
	}
	c = nil
	s.Close()
	waitGoroutines(t, before)
}

// waitGoroutines waits for the number of goroutines to come back to at
// most n, as the client's idle connections wind down.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReviewFailingEnds: a review that answers 502 to every poll (an HTML
// page, as a proxy in front of Charmhub would) ends as a review that
// stays pending does, by the poll schedule, not after the retry budget.
func TestReviewFailingEnds(t *testing.T) {
	s := startServer(t)
	pc := newProxied(t, s)
	c, err := charmhub.New(
		charmhub.WithAPIURL(pc.p.URL+"/api"), charmhub.WithStorageURL(pc.p.URL+"/storage"), charmhub.WithToken(aliceToken),
		charmhub.WithPollSchedule([]time.Duration{100 * time.Millisecond, 100 * time.Millisecond}),
		charmhub.WithRetryPolicy(transport.Policy{Budget: transport.DefaultBudget, Base: 50 * time.Millisecond}),
		charmhub.WithTransport(transport.New(testStall)))
	if err != nil {
		t.Fatal(err)
	}
	pc.c = c
	pc.p.Add(faultproxy.Rule{Method: http.MethodGet, Path: apiReview,
		Fault: faultproxy.Fault{Kind: faultproxy.Status, Code: http.StatusBadGateway, Body: "<html><body>502 Bad Gateway</body></html>"}})
	start := time.Now()
	_, err = pc.publish(t, []byte("content"))
	took := time.Since(start)
	var pe *charmhub.PollTimeoutError
	if !errors.As(err, &pe) || pe.Failing == nil || !strings.HasSuffix(err.Error(), "The last poll failed: Charmhub answered 502.") {
		t.Fatalf("got %v, want a poll timeout naming the 502", err)
	}
	// The schedule is 0.2 s, so the wait is 5.2 s at most (5 s of grace);
	// the 2 min retry budget would have gone on.
	if took > 15*time.Second {
		t.Errorf("the failing review took %s", took)
	}
	t.Logf("ended after %s: %v", took.Round(time.Millisecond), err)
}
