package charmhubtest

import (
	"encoding/json"
	"slices"
	"time"
)

// Charm is a registered charm.
type Charm struct {
	Name string
	// ID is the charm id, used in registry repository paths.
	ID string
	// Owner and Collaborators are the usernames that may change it.
	Owner         string
	Collaborators []string
	Resources     []ResourceSpec
}

// ResourceSpec is a resource declared by a charm.
type ResourceSpec struct {
	Name string
	// Type is charmhub.TypeFile or charmhub.TypeOCIImage.
	Type     string
	Optional bool
}

// ErrorItem is one entry of an error list.
type ErrorItem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Base is a base a revision is for.
type Base struct {
	Name          string   `json:"name"`
	Channel       string   `json:"channel"`
	Architectures []string `json:"architectures"`
}

// StoredRevision is a revision created by an approved review.
type StoredRevision struct {
	Revision  int
	Type      string
	Size      int64
	SHA256    string
	Content   []byte // nil when the upload was over the content limit
	Bases     []Base
	UploadID  string
	CreatedAt time.Time
	// UpdatedAt is when a PATCH last set its bases; zero if none did.
	UpdatedAt time.Time
}

type charmState struct {
	Charm
	resources map[string]*resourceState
}

type resourceState struct {
	ResourceSpec
	revisions []StoredRevision // oldest first
}

// AddAccount adds a user, or another token of that user.
func (s *Server) AddAccount(username, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = username
}

// ExpireToken makes a token answer 401 macaroon-needs-refresh.
func (s *Server) ExpireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expired[token] = true
}

// AddCharm registers a charm, replacing one of the same name.
func (s *Server) AddCharm(c Charm) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.Collaborators = slices.Clone(c.Collaborators)
	c.Resources = slices.Clone(c.Resources)
	cs := &charmState{Charm: c, resources: map[string]*resourceState{}}
	for _, r := range c.Resources {
		cs.resources[r.Name] = &resourceState{ResourceSpec: r}
	}
	s.charms[c.Name] = cs
}

// Revisions returns the revisions of a resource, oldest first.
func (s *Server) Revisions(charm, resource string) []StoredRevision {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.charms[charm]
	if c == nil || c.resources[resource] == nil {
		return nil
	}
	return slices.Clone(c.resources[resource].revisions)
}

// ImageName is the image the last revision of an oci-image resource
// points at (registry host, path and digest), as its blob names it; ""
// when there is no revision, or its blob names no image.
func (s *Server) ImageName(charm, resource string) string {
	revs := s.Revisions(charm, resource)
	if len(revs) == 0 {
		return ""
	}
	var blob struct{ ImageName string }
	_ = json.Unmarshal(revs[len(revs)-1].Content, &blob)
	return blob.ImageName
}

// Uploads returns the uploads storage received, in no order.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Upload, 0, len(s.uploads))
	for _, u := range s.uploads {
		out = append(out, *u)
	}
	return out
}

// mayChange reports whether user owns or collaborates on c.
func (c *charmState) mayChange(user string) bool {
	return c.Owner == user || slices.Contains(c.Collaborators, user)
}
