package transport

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"
)

var refused = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}

// episode fails every attempt of an operation at host with failed, each
// taking took, under p and its run, and returns the time from the first
// attempt to the end of the last.
func episode(p Policy, host string, failed error, took time.Duration) time.Duration {
	clock := p.Clock.(*fakeClock)
	tries := p.Begin().At(host)
	start := clock.now
	for {
		clock.now = clock.now.Add(took)
		wait, ok := tries.Next(failed, 0)
		if !ok {
			return clock.now.Sub(start)
		}
		_ = tries.Wait(context.Background(), wait)
	}
}

func newRulePolicy() (Policy, *fakeClock, *[]Retrying) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	var told []Retrying
	p := DefaultPolicy()
	p.Clock = clock
	p.Run = NewRun(clock, func(r Retrying) { told = append(told, r) })
	return p, clock, &told
}

// TestRule checks which failures get the budget and which only the grace
// (see Tries.Next), with the default policy.
func TestRule(t *testing.T) {
	tests := []struct {
		name     string
		answered bool // the host answered before in the run
		failed   error
		min, max time.Duration
	}{
		{"refused at first contact", false, refused, 2 * time.Second, DefaultGrace + time.Second},
		{"refused after an answer", true, refused, DefaultBudget, DefaultBudget + time.Second},
		{"503 at first contact", false, answered(503), DefaultBudget, DefaultBudget + time.Second},
		{"429", true, answered(429), DefaultBudget, DefaultBudget + time.Second},
		{"500", true, answered(500), 2 * time.Second, DefaultGrace + time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 20 {
				p, _, told := newRulePolicy()
				p.Run.Name("api.example:443", "Charmhub")
				if tt.answered {
					p.Run.Progress("api.example:443")
				}
				if got := episode(p, "api.example:443", tt.failed, 10*time.Millisecond); got < tt.min || got > tt.max {
					t.Fatalf("gave up after %s, want between %s and %s", got, tt.min, tt.max)
				}
				if len(*told) != 1 || (*told)[0].Service != "Charmhub" {
					t.Fatalf("told %+v, want one line about Charmhub", *told)
				}
			}
		})
	}
}

// TestBudgetFromProgress: the budget counts from the last progress of
// the run, not from an operation's first attempt: a long upload that
// breaks is sent again; operations in sequence during an outage share
// one budget.
func TestBudgetFromProgress(t *testing.T) {
	p, clock, _ := newRulePolicy()
	host := "registry.example:443"
	p.Run.Progress(host)

	// An upload that moved bytes for 5 minutes, then broke.
	tries := p.Begin().At(host)
	for range 300 {
		clock.now = clock.now.Add(time.Second)
		p.Run.sent()
	}
	if _, ok := tries.Next(refused, 0); !ok {
		t.Fatal("a long upload that broke is not sent again")
	}
	// One that took a whole body to answer 503 is not progressing.
	tries = p.Begin().At(host)
	clock.now = clock.now.Add(DefaultBudget)
	p.Run.sent()
	if _, ok := tries.Next(answered(503), 0); ok {
		t.Fatal("a 503 after a whole body is retried past the budget")
	}

	// An outage met by requests in sequence ends within the budget of
	// the last progress, not a budget per request.
	p, clock, told := newRulePolicy()
	p.Run.Progress(host)
	start := clock.now
	for i := 0; clock.now.Sub(start) < 10*time.Minute; i++ {
		if d := episode(p, host, answered(503), 100*time.Millisecond); d == 100*time.Millisecond && i > 0 {
			break // spent: the next ends after its first attempt
		}
	}
	if total := clock.now.Sub(start); total > DefaultBudget+time.Second {
		t.Errorf("requests in sequence gave up %s after the last progress, want within %s", total, DefaultBudget)
	}
	if len(*told) != 1 {
		t.Errorf("told %d times in one episode, want once: %+v", len(*told), *told)
	}

	// Progress ends the episode: a new one is told again, with a whole
	// budget.
	p.Run.Progress(host)
	if d := episode(p, host, answered(503), 0); d < DefaultBudget-time.Second {
		t.Errorf("after progress, gave up after %s", d)
	}
	if len(*told) != 2 || (*told)[1].For != DefaultBudget {
		t.Errorf("told %+v, want a second line with the whole budget", *told)
	}
}

// TestCause: the words users read for each failure.
func TestCause(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{answered(503), "answered 503"},
		{refused, "refused the connection"},
		{&net.OpError{Op: "dial", Err: &net.DNSError{Name: "api.charmhub.io", IsNotFound: true}}, "cannot be found (no such host api.charmhub.io)"},
		{fmt.Errorf("x: %w", &StallError{Idle: time.Minute}), "sent nothing for 1m0s"},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, "dropped the connection"},
	}
	for _, tt := range tests {
		if got := Cause(tt.err); got != tt.want {
			t.Errorf("Cause(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// TestBrokenAtTheSamePoint: an upload that a server breaks at the same
// point every time is not progress after the first: the retries end
// within the budget, where bytes sent each time would extend it for
// ever.
func TestBrokenAtTheSamePoint(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.CopyN(io.Discard, r.Body, 1000)
		panic(http.ErrAbortHandler)
	}))
	t.Cleanup(srv.Close)
	p, clock, told := newRulePolicy()
	p.Run.Progress(srv.Listener.Addr().String()) // it answered before
	rt := Stack(nil, p, "", nil)
	body := bytes.Repeat([]byte("x"), 64<<20)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.URL, bytes.NewReader(body))
	req, n := CountAttempts(req)
	start := clock.now
	if resp, err := rt.RoundTrip(req); err == nil {
		_ = resp.Body.Close()
		t.Fatal("no error from a server that breaks every upload")
	}
	if took := clock.now.Sub(start); took > DefaultBudget+time.Second || n.Load() > 100 {
		t.Errorf("%d attempts over %s, want the budget of %s", n.Load(), took, DefaultBudget)
	}
	if len(*told) == 0 || (*told)[0].For != DefaultBudget {
		t.Errorf("told %+v", *told)
	}
}
