package imagepush_test

import (
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
	"github.com/canonical/docker-charmcraft/imagepush"
	"github.com/canonical/docker-charmcraft/internal/faultproxy"
	"github.com/canonical/docker-charmcraft/internal/transport"
	"github.com/canonical/docker-charmcraft/layercache"
	"github.com/canonical/docker-charmcraft/registry"
)

const token = "macaroon-alice-0123456789"

// world is a real registry with token auth, behind a fault proxy, and the
// upload credentials of a charm's image resource.
type world struct {
	proxy            *faultproxy.Proxy
	repo             string // charm/<id>/<resource>
	username, passwd string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	cw, err := charmhubtest.NewWorld(charmhubtest.WorldConfig{
		Accounts: []charmhubtest.Account{{Username: "alice", Token: token}},
		Charms: []charmhubtest.Charm{{Name: "my-charm", ID: "charm-id", Owner: "alice",
			Resources: []charmhubtest.ResourceSpec{{Name: "my-image", Type: charmhub.TypeOCIImage}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cw.Close)
	ch, err := charmhub.New(charmhub.WithAPIURL(cw.Hub.APIURL()), charmhub.WithToken(token))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := ch.UploadCredentials(t.Context(), "my-charm", "my-image")
	if err != nil {
		t.Fatal(err)
	}
	p, err := faultproxy.New(cw.Registry.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	_, repo, _ := strings.Cut(creds.ImageName, "/")
	return &world{proxy: p, repo: repo, username: creds.Username, passwd: creds.Password}
}

// client is a registry client through the proxy, quick to retry.
func (w *world) client(t *testing.T) *registry.Client {
	t.Helper()
	c, err := registry.New(w.proxy.URL, w.repo, registry.WithBasicAuth(w.username, w.passwd), registry.WithRetryPolicy(transport.Policy{Attempts: 2, Budget: transport.DefaultBudget, Base: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// path is the registry path of one of the repository's endpoints.
func (w *world) path(endpoint string) string { return "/v2/" + w.repo + "/" + endpoint }

// refuseRecords has the registry refuse every record (see
// imagepush.RecordTag) with a 403, as one that takes no tags would: what
// is pushed then is as an older plugin left it, with no record.
func (w *world) refuseRecords() {
	w.proxy.Add(faultproxy.Rule{Method: "PUT", Path: w.path("manifests/charmcraft-image-*"), Fault: faultproxy.Fail(403)})
}

// uploads is how many blob upload sessions were opened.
func (w *world) uploads() int { return w.proxy.Count("POST", w.path("blobs/uploads/")) }

// run is one Push, and what it said.
type run struct {
	res    *imagepush.Result
	err    error
	events []imagepush.Event
}

// said are the events the user is told about: all but the record's,
// which are worth a debug line only (see records).
func (r *run) said() []imagepush.Event {
	var es []imagepush.Event
	for _, e := range r.events {
		if !isRecordEvent(e.Kind) {
			es = append(es, e)
		}
	}
	return es
}

func (r *run) kinds() []imagepush.EventKind {
	var ks []imagepush.EventKind
	for _, e := range r.said() {
		ks = append(ks, e.Kind)
	}
	return ks
}

// records are the events about the registry's record of the image.
func (r *run) records() []imagepush.Event {
	var es []imagepush.Event
	for _, e := range r.events {
		if isRecordEvent(e.Kind) {
			es = append(es, e)
		}
	}
	return es
}

func isRecordEvent(k imagepush.EventKind) bool {
	return k == imagepush.RecordIgnored || k == imagepush.RecordSaved || k == imagepush.RecordNotSaved
}

func push(t *testing.T, w *world, d imagepush.Daemon, ref imagepush.Ref, opts ...imagepush.Option) *run {
	t.Helper()
	r := &run{}
	// Push calls back from its own goroutine only.
	opts = append(opts, imagepush.WithEvents(func(e imagepush.Event) { r.events = append(r.events, e) }))
	r.res, r.err = imagepush.Push(t.Context(), d, w.client(t), ref, opts...)
	return r
}

func newCache(t *testing.T) *layercache.Cache {
	t.Helper()
	c, err := layercache.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// full and short are the refs of an image ID, whole and by its first 12
// hex characters.
func full(id string) imagepush.Ref {
	return imagepush.Ref{Hex: strings.TrimPrefix(id, "sha256:"), Full: true}
}

func short(id string) imagepush.Ref {
	return imagepush.Ref{Hex: strings.TrimPrefix(id, "sha256:")[:12]}
}
