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

// NoRevisionError is a review that Charmhub approved without a revision
// number: whether a revision was created is not known.
type NoRevisionError struct {
	// Answered is the revision Charmhub answered, as JSON ("null"), or
	// "none" when the field was missing.
	Answered string
}

func (e *NoRevisionError) Error() string {
	return fmt.Sprintf("charmhub approved the upload but answered no revision number (\"revision\": %s)", e.Answered)
}

// truncate cuts s to at most n bytes, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
