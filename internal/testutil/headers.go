package testutil

import (
	"net/http"
	"slices"
	"sync"
)

// HeaderLog records one header of every request a test server is sent,
// safe for the server's goroutines.
type HeaderLog struct {
	name string
	mu   sync.Mutex
	seen []string
}

// NewHeaderLog records the header name ("" when a request has none).
func NewHeaderLog(name string) *HeaderLog { return &HeaderLog{name: name} }

// Serve records the header of each request, then has h answer it.
func (l *HeaderLog) Serve(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.seen = append(l.seen, r.Header.Get(l.name))
		l.mu.Unlock()
		h(w, r)
	}
}

// Seen is the header of each request so far, in the order they came.
func (l *HeaderLog) Seen() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.seen)
}
