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

// RevisionRequest asks for a resource revision made of uploaded content.
type RevisionRequest struct {
	// UploadID is what Upload returned.
	UploadID string `json:"upload-id"`
	// Type is the resource's type: TypeFile or TypeOCIImage.
	Type string `json:"type"`
	// Bases the revision is for; nil means AllBases.
	Bases []Base `json:"bases"`
}

// RevisionStatus is the state of the review of a new revision.
type RevisionStatus struct {
	// Status is StatusApproved, StatusRejected, or a status that keeps
	// the review going, such as "still-scanning".
	Status string `json:"status"`
	// Revision is the revision created, 0 unless approved.
	Revision int `json:"revision"`
	// Errors says why a revision was rejected.
	Errors []ErrorItem `json:"errors"`
}

// CreateRevision asks Charmhub to make a revision of a resource from an
// upload, and returns the URL where its review is followed. The request
// is not idempotent, so it is sent again only when it could not reach
// the server at all.
func (c *Client) CreateRevision(ctx context.Context, charm, resource string, r RevisionRequest) (string, error) {
	statusURL, err := c.createRevision(ctx, charmPath(charm, "resources", resource, "revisions"), r)
	if err != nil {
		return "", fmt.Errorf("creating a revision of resource '%s' of charm '%s': %w", resource, charm, err)
	}
	return statusURL, nil
}

func (c *Client) createRevision(ctx context.Context, path string, r RevisionRequest) (string, error) {
	if r.UploadID == "" || r.Type == "" {
		return "", errors.New("upload id and type are required")
	}
	if r.Bases == nil {
		r.Bases = AllBases()
	}
	req, err := c.newRequest(ctx, http.MethodPost, c.apiURL+path, r)
	if err != nil {
		return "", err
	}
	var body struct {
		StatusURL string `json:"status-url"`
	}
	if err := c.do(req, &body); err != nil {
		return "", err
	}
	if body.StatusURL == "" {
		return "", errors.New("charmhub answered no status URL")
	}
	return body.StatusURL, nil
}

// WaitForRevision polls the review at statusURL until it is approved or
// rejected, waiting between polls as the poll schedule says, and fails
// with a *PollTimeoutError once the schedule is spent. A poll that fails
// is retried as any request is, but the whole wait lasts no more than a
// quarter longer than the schedule (5 s at least): a review that keeps
// failing ends as one that keeps saying "pending" does. A rejection is
// not an error: the status holds the reasons.
func (c *Client) WaitForRevision(ctx context.Context, statusURL string) (*RevisionStatus, error) {
	u, err := c.resolve(statusURL)
	if err != nil {
		return nil, fmt.Errorf("waiting for the review: %w", err)
	}
	total := c.ReviewTimeout()
	ctx, cancel := context.WithTimeoutCause(ctx, total+max(total/4, reviewGrace), errReviewOver)
	defer cancel()
	var waited time.Duration
	for i := 0; ; i++ {
		st, err := c.pollRevision(ctx, u)
		if err != nil {
			if errors.Is(context.Cause(ctx), errReviewOver) {
				e := &PollTimeoutError{Waited: total.Seconds()}
				if errors.Is(err, errReviewOver) { // the poll was failing, and its retries were cut
					e.Failing = err
				}
				return nil, e
			}
			return nil, fmt.Errorf("waiting for the review: %w", err)
		}
		if st.Status == StatusApproved || st.Status == StatusRejected {
			return st, nil
		}
		if i == len(c.schedule) {
			return nil, &PollTimeoutError{Waited: waited.Seconds()}
		}
		c.log.Printf("review status %q, polling again in %s", st.Status, c.schedule[i])
		if err := transport.Sleep(ctx, c.schedule[i]); err != nil {
			if errors.Is(context.Cause(ctx), errReviewOver) {
				return nil, &PollTimeoutError{Waited: total.Seconds()}
			}
			return nil, fmt.Errorf("waiting for the review: %w", err)
		}
		waited += c.schedule[i]
	}
}

// reviewGrace is the least time a review may take beyond its schedule,
// for its polls to be answered.
const reviewGrace = 5 * time.Second

var errReviewOver = errors.New("the time given to the review was over")

// ReviewTimeout is how long WaitForRevision waits in all, the sum of the
// poll schedule.
func (c *Client) ReviewTimeout() time.Duration {
	var total time.Duration
	for _, d := range c.schedule {
		total += d
	}
	return total
}

func (c *Client) pollRevision(ctx context.Context, u string) (*RevisionStatus, error) {
	req, err := c.newRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	var body struct {
		Revisions []struct {
			RevisionStatus
			Revision json.RawMessage `json:"revision"`
		} `json:"revisions"`
	}
	if err := c.do(req, &body); err != nil {
		return nil, err
	}
	if len(body.Revisions) != 1 {
		return nil, fmt.Errorf("charmhub answered %d review statuses, expected one", len(body.Revisions))
	}
	st, raw := body.Revisions[0].RevisionStatus, body.Revisions[0].Revision
	if st.Status != StatusApproved {
		return &st, nil
	}
	// Only a revision number Charmhub gave is reported as created.
	if err := json.Unmarshal(raw, &st.Revision); err != nil || st.Revision <= 0 {
		shown := string(raw)
		if len(raw) == 0 {
			shown = "none"
		}
		return nil, &NoRevisionError{Answered: transport.Printable(truncate(shown, 64))}
	}
	return &st, nil
}

// truncate cuts s to at most n bytes, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
