package charmhub_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
	"github.com/canonical/docker-charmcraft/internal/transport"
)

// Tokens of the test accounts: alice owns my-charm, bob collaborates on
// it, mallory owns other-charm only.
const (
	aliceToken   = "alice-secret-macaroon"
	bobToken     = "bob-secret-macaroon"
	malloryToken = "mallory-secret-macaroon"
)

func startServer(t *testing.T, opts ...charmhubtest.Option) *charmhubtest.Server {
	t.Helper()
	w, err := charmhubtest.NewWorld(charmhubtest.WorldConfig{
		Options:    opts,
		NoRegistry: true,
		Accounts:   []charmhubtest.Account{{Username: "alice", Token: aliceToken}, {Username: "bob", Token: bobToken}, {Username: "mallory", Token: malloryToken}},
		Charms: []charmhubtest.Charm{{
			Name: "my-charm", ID: "id-my-charm", Owner: "alice", Collaborators: []string{"bob"},
			Resources: []charmhubtest.ResourceSpec{
				{Name: "data", Type: charmhub.TypeFile},
				{Name: "image", Type: charmhub.TypeOCIImage},
				{Name: "extra", Type: charmhub.TypeFile, Optional: true},
			},
		}, {
			Name: "other-charm", ID: "id-other-charm", Owner: "mallory",
			Resources: []charmhubtest.ResourceSpec{{Name: "image", Type: charmhub.TypeOCIImage}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w.Hub
}

// newClient returns a client of s with token, fast polls and retries.
func newClient(t *testing.T, s *charmhubtest.Server, token string, opts ...charmhub.Option) *charmhub.Client {
	t.Helper()
	base := []charmhub.Option{
		charmhub.WithAPIURL(s.APIURL() + "/"),
		charmhub.WithStorageURL(s.StorageURL()),
		charmhub.WithToken(token),
		charmhub.WithPollSchedule([]time.Duration{time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond}),
		charmhub.WithRetryPolicy(transport.Policy{Attempts: 4, Budget: transport.DefaultBudget, Base: time.Millisecond}),
	}
	c, err := charmhub.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// opener serves content and counts how many times it was opened.
type opener struct {
	content []byte
	opens   int
}

func (o *opener) open() (io.ReadCloser, error) {
	o.opens++
	return io.NopCloser(bytes.NewReader(o.content)), nil
}

// upload uploads content to storage as a file named name, and returns
// the id of the upload.
func upload(t *testing.T, c *charmhub.Client, name string, content []byte) string {
	t.Helper()
	src := &opener{content: content}
	id, err := c.Upload(t.Context(), name, int64(len(content)), src.open, nil)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
