package charmhubtest

import (
	"io"
	"net/http"
	"path"
	"slices"
)

// Request is one request the server received.
type Request struct {
	Method string
	// Path is the full path, e.g. "/api/v1/tokens/whoami", without query.
	Path   string
	Status int
}

// Fault makes the server fail requests before handling them.
type Fault struct {
	// Method matches any method when empty.
	Method string
	// Path is a path.Match pattern on the full path, e.g.
	// "/api/v1/charm/*/resources" or "/storage/unscanned-upload/".
	Path string
	// Status is answered, with an error list of code "server-error"
	// unless Body is set.
	Status int
	// Times is how many requests fail; then the fault is gone.
	Times int
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// Body, when set, is answered as JSON instead of the error list,
	// e.g. {"successful": false} with Status 200 on storage.
	Body string
}

// Fail adds a fault.
func (s *Server) Fail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Count is how many requests matched method (any if empty) and the
// path.Match pattern.
func (s *Server) Count(method, pattern string) int {
	n := 0
	for _, r := range s.Requests() {
		if ok, _ := path.Match(pattern, r.Path); ok && (method == "" || method == r.Method) {
			n++
		}
	}
	return n
}

// record logs every request and applies the faults.
func (s *Server) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		if f := s.fault(r); f != nil {
			_, _ = io.Copy(io.Discard, r.Body)
			if f.RetryAfter != "" {
				w.Header().Set("Retry-After", f.RetryAfter)
			}
			f.answer(rec)
		} else {
			next.ServeHTTP(rec, r)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Status: rec.status})
	})
}

// fault returns the fault that applies to r, counting it, or nil.
func (s *Server) fault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if ok, _ := path.Match(f.Path, r.URL.Path); !ok || (f.Method != "" && f.Method != r.Method) {
			continue
		}
		if f.Times--; f.Times <= 0 {
			s.faults = slices.Delete(s.faults, i, i+1)
		}
		return f
	}
	return nil
}

func (f *Fault) answer(w http.ResponseWriter) {
	if f.Body == "" {
		writeError(w, f.Status, "server-error", "Injected failure.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	_, _ = io.WriteString(w, f.Body)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap gives http.ResponseController the original writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
