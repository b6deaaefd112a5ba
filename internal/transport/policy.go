package transport

import (
	"context"
	"errors"
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
	// Budget caps the time from the last progress (see Run) to the start
	// of the last attempt; 0 leaves only Attempts.
	Budget time.Duration
	// Grace caps the time from an operation's first attempt to the start
	// of its last when waiting is unlikely to help (see Tries.Next): the
	// first contact with a service failed, or it answered 500. The
	// default is DefaultGrace; a shorter Budget bounds it.
	Grace time.Duration
	// Statuses are the answers worth another attempt. The default is
	// DefaultStatuses.
	Statuses []int
	// Run is what the clients of one command share about the network;
	// nil gives each operation its own. A client built from a policy
	// without one makes one for itself.
	Run *Run
	// BufferAnswer, if positive, is how much of an answer to a request
	// that may be sent again the retry layer reads before returning it,
	// so that an answer cut short is retried like a reset connection.
	BufferAnswer int64
	// AnswerWithin bounds the arrival of an answer's headers once their
	// first byte came, and of the start of it BufferAnswer reads. The
	// default is SmallAnswerTimeout.
	AnswerWithin time.Duration
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
// 429 and the 5xx that say the server or a proxy is overloaded or down,
// for the budget; 500, which more often says this request met a fault
// that the next meets too (distribution 2.8 answers 500 for a config
// blob asked for as a manifest, every time), only for the grace.
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
	DefaultGrace  = 5 * time.Second
)

// DefaultPolicy is the policy every client starts from: waits from
// DefaultBase doubling to DefaultCap, Retry-After honoured, for
// DefaultBudget (about 12 attempts when the server fails at once).
func DefaultPolicy() Policy {
	return Policy{Base: DefaultBase, Cap: DefaultCap, Budget: DefaultBudget}
}

// Check says what is wrong with p, if anything: a negative wait or
// number of attempts.
func (p Policy) Check() error {
	if p.Attempts < 0 || p.Base < 0 || p.Cap < 0 || p.Budget < 0 || p.Grace < 0 {
		return errors.New("a retry policy's attempts and waits must not be negative")
	}
	return nil
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
	if p.Grace <= 0 {
		p.Grace = DefaultGrace
	}
	if p.Budget > 0 {
		p.Grace = min(p.Grace, p.Budget) // a shorter budget bounds every wait
	}
	if p.Clock == nil {
		p.Clock = realClock{}
	}
	if p.AnswerWithin <= 0 {
		p.AnswerWithin = SmallAnswerTimeout
	}
	return p
}

// WithRun returns p with a Run of its own if it has none, for a client
// to share between its requests.
func (p Policy) WithRun() Policy {
	if p.Run == nil {
		p.Run = NewRun(p.Clock, nil)
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
	// from is when this operation's budget starts, unless the run made
	// progress since: its start, or zero when it began while the run was
	// already retrying (it then has what is left of the run's budget).
	from time.Time
	host string
	n    int
	// fresh is the number of attempts made before the last progress:
	// the waits start again from Base after it.
	fresh int
}

// Begin starts counting the attempts of an operation, the first one
// under way.
func (p Policy) Begin() *Tries {
	p = p.withDefaults()
	if p.Run == nil {
		p.Run = NewRun(p.Clock, nil)
	}
	now := p.Clock.Now()
	t := &Tries{p: p, start: now, n: 1}
	if !p.Run.retrying() {
		t.from = now
	}
	return t
}

// At names the host the operation talks to: its first contact in the
// run is judged by it (see Next), and the service it is named after.
func (t *Tries) At(host string) *Tries {
	t.host = host
	return t
}

// N is the number of the attempt under way (or the last one made).
func (t *Tries) N() int { return t.n }

// Elapsed is the time since the first attempt.
func (t *Tries) Elapsed() time.Duration { return t.p.Clock.Now().Sub(t.start) }

// Next says how long to wait before another attempt, after one that
// failed with failed (a StatusError for an answer): retryAfter when the
// server asked for it (positive), else the backoff. ok is false when the
// policy is spent: the attempts are all made, or the wait would end past
// the time left (a backoff is shortened to fit; a Retry-After is not,
// being the server's word).
//
// The time left is the rule of the plugin. A failure waiting may mend
// (a service that answered before in this run fails, or answers 429,
// 502, 503 or 504) has the budget, counted from the run's last progress:
// an answer (not one to a NoProgress question), a byte of a request body
// sent further than any attempt before (unless the attempt ended in an
// answer: a server that takes a whole body to answer 503 is not
// progressing), or what the operation says with Progressed. A failure waiting is unlikely to mend has the grace,
// counted from the operation's first attempt: the first contact with a
// service failed (connection refused, its name unknown, ...), or it
// answered 500. What waiting cannot mend at all (no such host, a
// certificate not trusted, 4xx) is not retried: see Temporary.
func (t *Tries) Next(failed error, retryAfter time.Duration) (wait time.Duration, ok bool) {
	p := t.p
	if p.Attempts > 0 && t.n >= p.Attempts {
		return 0, false
	}
	wait = retryAfter
	if wait <= 0 {
		wait = p.backoff(t.n - t.fresh)
	}
	now := p.Clock.Now()
	var left time.Duration
	bounded, short := true, t.short(failed)
	switch {
	case short:
		left = p.Grace - now.Sub(t.start)
	case p.Budget > 0:
		_, answered := errors.AsType[StatusError](failed)
		left = p.Budget - now.Sub(p.Run.since(t.from, !answered))
	default:
		bounded = false
	}
	if bounded {
		if left <= 0 || (retryAfter > 0 && retryAfter > left) {
			return 0, false
		}
		wait = min(wait, left)
	}
	p.Run.tell(t.host, failed, max(left, 0), short)
	return wait, true
}

// Progressed says the operation moved on, as it learnt from the service
// (an upload session holds more than before): its budget starts again,
// and so do its waits, from Base (a link that breaks every few seconds
// is not one to wait longer and longer for). The attempt under way is
// the first after the progress.
func (t *Tries) Progressed() {
	t.from = t.p.Clock.Now()
	t.fresh = t.n - 1
}

// short says whether failed is one waiting is unlikely to mend, which has
// only the grace.
func (t *Tries) short(failed error) bool {
	if se, ok := errors.AsType[StatusError](failed); ok {
		return se.HTTPStatus() == http.StatusInternalServerError
	}
	return failed != nil && t.host != "" && !t.p.Run.Answered(t.host)
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
