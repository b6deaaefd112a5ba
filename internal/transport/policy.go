package transport

import (
	"context"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Policy says when a client sends a request again, and how long it keeps
// trying. Each client builds its own where it is configured; the fields
// left zero take the defaults of DefaultPolicy.
type Policy struct {
	// Base is the first wait between two attempts, doubled at each retry
	// up to Cap; each wait is drawn between half and all of it, so that
	// clients do not come back in step.
	Base, Cap time.Duration
	// Attempts caps the attempts of one request, in all; 0 leaves only
	// Budget.
	Attempts int
	// Budget caps the time from a request's first attempt to the start
	// of its last; 0 leaves only Attempts.
	Budget time.Duration
	// Statuses are the answers worth another attempt. The default is
	// DefaultStatuses.
	Statuses []int
	// BufferAnswer, if positive, is how much of an answer to a request
	// that may be sent again the retry layer reads before returning it,
	// so that an answer cut short is retried like a reset connection.
	BufferAnswer int64
	// Clock replaces the time of day and the waits, in tests.
	Clock Clock
}

// Clock is the time a Policy counts and waits with.
type Clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx is done (then returning its error).
	Sleep(ctx context.Context, d time.Duration) error
}

// DefaultStatuses are the answers retried unless a policy says otherwise:
// 429 and the 5xx that say the server or a proxy is overloaded or down.
var DefaultStatuses = []int{
	http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
	http.StatusServiceUnavailable, http.StatusGatewayTimeout,
}

// The defaults of every client: an outage of a minute on any request is
// waited out, a permanent one given up on within DefaultBudget.
const (
	DefaultBase   = time.Second
	DefaultCap    = 15 * time.Second
	DefaultBudget = 2 * time.Minute
)

// DefaultPolicy is the policy every client starts from: waits from
// DefaultBase doubling to DefaultCap, Retry-After honoured, for
// DefaultBudget (about 12 attempts when the server fails at once).
func DefaultPolicy() Policy {
	return Policy{Base: DefaultBase, Cap: DefaultCap, Budget: DefaultBudget}
}

// withDefaults fills in what p leaves zero.
func (p Policy) withDefaults() Policy {
	if p.Cap <= 0 {
		p.Cap = max(p.Base, DefaultCap)
	}
	if p.Attempts <= 0 && p.Budget <= 0 {
		p.Budget = DefaultBudget
	}
	if p.Statuses == nil {
		p.Statuses = DefaultStatuses
	}
	if p.Clock == nil {
		p.Clock = realClock{}
	}
	return p
}

// RetryStatus says whether an answer with status code is worth another
// attempt.
func (p Policy) RetryStatus(code int) bool {
	return slices.Contains(p.withDefaults().Statuses, code)
}

// Tries paces the attempts of one operation under a policy.
type Tries struct {
	p     Policy
	start time.Time
	n     int
}

// Begin starts counting the attempts of an operation, the first one
// under way.
func (p Policy) Begin() *Tries {
	p = p.withDefaults()
	return &Tries{p: p, start: p.Clock.Now(), n: 1}
}

// N is the number of the attempt under way (or the last one made).
func (t *Tries) N() int { return t.n }

// Elapsed is the time since the first attempt.
func (t *Tries) Elapsed() time.Duration { return t.p.Clock.Now().Sub(t.start) }

// Next says how long to wait before another attempt, after one that
// failed: retryAfter when the server asked for it (positive), else the
// backoff. ok is false when the policy is spent: the attempts are all
// made, or the wait would end past the budget (a backoff is shortened to
// fit; a Retry-After is not, being the server's word).
func (t *Tries) Next(retryAfter time.Duration) (wait time.Duration, ok bool) {
	p := t.p
	if p.Attempts > 0 && t.n >= p.Attempts {
		return 0, false
	}
	wait = retryAfter
	if wait <= 0 {
		wait = p.backoff(t.n)
	}
	if p.Budget > 0 {
		left := p.Budget - t.Elapsed()
		if left <= 0 || (retryAfter > 0 && retryAfter > left) {
			return 0, false
		}
		wait = min(wait, left)
	}
	return wait, true
}

// Wait waits for d, then counts another attempt; it fails, counting
// none, when ctx ends first.
func (t *Tries) Wait(ctx context.Context, d time.Duration) error {
	if err := t.p.Clock.Sleep(ctx, d); err != nil {
		return err
	}
	t.n++
	return nil
}

// Of is " of N" when the attempts are capped, for the debug log.
func (t *Tries) Of() string {
	if t.p.Attempts > 0 {
		return " of " + strconv.Itoa(t.p.Attempts)
	}
	return ""
}

// backoff is the wait after the attempt-th: Base doubled for each
// attempt before it, capped, then drawn between half and all of that.
func (p Policy) backoff(attempt int) time.Duration {
	d := p.Base
	for i := 1; i < attempt && d < p.Cap; i++ {
		d *= 2
	}
	d = min(d, p.Cap)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1) //nolint:gosec // jitter needs no secret randomness
}

// RetryAfter reads a Retry-After value, seconds or an HTTP date, as a
// wait from now; 0 if there is none.
func RetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(min(max(s, 0), 1<<30)) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0)
	}
	return 0
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error { return Sleep(ctx, d) }
