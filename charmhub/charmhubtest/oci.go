package charmhubtest

import (
	"crypto/rand"
	"fmt"
	"github.com/canonical/docker-charmcraft/charmhub"
	"net/http"
	"regexp"
)

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// registryCred is a username and password the registry token endpoint
// accepts for one charm's repositories.
type registryCred struct {
	password string
	charmID  string
	actions  []string
}

// newCred makes and remembers fresh registry credentials. Call with
// s.mu held.
func (s *Server) newCred(charmID string, actions ...string) (string, *registryCred) {
	user := "charm-" + charmID + "-" + rand.Text()[:8]
	password := rand.Text()
	if s.newPassword != nil {
		password = s.newPassword()
	}
	c := &registryCred{password: password, charmID: charmID, actions: actions}
	s.creds[user] = c
	return user, c
}

// ociTarget authorizes a request about an oci-image resource, or writes
// the refusal. Call with s.mu held.
func (s *Server) ociTarget(w http.ResponseWriter, r *http.Request) (*target, bool) {
	t, ok := s.authorize(w, r)
	if ok && t.res.Type != charmhub.TypeOCIImage {
		writeError(w, http.StatusBadRequest, "resource-not-oci-image",
			fmt.Sprintf("Resource %q is of type %q, not oci-image.", t.res.Name, t.res.Type))
		return nil, false
	}
	return t, ok
}

func (s *Server) imageName(t *target) string {
	return s.registryHost + "/charm/" + t.charm.ID + "/" + t.res.Name
}

func (s *Server) uploadCredentials(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.ociTarget(w, r)
	if !ok {
		return
	}
	user, cred := s.newCred(t.charm.ID, "pull", "push")
	writeJSON(w, http.StatusOK, map[string]string{
		"image-name": s.imageName(t), "username": user, "password": cred.password,
	})
}

func (s *Server) imageBlob(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.ociTarget(w, r)
	if !ok {
		return
	}
	var req struct {
		Digest string `json:"image-digest"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if !digestRE.MatchString(req.Digest) {
		writeError(w, http.StatusBadRequest, "invalid-digest", "image-digest must be sha256: and 64 hex digits.")
		return
	}
	user, cred := s.newCred(t.charm.ID, "pull")
	writeJSON(w, http.StatusOK, map[string]string{
		"ImageName": s.imageName(t) + "@" + req.Digest, "Username": user, "Password": cred.password,
	})
}
