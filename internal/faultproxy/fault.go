package faultproxy

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Kind is a way to misbehave.
type Kind string

// The faults a rule can apply.
const (
	// Status answers Code (with Retry-After if set, and Body or an error
	// body both Charmhub and registries use) without forwarding, after
	// Delay if set.
	Status Kind = "status"
	// ResetRequest forwards the request, and once Bytes bytes of its body
	// have passed, resets both connections: the client's with a TCP
	// reset, the target's midway through the body.
	ResetRequest Kind = "reset-request"
	// TruncateRequest forwards only the first Bytes bytes of the body,
	// ending it there as if it were whole.
	TruncateRequest Kind = "truncate-request"
	// CorruptRequest forwards the body with the byte at offset Bytes
	// flipped.
	CorruptRequest Kind = "corrupt-request"
	// ThrottleRequest forwards the body at Rate bytes per second.
	ThrottleRequest Kind = "throttle-request"
	// Stall holds the request for Delay before forwarding it, unless the
	// client gives up first.
	Stall Kind = "stall"
	// StallAnswer forwards the request and holds the answer for Delay,
	// unless the client gives up first.
	StallAnswer Kind = "stall-answer"
	// TruncateAnswer passes the answer's headers and only Bytes bytes of
	// its body, then drops the connection.
	TruncateAnswer Kind = "truncate-answer"
	// SetHeader passes the answer with its header Header set to Value.
	SetHeader Kind = "set-header"
	// TrickleAnswer passes the answer's headers, then its body one byte
	// every Delay, each in time to beat a stall timeout longer than Delay.
	TrickleAnswer Kind = "trickle-answer"
	// TrickleHeaders sends the answer's status line and headers one byte
	// every Delay, then its body at once, over HTTP/1.1, and closes the
	// connection.
	TrickleHeaders Kind = "trickle-headers"
)

// Rule says which requests get a fault.
type Rule struct {
	// Method matches any method when empty.
	Method string
	// Path is a path.Match pattern on the request path; empty matches all.
	Path string
	// Query is a part of the request's raw query that must be there, as
	// "mount=" for a registry's cross-repository mount; empty matches all.
	Query string
	// After lets that many matching requests through first.
	After int
	// Times is how many matching requests get the fault; 0 is all.
	Times int
	// Fault is what is done to them.
	Fault Fault
}

func (r *Rule) matches(req *http.Request) bool {
	return (r.Method == "" || r.Method == req.Method) && match(r.Path, req.URL.Path) && strings.Contains(req.URL.RawQuery, r.Query)
}

// Fault is one way to misbehave, and its settings.
type Fault struct {
	Kind Kind
	// Code, RetryAfter and Body are answered by Status.
	Code       int
	RetryAfter string
	Body       string
	// Bytes is the offset at which ResetRequest, TruncateRequest,
	// CorruptRequest and TruncateAnswer act.
	Bytes int64
	// Rate is ThrottleRequest's bytes per second.
	Rate int64
	// Delay is how long Stall and StallAnswer hold, Status waits, and
	// TrickleAnswer and TrickleHeaders wait between two bytes.
	Delay time.Duration
	// Header and Value are SetHeader's.
	Header, Value string
}

// Shorthands for the common faults.

// Fail answers code without forwarding.
func Fail(code int) Fault { return Fault{Kind: Status, Code: code} }

// ResetAfter resets the connections after n bytes of the request body.
func ResetAfter(n int64) Fault { return Fault{Kind: ResetRequest, Bytes: n} }

// StallFor holds the request for d.
func StallFor(d time.Duration) Fault { return Fault{Kind: Stall, Delay: d} }

// Throttle slows the request body down to rate bytes per second.
func Throttle(rate int64) Fault { return Fault{Kind: ThrottleRequest, Rate: rate} }

// answer writes the Status fault's answer.
func (f *Fault) answer(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
	if !wait(r.Context(), f.Delay) {
		return
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	body := f.Body
	if body == "" {
		msg := http.StatusText(f.Code) + " (injected by faultproxy)"
		data, _ := json.Marshal(map[string]any{
			"error-list": []map[string]string{{"code": "server-error", "message": msg}},
			"errors":     []map[string]string{{"code": "UNAVAILABLE", "message": msg}},
		})
		body = string(data)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Code)
	_, _ = io.WriteString(w, body) //nolint:gosec // a test server's scripted answer
}

// faultyBody is a request body read through a fault.
type faultyBody struct {
	r     io.Reader
	f     *Fault
	n     int64
	start time.Time
	reset atomic.Bool // ResetRequest fired
}

func (b *faultyBody) Read(p []byte) (int, error) {
	switch b.f.Kind {
	case ResetRequest:
		if b.n >= b.f.Bytes {
			b.reset.Store(true)
			return 0, errReset
		}
		p = p[:min(int64(len(p)), b.f.Bytes-b.n)]
	case TruncateRequest:
		if b.n >= b.f.Bytes {
			return 0, io.EOF
		}
		p = p[:min(int64(len(p)), b.f.Bytes-b.n)]
	case ThrottleRequest:
		if b.f.Rate > 0 {
			p = p[:min(int64(len(p)), max(b.f.Rate/20, 1))]
			// Sleep until the bytes sent so far are due.
			due := b.start.Add(time.Duration(float64(b.n) / float64(b.f.Rate) * float64(time.Second)))
			time.Sleep(time.Until(due))
		}
	}
	n, err := b.r.Read(p)
	if b.f.Kind == CorruptRequest && b.n <= b.f.Bytes && b.f.Bytes < b.n+int64(n) {
		p[b.f.Bytes-b.n] ^= 0xff
	}
	b.n += int64(n)
	if b.f.Kind == TruncateRequest && b.n >= b.f.Bytes && err == nil {
		err = io.EOF
	}
	return n, err
}
