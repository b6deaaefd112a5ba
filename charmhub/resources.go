package charmhub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Resource types.
const (
	TypeFile     = "file"
	TypeOCIImage = "oci-image"
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
}

// UnmarshalJSON accepts created-at with or without a time zone (UTC).
func (r *ResourceRevision) UnmarshalJSON(data []byte) error {
	type plain ResourceRevision
	v := struct {
		*plain
		CreatedAt string `json:"created-at"`
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	if v.CreatedAt == "" {
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, v.CreatedAt); err == nil {
			r.CreatedAt = t
			return nil
		}
	}
	return fmt.Errorf("created-at %q is not a date", v.CreatedAt)
}

// ListResources returns the resources declared by charm.
func (c *Client) ListResources(ctx context.Context, charm string) ([]Resource, error) {
	var body struct {
		Resources []Resource `json:"resources"`
	}
	if err := c.get(ctx, charmPath(charm, "resources"), &body); err != nil {
		return nil, fmt.Errorf("listing resources of charm %q: %w", charm, err)
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
		return nil, fmt.Errorf("listing revisions of resource %q of charm %q: %w", resource, charm, err)
	}
	return body.Revisions, nil
}

// get sends a GET to an API path and decodes the answer into v.
func (c *Client) get(ctx context.Context, path string, v any) error {
	req, err := c.newRequest(ctx, http.MethodGet, c.apiURL+path, nil)
	if err != nil {
		return err
	}
	return c.do(req, v)
}
