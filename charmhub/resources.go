package charmhub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// Resource is a resource declared by a charm.
type Resource struct {
	Name     string `json:"name"`
	Optional bool   `json:"optional"`
	// Revision is the latest revision, 0 when there is none.
	Revision int `json:"revision"`
	// Type is TypeFile or TypeOCIImage.
	Type string `json:"type"`
}

// Base is a base a resource revision is for.
type Base struct {
	Name          string   `json:"name"`
	Channel       string   `json:"channel"`
	Architectures []string `json:"architectures"`
}

// AllBases is what a revision is for when no base is given.
func AllBases() []Base {
	return []Base{{Name: "all", Channel: "all", Architectures: []string{"all"}}}
}

// ResourceRevision is one revision of a resource.
type ResourceRevision struct {
	Name      string    `json:"name"`
	Revision  int       `json:"revision"`
	CreatedAt time.Time `json:"-"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	Type      string    `json:"type"`
	Bases     []Base    `json:"bases"`
	// UpdatedAt is when the revision was last changed (its bases, by
	// UpdateResourceRevisions); zero if it never was.
	UpdatedAt time.Time `json:"-"`
}

// UnmarshalJSON accepts created-at and updated-at with or without a time
// zone (UTC); updated-at may be null.
func (r *ResourceRevision) UnmarshalJSON(data []byte) error {
	type plain ResourceRevision
	v := struct {
		*plain
		CreatedAt string  `json:"created-at"`
		UpdatedAt *string `json:"updated-at"`
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	var err error
	if r.CreatedAt, err = parseTime("created-at", v.CreatedAt); err != nil {
		return err
	}
	if v.UpdatedAt != nil {
		r.UpdatedAt, err = parseTime("updated-at", *v.UpdatedAt)
	}
	return err
}

// parseTime reads a time Charmhub answered; "" is the zero time.
func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%s %q is not a date", field, s)
}

// ListResources returns the resources declared by charm.
func (c *Client) ListResources(ctx context.Context, charm string) ([]Resource, error) {
	var body struct {
		Resources []Resource `json:"resources"`
	}
	if err := c.get(ctx, charmPath(charm, "resources"), &body); err != nil {
		return nil, fmt.Errorf("listing resources of charm '%s': %w", charm, err)
	}
	return body.Resources, nil
}

// ListResourceRevisions returns the revisions of a resource, as Charmhub
// orders them (newest first).
func (c *Client) ListResourceRevisions(ctx context.Context, charm, resource string) ([]ResourceRevision, error) {
	var body struct {
		Revisions []ResourceRevision `json:"revisions"`
	}
	if err := c.get(ctx, charmPath(charm, "resources", resource, "revisions"), &body); err != nil {
		return nil, fmt.Errorf("listing revisions of resource '%s' of charm '%s': %w", resource, charm, err)
	}
	return body.Revisions, nil
}

// RevisionUpdate changes an existing revision of a resource: the bases
// (architectures) it is for.
type RevisionUpdate struct {
	Revision int    `json:"revision"`
	Bases    []Base `json:"bases"`
}

// UpdateResourceRevisions changes existing revisions of a resource, as
// charmcraft's set-resource-architectures does, and returns how many
// Charmhub updated. Setting bases is idempotent, so the request is sent
// again after a failure that can pass.
func (c *Client) UpdateResourceRevisions(ctx context.Context, charm, resource string, updates []RevisionUpdate) (int, error) {
	if len(updates) == 0 {
		return 0, errors.New("no revision to update")
	}
	body := struct {
		Updates []RevisionUpdate `json:"resource-revision-updates"`
	}{updates}
	path := charmPath(charm, "resources", resource, "revisions")
	req, err := c.newRequest(transport.WithReplay(ctx), http.MethodPatch, c.apiURL+path, body)
	if err != nil {
		return 0, err
	}
	var answer struct {
		Updated *int `json:"num-resource-revisions-updated"`
	}
	if err := c.do(req, &answer); err != nil {
		return 0, fmt.Errorf("updating revisions of resource '%s' of charm '%s': %w", resource, charm, err)
	}
	if answer.Updated == nil {
		return 0, fmt.Errorf("updating revisions of resource '%s' of charm '%s': charmhub answered no num-resource-revisions-updated", resource, charm)
	}
	return *answer.Updated, nil
}

// get sends a GET to an API path and decodes the answer into v.
func (c *Client) get(ctx context.Context, path string, v any) error {
	req, err := c.newRequest(ctx, http.MethodGet, c.apiURL+path, nil)
	if err != nil {
		return err
	}
	return c.do(req, v)
}

// RegisteredName is a name registered on Charmhub: a charm or a bundle.
type RegisteredName struct {
	Name string `json:"name"`
	// Type is "charm" or "bundle".
	Type string `json:"type"`
}

// ListNames returns the names the user registered, and those they
// collaborate on, as charmcraft's names --include-collaborations lists
// them.
func (c *Client) ListNames(ctx context.Context) ([]RegisteredName, error) {
	var body struct {
		Results []RegisteredName `json:"results"`
	}
	if err := c.get(ctx, "/v1/charm?include-collaborations=true", &body); err != nil {
		return nil, fmt.Errorf("listing your charms: %w", err)
	}
	return body.Results, nil
}
