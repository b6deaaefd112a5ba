package charmhubtest

import (
	"net/http"
	"slices"
	"time"
)

// defaultPermissions are those of a token made by "charmcraft login".
var defaultPermissions = []string{"account-register-package", "account-view-packages", "package-manage", "package-view"}

func (s *Server) whoami(w http.ResponseWriter, _ *http.Request, user string) {
	writeJSON(w, http.StatusOK, map[string]any{
		"account":     map[string]string{"display-name": user, "id": "id-" + user, "username": user},
		"packages":    nil,
		"channels":    nil,
		"permissions": defaultPermissions,
	})
}

type resourceJSON struct {
	Name     string `json:"name"`
	Optional bool   `json:"optional"`
	Revision *int   `json:"revision"`
	Type     string `json:"type"`
}

func (s *Server) listResources(w http.ResponseWriter, _ *http.Request, t *target) {
	list := []resourceJSON{}
	for _, spec := range t.charm.Resources {
		item := resourceJSON{Name: spec.Name, Optional: spec.Optional, Type: spec.Type}
		if revs := t.charm.resources[spec.Name].revisions; len(revs) > 0 {
			item.Revision = &revs[len(revs)-1].Revision
		}
		list = append(list, item)
	}
	writeJSON(w, http.StatusOK, map[string]any{"resources": list})
}

type revisionJSON struct {
	Name      string  `json:"name"`
	Revision  int     `json:"revision"`
	CreatedAt string  `json:"created-at"`
	Size      int64   `json:"size"`
	SHA256    string  `json:"sha256"`
	SHA384    string  `json:"sha384"`
	SHA512    string  `json:"sha512"`
	SHA3384   string  `json:"sha3-384"`
	Type      string  `json:"type"`
	Bases     []Base  `json:"bases"`
	UpdatedAt *string `json:"updated-at"`
	UpdatedBy *string `json:"updated-by"`
}

func (s *Server) listRevisions(w http.ResponseWriter, _ *http.Request, t *target) {
	list := []revisionJSON{}
	for i := len(t.res.revisions) - 1; i >= 0; i-- {
		rev := t.res.revisions[i]
		d := s.uploads[rev.UploadID].digests
		item := revisionJSON{
			Name: t.res.Name, Revision: rev.Revision, Type: rev.Type, Bases: rev.Bases,
			CreatedAt: isoTime(rev.CreatedAt),
			Size:      rev.Size, SHA256: rev.SHA256, SHA384: d.sha384, SHA512: d.sha512, SHA3384: d.sha3384,
		}
		if !rev.UpdatedAt.IsZero() {
			at, by := isoTime(rev.UpdatedAt), t.user
			item.UpdatedAt, item.UpdatedBy = &at, &by
		}
		list = append(list, item)
	}
	writeJSON(w, http.StatusOK, map[string]any{"revisions": list})
}

// isoTime is a time as Charmhub writes it: UTC, in microseconds.
func isoTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000+00:00")
}

// listNames is GET /v1/charm: the names the user owns, and with
// include-collaborations=true those they collaborate on, sorted.
func (s *Server) listNames(w http.ResponseWriter, r *http.Request, user string) {
	collab := r.URL.Query().Get("include-collaborations") == "true"
	names := make([]string, 0, len(s.charms))
	for name, c := range s.charms {
		if c.Owner == user || (collab && slices.Contains(c.Collaborators, user)) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	list := []map[string]any{}
	for _, n := range names {
		list = append(list, map[string]any{
			"name": n, "type": "charm", "private": false, "status": "registered",
			"publisher": map[string]string{"display-name": s.charms[n].Owner},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": list})
}
