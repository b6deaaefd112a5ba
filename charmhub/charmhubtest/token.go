package charmhubtest

import (
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/canonical/docker-charmcraft/registry/registrytest"
)

const registryTokenTTL = 300 * time.Second

// registryToken answers a registry token request authenticated with
// upload credentials. It grants the requested pull and push actions on
// the repositories of the credentials' charm, and nothing elsewhere.
func (s *Server) registryToken(w http.ResponseWriter, r *http.Request) {
	user, cred, ok := s.basicCred(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="charmhubtest"`)
		writeError(w, http.StatusUnauthorized, "invalid-credentials", "Registry credentials are not valid.")
		return
	}
	if svc := r.URL.Query().Get("service"); svc != "" && svc != s.issuer.Service {
		writeError(w, http.StatusBadRequest, "invalid-service", "Unknown service.")
		return
	}
	var access []registrytest.Access
	for _, scope := range r.URL.Query()["scope"] {
		if a, ok := grant(cred, scope); ok {
			access = append(access, a)
		}
	}
	tok, err := s.issuer.Issue(user, access, registryTokenTTL)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server-error", "Signing the token failed.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"token": tok, "access_token": tok, "expires_in": int(registryTokenTTL.Seconds()),
		"issued_at": time.Now().UTC().Format(time.RFC3339),
	})
}

func (s *Server) basicCred(r *http.Request) (string, *registryCred, bool) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return "", nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.creds[user]
	if c == nil || subtle.ConstantTimeCompare([]byte(pass), []byte(c.password)) != 1 {
		return "", nil, false
	}
	return user, c, true
}

// grant returns the access a scope "repository:<name>:<actions>" gets:
// the requested actions the credentials allow, on a repository
// charm/<charm id>/<resource> of their charm.
func grant(c *registryCred, scope string) (registrytest.Access, bool) {
	typ, rest, _ := strings.Cut(scope, ":")
	i := strings.LastIndex(rest, ":")
	if typ != "repository" || i < 0 {
		return registrytest.Access{}, false
	}
	name, actions := rest[:i], strings.Split(rest[i+1:], ",")
	res, ok := strings.CutPrefix(name, "charm/"+c.charmID+"/")
	if !ok || res == "" || strings.Contains(res, "/") {
		return registrytest.Access{}, false
	}
	var granted []string
	for _, a := range actions {
		if slices.Contains(c.actions, a) && !slices.Contains(granted, a) {
			granted = append(granted, a)
		}
	}
	return registrytest.Access{Type: "repository", Name: name, Actions: granted}, len(granted) > 0
}
