package transport

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// fakeClock advances only when slept on.
type fakeClock struct {
	now   time.Time
	slept []time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	return nil
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"7", 7 * time.Second},
		{"-1", 0},
		{"99999999999999999", (1 << 30) * time.Second}, // capped: too long to wait for
		{"1e3", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"tomorrow", 0},
	}
	for _, tt := range tests {
		if got := RetryAfter(tt.v, now); got != tt.want {
			t.Errorf("RetryAfter(%q) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Cap: time.Second}.withDefaults()
	for attempt, full := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		full *= time.Millisecond
		for range 50 {
			if d := p.backoff(attempt + 1); d < full/2 || d > full {
				t.Fatalf("backoff(%d) = %s, want in [%s, %s]", attempt+1, d, full/2, full)
			}
		}
	}
}

// run fails every attempt of an operation under p, each taking took and
// answered with retryAfter, and returns the attempts made and the time
// from the first to the end of the last.
func run(p Policy, took, retryAfter time.Duration) (int, time.Duration, *fakeClock) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	p.Clock = clock
	tries := p.Begin()
	start := clock.now
	for {
		clock.now = clock.now.Add(took)
		wait, ok := tries.Next(answered(503), retryAfter)
		if !ok {
			return tries.N(), clock.now.Sub(start), clock
		}
		_ = tries.Wait(context.Background(), wait)
	}
}

// TestDefaultSchedule checks what the default policy promises: a request
// that fails at once keeps being tried for a minute and more, and is
// given up on within three.
func TestDefaultSchedule(t *testing.T) {
	for _, took := range []time.Duration{0, 100 * time.Millisecond, 2 * time.Second} {
		for range 20 { // the jitter differs each time
			n, total, clock := run(DefaultPolicy(), took, 0)
			if total > 3*time.Minute || total < DefaultBudget {
				t.Fatalf("attempts of %s each: gave up after %s, want between %s and 3m", took, total, DefaultBudget)
			}
			var waited time.Duration
			for i, d := range clock.slept {
				if d > DefaultCap {
					t.Errorf("wait %d is %s, past the cap", i+1, d)
				}
				if waited += d; waited < time.Minute && i == len(clock.slept)-1 {
					t.Errorf("the last attempt started %s after the first: a minute's outage is not survived", waited)
				}
			}
			if n < 8 || n > 40 {
				t.Errorf("%d attempts of %s each", n, took)
			}
		}
	}
}

func TestScheduleHonoursRetryAfter(t *testing.T) {
	n, total, clock := run(DefaultPolicy(), 0, 10*time.Second)
	for _, d := range clock.slept {
		if d != 10*time.Second {
			t.Fatalf("waited %s, want the 10s asked", d)
		}
	}
	if n != 13 || total != 120*time.Second {
		t.Errorf("%d attempts over %s, want 13 over 2m", n, total)
	}
	// A Retry-After past the budget ends the operation at once.
	if n, total, _ := run(DefaultPolicy(), 0, 5*time.Minute); n != 1 || total != 0 {
		t.Errorf("asked to wait 5m: %d attempts over %s, want 1 at once", n, total)
	}
}

func TestScheduleAttempts(t *testing.T) {
	if n, _, clock := run(Policy{Attempts: 4, Base: time.Second}, 0, 0); n != 4 || len(clock.slept) != 3 {
		t.Errorf("%d attempts, %d waits; want 4 and 3", n, len(clock.slept))
	}
	if n, _, _ := run(Policy{Attempts: 1}, 0, 0); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

// answered is a StatusError for the status code.
type answered int

func (a answered) Error() string   { return http.StatusText(int(a)) }
func (a answered) HTTPStatus() int { return int(a) }

// TestProgressRestartsWaits checks that an operation that moves on
// between its failures (an upload broken every few chunks) waits as after
// a first failure each time, not longer and longer.
func TestProgressRestartsWaits(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	p := Policy{Base: time.Second, Cap: time.Minute, Budget: time.Hour, Clock: clock}
	tries := p.Begin()
	for i := range 6 {
		wait, ok := tries.Next(errors.New("connection reset"), 0)
		if !ok || wait < p.Base/2 || wait > p.Base {
			t.Fatalf("failure %d after progress: wait %s (%t), want between %s and %s", i+1, wait, ok, p.Base/2, p.Base)
		}
		_ = tries.Wait(context.Background(), wait)
		tries.Progressed()
	}
	// Without progress the waits grow again.
	var last time.Duration
	for range 4 {
		wait, _ := tries.Next(errors.New("connection reset"), 0)
		_ = tries.Wait(context.Background(), wait)
		last = wait
	}
	if last < 4*p.Base {
		t.Errorf("the fourth wait without progress is %s, want at least %s", last, 4*p.Base)
	}
	if tries.N() != 11 {
		t.Errorf("%d attempts counted, want 11", tries.N())
	}
}

// TestBudgetBoundsGrace: a failure waiting is unlikely to mend (the first
// contact refused) is retried for the grace, or for the budget when that
// is shorter: a user who asks for 1 s of retries does not wait 5.
func TestBudgetBoundsGrace(t *testing.T) {
	for budget, want := range map[time.Duration]time.Duration{time.Second: time.Second, time.Hour: DefaultGrace} {
		clock := &fakeClock{now: time.Unix(1e9, 0)}
		tries := Policy{Base: DefaultBase, Budget: budget, Clock: clock}.Begin().At("registry.example")
		for {
			wait, ok := tries.Next(errors.New("connection refused"), 0)
			if !ok {
				break
			}
			_ = tries.Wait(context.Background(), wait)
		}
		if waited := clock.now.Sub(time.Unix(1e9, 0)); waited > want || waited < want/2 {
			t.Errorf("budget %s: retried for %s, want up to %s", budget, waited, want)
		}
	}
}
