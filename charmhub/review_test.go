package charmhub_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
)

func TestReview(t *testing.T) {
	reject := []charmhubtest.ErrorItem{{Code: "resource-too-big", Message: "No."}, {Code: "bad-content", Message: "Nope."}}
	tests := []struct {
		name     string
		cfg      charmhubtest.ReviewConfig
		status   string
		revision int
		errors   int
		timeout  bool
		noRev    bool
	}{
		{name: "approved without a revision", cfg: charmhubtest.ReviewConfig{NoRevision: true}, noRev: true},
		{name: "approved at once", status: "approved", revision: 1},
		{name: "approved after scanning", cfg: charmhubtest.ReviewConfig{ScanningPolls: 3}, status: "approved", revision: 1},
		{name: "rejected", cfg: charmhubtest.ReviewConfig{ScanningPolls: 1, Reject: reject}, status: "rejected", errors: 2},
		{name: "never ends", cfg: charmhubtest.ReviewConfig{Never: true}, timeout: true},
		{name: "scans longer than the schedule", cfg: charmhubtest.ReviewConfig{ScanningPolls: 5}, timeout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t)
			s.SetReview(tt.cfg)
			c := newClient(t, s, aliceToken)
			st, err := uploadAndWait(t, c)
			if nr, ok := errors.AsType[*charmhub.NoRevisionError](err); tt.noRev != ok || ok && nr.Answered != "null" {
				t.Fatalf("status %+v, error %v; want a NoRevisionError: %t", st, err, tt.noRev)
			}
			if tt.noRev {
				return
			}
			if tt.timeout {
				if !errors.Is(err, charmhub.ErrPollTimeout) || err.Error() != "Timeout polling Charmhub for upload status (after 0.0s)." {
					t.Fatalf("error %v, want a poll timeout", err)
				}
				if polls := s.Count("GET", "/api/v1/charm/my-charm/resources/data/revisions/review"); polls != 5 {
					t.Errorf("%d polls, want 5 (one, then one per delay)", polls)
				}
			} else if err != nil {
				t.Fatal(err)
			} else if st.Status != tt.status || st.Revision != tt.revision || len(st.Errors) != tt.errors {
				t.Fatalf("status %+v", st)
			}
			if got := len(s.Revisions("my-charm", "data")); got != tt.revision {
				t.Errorf("%d revisions stored, want %d", got, tt.revision)
			}
		})
	}
}

func uploadAndWait(t *testing.T, c *charmhub.Client) (*charmhub.RevisionStatus, error) {
	t.Helper()
	return uploadAndWaitCtx(t.Context(), t, c)
}

func uploadAndWaitCtx(ctx context.Context, t *testing.T, c *charmhub.Client) (*charmhub.RevisionStatus, error) {
	t.Helper()
	id := upload(t, c, "payload.txt", []byte("payload"))
	statusURL, err := c.CreateRevision(t.Context(), "my-charm", "data", charmhub.RevisionRequest{UploadID: id, Type: "file"})
	if err != nil {
		t.Fatal(err)
	}
	return c.WaitForRevision(ctx, statusURL)
}

func TestWaitStopsOnCancel(t *testing.T) {
	s := startServer(t)
	s.SetReview(charmhubtest.ReviewConfig{Never: true})
	c := newClient(t, s, aliceToken, charmhub.WithPollSchedule(charmhub.DefaultPollSchedule()))
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := uploadAndWaitCtx(ctx, t, c)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("error %v after %s, want the deadline at once", err, time.Since(start))
	}
}

func TestDefaultPollSchedule(t *testing.T) {
	var total time.Duration
	for _, d := range charmhub.DefaultPollSchedule() {
		total += d
	}
	if total != time.Minute {
		t.Errorf("schedule totals %s, want 60s", total)
	}
	e := &charmhub.PollTimeoutError{Waited: total.Seconds()}
	if got := e.Error(); got != "Timeout polling Charmhub for upload status (after 60.0s)." {
		t.Errorf("message %q", got)
	}
}

func TestStatusURLOnOtherHostIsRefused(t *testing.T) {
	s := startServer(t)
	_, err := newClient(t, s, aliceToken).WaitForRevision(t.Context(), "https://elsewhere.example/v1/x")
	if err == nil || len(s.Requests()) != 0 {
		t.Fatalf("error %v, %d requests: the token must not leave the API host", err, len(s.Requests()))
	}
}
