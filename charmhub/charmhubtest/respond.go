package charmhubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/canonical/docker-charmcraft/charmhub"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string][]ErrorItem{"error-list": {{Code: code, Message: message}}})
}

// user returns the account of the request's Macaroon token, or writes
// the refusal. Call with s.mu held.
func (s *Server) user(w http.ResponseWriter, r *http.Request) (string, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Macaroon ")
	name, known := s.tokens[strings.TrimSpace(token)]
	switch {
	case !ok || !known:
		writeError(w, http.StatusUnauthorized, "invalid-credentials", "Provided credentials are not valid.")
		return "", false
	case s.expired[strings.TrimSpace(token)]:
		writeError(w, http.StatusUnauthorized, "macaroon-needs-refresh", "Authentication macaroon needs to be refreshed.")
		return "", false
	}
	return name, true
}

// target is what a charm request is about.
type target struct {
	user  string
	charm *charmState
	res   *resourceState // nil for requests about the charm itself
}

// authorize checks the token, the charm, the user's rights on it and,
// when the path names one, the resource; or writes the refusal. Call
// with s.mu held.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) (*target, bool) {
	user, ok := s.user(w, r)
	if !ok {
		return nil, false
	}
	name := r.PathValue("charm")
	c := s.charms[name]
	if c == nil {
		writeError(w, http.StatusNotFound, "not-found", fmt.Sprintf("Charm %q not found.", name))
		return nil, false
	}
	if !c.mayChange(user) {
		writeError(w, http.StatusForbidden, "permission-required",
			fmt.Sprintf("Permission denied: only the owner or a collaborator of charm %q may do this.", name))
		return nil, false
	}
	t := &target{user: user, charm: c}
	if res := r.PathValue("resource"); res != "" {
		if t.res = c.resources[res]; t.res == nil {
			writeError(w, http.StatusNotFound, "not-found", fmt.Sprintf("Resource %q of charm %q not found.", res, name))
			return nil, false
		}
	}
	return t, true
}

// charmHandler answers a request about a charm, or one of its resources,
// that authorize accepted. It runs with s.mu held.
type charmHandler func(w http.ResponseWriter, r *http.Request, t *target)

// forCharm serves h the requests that authorize accepts, with s.mu held.
func (s *Server) forCharm(h charmHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if t, ok := s.authorize(w, r); ok {
			h(w, r, t)
		}
	}
}

// forImage is forCharm for the requests about an oci-image resource: it
// refuses the others.
func (s *Server) forImage(h charmHandler) http.HandlerFunc {
	return s.forCharm(func(w http.ResponseWriter, r *http.Request, t *target) {
		if t.res.Type != charmhub.TypeOCIImage {
			writeError(w, http.StatusBadRequest, "resource-not-oci-image",
				fmt.Sprintf("Resource %q is of type %q, not oci-image.", t.res.Name, t.res.Type))
			return
		}
		h(w, r, t)
	})
}

// forUser serves h the requests with a known token, and the token's
// account, with s.mu held.
func (s *Server) forUser(h func(w http.ResponseWriter, r *http.Request, user string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if user, ok := s.user(w, r); ok {
			h(w, r, user)
		}
	}
}

// decodeBody reads a JSON body of at most 1 MiB into v, or writes the
// refusal.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid-json", "The request body is not valid JSON.")
		return false
	}
	return true
}
