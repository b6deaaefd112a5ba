package charmhubtest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub"
)

// ReviewConfig says how reviews of new revisions go. It applies to the
// revisions requested after it is set.
type ReviewConfig struct {
	// ScanningPolls is how many polls answer "still-scanning" first.
	ScanningPolls int
	// Reject, when not empty, rejects the revision with these errors.
	Reject []ErrorItem
	// Never keeps the review scanning forever.
	Never bool
	// NoRevision approves the review with "revision": null, an answer
	// the contract's shape allows though no real review gives it; no
	// revision is stored.
	NoRevision bool
}

// SetReview sets how the reviews of revisions requested from now on go.
// The default approves at the first poll.
func (s *Server) SetReview(cfg ReviewConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg.Reject = slices.Clone(cfg.Reject)
	s.reviewCfg = cfg
}

type review struct {
	cfg      ReviewConfig
	res      *resourceState
	upload   *Upload
	bases    []Base
	polls    int
	revision int // set once approved
}

var architectures = []string{"all", "amd64", "arm64", "armhf", "ppc64el", "riscv64", "s390x"}

func (s *Server) createRevision(w http.ResponseWriter, r *http.Request, t *target) {
	var req struct {
		UploadID string `json:"upload-id"`
		Type     string `json:"type"`
		Bases    []Base `json:"bases"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	up, ok := s.checkRevision(w, t, req.UploadID, req.Type, req.Bases)
	if !ok {
		return
	}
	if req.Bases == nil {
		req.Bases = []Base{{Name: "all", Channel: "all", Architectures: []string{"all"}}}
	}
	up.Used = true
	s.reviews[up.ID] = &review{cfg: s.reviewCfg, res: t.res, upload: up, bases: req.Bases}
	writeJSON(w, http.StatusOK, map[string]string{"status-url": fmt.Sprintf(
		"/v1/charm/%s/resources/%s/revisions/review?upload-id=%s",
		url.PathEscape(t.charm.Name), url.PathEscape(t.res.Name), url.QueryEscape(up.ID))})
}

// checkRevision validates a revision request, or writes the refusal.
func (s *Server) checkRevision(w http.ResponseWriter, t *target, uploadID, typ string, bases []Base) (*Upload, bool) {
	up := s.uploads[uploadID]
	fail := func(code, msg string) (*Upload, bool) {
		writeError(w, http.StatusBadRequest, code, msg)
		return nil, false
	}
	switch {
	case uploadID == "" || typ == "":
		return fail("missing-field", "The fields upload-id and type are required.")
	case up == nil || up.Username != t.user:
		return fail("unknown-upload-id", "No such upload.")
	case up.Used:
		return fail("upload-already-used", "This upload was already used for a revision.")
	case typ != t.res.Type:
		return fail("invalid-resource-type",
			fmt.Sprintf("Resource %q is of type %q, not %q.", t.res.Name, t.res.Type, typ))
	}
	for _, b := range bases {
		for _, a := range b.Architectures {
			if !slices.Contains(architectures, a) {
				return fail("invalid-architecture", fmt.Sprintf("Unknown architecture %q.", a))
			}
		}
	}
	return up, true
}

func (s *Server) reviewStatus(w http.ResponseWriter, r *http.Request, t *target) {
	rv := s.reviews[r.URL.Query().Get("upload-id")]
	if rv == nil || rv.res != t.res {
		writeError(w, http.StatusNotFound, "not-found", "No review for this upload.")
		return
	}
	rv.polls++
	status := map[string]any{"status": "still-scanning", "revision": nil, "errors": nil}
	switch {
	case rv.cfg.Never || rv.polls <= rv.cfg.ScanningPolls:
	case len(rv.cfg.Reject) > 0:
		status["status"], status["errors"] = charmhub.StatusRejected, rv.cfg.Reject
	case rv.cfg.NoRevision:
		status["status"] = charmhub.StatusApproved
	default:
		status["status"], status["revision"] = charmhub.StatusApproved, s.approve(rv)
	}
	writeJSON(w, http.StatusOK, map[string]any{"revisions": []any{status}})
}

// approve stores the revision the first time and returns its number.
func (s *Server) approve(rv *review) int {
	if rv.revision == 0 {
		up := rv.upload
		rv.revision = len(rv.res.revisions) + 1
		rv.res.revisions = append(rv.res.revisions, StoredRevision{
			Revision: rv.revision, Type: rv.res.Type, Size: up.Size, SHA256: up.SHA256,
			Content: up.Content, Bases: rv.bases, UploadID: up.ID, CreatedAt: time.Now(),
		})
	}
	return rv.revision
}
