package charmhubtest

import (
	"fmt"
	"net/http"
	"slices"
	"time"
)

// updateRevisions is PATCH .../resources/{resource}/revisions: it sets
// the bases of existing revisions (charmcraft's
// set-resource-architectures) and says how many it updated. The whole
// request is refused, and nothing changed, when one update is not valid.
func (s *Server) updateRevisions(w http.ResponseWriter, r *http.Request, t *target) {
	var req struct {
		Updates []struct {
			Revision *int   `json:"revision"`
			Bases    []Base `json:"bases"`
		} `json:"resource-revision-updates"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if len(req.Updates) == 0 {
		writeError(w, http.StatusBadRequest, "missing-field", "The field resource-revision-updates needs at least one update.")
		return
	}
	indexes := make([]int, len(req.Updates))
	for i, u := range req.Updates {
		if u.Revision == nil || len(u.Bases) == 0 {
			writeError(w, http.StatusBadRequest, "missing-field", "Each update needs a revision and bases.")
			return
		}
		indexes[i] = slices.IndexFunc(t.res.revisions, func(rev StoredRevision) bool { return rev.Revision == *u.Revision })
		if indexes[i] < 0 {
			writeError(w, http.StatusNotFound, "not-found",
				fmt.Sprintf("Revision %d of resource %q of charm %q not found.", *u.Revision, t.res.Name, t.charm.Name))
			return
		}
		if code, msg := checkBases(u.Bases); code != "" {
			writeError(w, http.StatusBadRequest, code, msg)
			return
		}
	}
	now := time.Now()
	for i, u := range req.Updates {
		rev := &t.res.revisions[indexes[i]]
		rev.Bases, rev.UpdatedAt = slices.Clone(u.Bases), now
	}
	slices.Sort(indexes)
	writeJSON(w, http.StatusOK, map[string]int{"num-resource-revisions-updated": len(slices.Compact(indexes))})
}

// checkBases says what is wrong with bases, if anything: an unknown
// architecture, none, or "all" among others.
func checkBases(bases []Base) (code, message string) {
	for _, b := range bases {
		switch {
		case len(b.Architectures) == 0:
			return "invalid-architecture", "A base needs at least one architecture."
		case len(b.Architectures) > 1 && slices.Contains(b.Architectures, "all"):
			return "invalid-architecture", `Architecture "all" cannot be listed with others.`
		}
		for _, a := range b.Architectures {
			if !slices.Contains(architectures, a) {
				return "invalid-architecture", fmt.Sprintf("Unknown architecture %q.", a)
			}
		}
	}
	return "", ""
}
