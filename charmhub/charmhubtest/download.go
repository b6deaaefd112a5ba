package charmhubtest

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
)

// downloadJSON is the download of a revision, as the v2 listing names it.
type downloadJSON struct {
	URL        string `json:"url"`
	Size       int64  `json:"size"`
	HashSHA256 string `json:"hash-sha-256"`
}

type revisionDownloadJSON struct {
	Name     string       `json:"name"`
	Revision int          `json:"revision"`
	Type     string       `json:"type"`
	Bases    []Base       `json:"bases"`
	Download downloadJSON `json:"download"`
}

// listRevisionDownloads is GET /v2/charms/resources/{charm}/{resource}/revisions,
// the listing Juju and charmhub.io read: each revision with the URL its
// stored content is downloaded from.
func (s *Server) listRevisionDownloads(w http.ResponseWriter, _ *http.Request, t *target) {
	list := []revisionDownloadJSON{}
	for i := len(t.res.revisions) - 1; i >= 0; i-- {
		rev := t.res.revisions[i]
		list = append(list, revisionDownloadJSON{
			Name: t.res.Name, Revision: rev.Revision, Type: rev.Type, Bases: rev.Bases,
			Download: downloadJSON{
				URL:  fmt.Sprintf("%s/v1/resources/download/charm_%s.%s_%d", s.APIURL(), t.charm.ID, t.res.Name, rev.Revision),
				Size: rev.Size, HashSHA256: rev.SHA256,
			},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"revisions": list})
}

var downloadRE = regexp.MustCompile(`^charm_([^.]+)\.(.+)_([0-9]+)$`)

// download is GET /v1/resources/download/charm_{id}.{resource}_{revision}:
// the content of a revision as it was uploaded (for an image, its JSON
// blob).
func (s *Server) download(w http.ResponseWriter, r *http.Request, user string) {
	m := downloadRE.FindStringSubmatch(r.PathValue("file"))
	if m == nil {
		writeError(w, http.StatusNotFound, "not-found", "No such download.")
		return
	}
	n, _ := strconv.Atoi(m[3])
	for _, c := range s.charms {
		if c.ID != m[1] || c.resources[m[2]] == nil || !c.mayChange(user) {
			continue
		}
		for _, rev := range c.resources[m[2]].revisions {
			if rev.Revision == n && rev.Content != nil {
				w.Header().Set("Content-Type", "application/octet-stream")
				_, _ = w.Write(rev.Content)
				return
			}
		}
	}
	writeError(w, http.StatusNotFound, "not-found", "No such download.")
}
