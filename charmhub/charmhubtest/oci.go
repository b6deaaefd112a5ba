package charmhubtest

import (
	"crypto/rand"
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

func (s *Server) imageName(t *target) string {
	return s.registryHost + "/charm/" + t.charm.ID + "/" + t.res.Name
}

func (s *Server) uploadCredentials(w http.ResponseWriter, _ *http.Request, t *target) {
	user, cred := s.newCred(t.charm.ID, "pull", "push")
	writeJSON(w, http.StatusOK, map[string]string{
		"image-name": s.imageName(t), "username": user, "password": cred.password,
	})
}

func (s *Server) imageBlob(w http.ResponseWriter, r *http.Request, t *target) {
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
