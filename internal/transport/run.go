package transport

import (
	"net/http"
	"sync"
	"time"
)

// Run is what the clients of one command share about the network, for
// their retries (see Tries.Next): when the work last made progress,
// which services answered, whether a retry episode is under way, and
// who is told about it. Its methods are safe for concurrent use.
type Run struct {
	clock  Clock
	notify func(Retrying)

	mu       sync.Mutex
	answer   time.Time // the last answer that ended a request
	moved    time.Time // the last byte of a request body read to be sent
	failing  bool      // a retry was decided since the last answer
	answered map[string]bool
	names    map[string]string
	told     map[string]time.Time // when the last line said about a service stops holding
}

// Retrying is a retry episode, for the user: what failed, and how long
// the retries go on at most.
type Retrying struct {
	// Service is the service's name (see Run.Name), else its host.
	Service string
	// Cause says what went wrong, in words: "answered 503", "refused the
	// connection" (see Cause).
	Cause string
	// For is how long the retries go on at most; 0 when only a number of
	// attempts bounds them.
	For time.Duration
	// FirstContact is true when the service never answered in this run
	// or answered 500: the retries have only the policy's grace.
	FirstContact bool
}

// NewRun returns the state of a run that starts now, on clock (the time
// of day if nil), which calls notify, if not nil, when a retry episode
// starts for a service.
func NewRun(clock Clock, notify func(Retrying)) *Run {
	if clock == nil {
		clock = realClock{}
	}
	now := clock.Now()
	return &Run{
		clock: clock, notify: notify, answer: now, moved: now,
		answered: map[string]bool{}, names: map[string]string{}, told: map[string]time.Time{},
	}
}

// Name names the service at host (host:port as in a URL) for what the
// user is told; the first name given to a host stays.
func (r *Run) Name(host, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.names[host]; !ok {
		r.names[host] = name
	}
}

// ServiceName is the name of the service at host, else host.
func (r *Run) ServiceName(host string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n, ok := r.names[host]; ok {
		return n
	}
	return host
}

// Answered says whether host answered a request in this run.
func (r *Run) Answered(host string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.answered[host]
}

// Progress records that work moved on: host answered a request, and
// does not need another attempt.
func (r *Run) Progress(host string) {
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answered[host] = true
	r.answer, r.failing = now, false
}

// heard records that host answered, though with a failure.
func (r *Run) heard(host string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answered[host] = true
}

// replied records that host answered a question about work under way
// (see NoProgress): whatever failed has passed, but the work did not
// move on.
func (r *Run) replied(host string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answered[host] = true
	r.failing = false
}

// sent records that a byte of a request body left.
func (r *Run) sent() {
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.moved = now
}

// retrying says whether a retry episode is under way.
func (r *Run) retrying() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failing
}

// since is when the budget of an operation whose own starts at from (or
// zero) starts: the last progress of the run or from, whichever is
// later; bytes sent count when moved is true.
func (r *Run) since(from time.Time, moved bool) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := later(from, r.answer)
	if moved {
		t = later(t, r.moved)
	}
	return t
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// tell starts a retry episode, and tells of it unless the last line said
// about the same service still holds.
func (r *Run) tell(host string, failed error, left time.Duration, short bool) {
	now := r.clock.Now()
	r.mu.Lock()
	r.failing = true
	name, ok := r.names[host]
	if !ok {
		name = host
	}
	if r.notify == nil || now.Before(r.told[name]) {
		r.mu.Unlock()
		return
	}
	r.told[name] = now.Add(left)
	r.mu.Unlock()
	r.notify(Retrying{Service: name, Cause: Cause(failed), For: left, FirstContact: short})
}

// statusError is an answer that a retry layer turns down, as an error
// for the policy.
type statusError struct{ resp *http.Response }

func (e statusError) Error() string   { return e.resp.Status }
func (e statusError) HTTPStatus() int { return e.resp.StatusCode }
