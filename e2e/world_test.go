package e2e

import (
	"testing"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
	"github.com/canonical/docker-charmcraft/registry/registrytest"
)

// Tokens of the test accounts.
const (
	ownerToken    = "macaroon-alice-0123456789"
	collabToken   = "macaroon-bob-0123456789"
	strangerToken = "macaroon-eve-0123456789"
	expiredToken  = "macaroon-old-0123456789"
)

// world is a Charmhub test server and a real registry with token auth
// that trusts it, with accounts and charms.
type world struct {
	hub *charmhubtest.Server
	reg *registrytest.Registry
	// cacheDir is the plugin's layer cache: one per world, so that tests
	// do not see each other's pushes.
	cacheDir string
	// regDir is where the registry stores its blobs.
	regDir string
}

func newWorld(t *testing.T, opts ...charmhubtest.Option) *world {
	t.Helper()
	regDir := t.TempDir()
	w, err := charmhubtest.NewWorld(charmhubtest.WorldConfig{
		Options:     opts,
		RegistryDir: regDir,
		Accounts: []charmhubtest.Account{
			{Username: "alice", Token: ownerToken}, {Username: "alice", Token: expiredToken},
			{Username: "bob", Token: collabToken}, {Username: "eve", Token: strangerToken},
		},
		Charms: []charmhubtest.Charm{{
			Name: "my-charm", ID: "charm-id-alice", Owner: "alice", Collaborators: []string{"bob"},
			Resources: []charmhubtest.ResourceSpec{
				{Name: "my-file", Type: charmhub.TypeFile},
				{Name: "my-image", Type: charmhub.TypeOCIImage},
			},
		}, {
			Name: "eve-charm", ID: "charm-id-eve", Owner: "eve",
			Resources: []charmhubtest.ResourceSpec{{Name: "img", Type: charmhub.TypeOCIImage}},
		}, {
			Name: "bare-charm", ID: "charm-id-bare", Owner: "alice",
		}},
		SSOAccounts: []charmhubtest.SSOAccount{charmhubtest.Alice, charmhubtest.Bob},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	w.Hub.ExpireToken(expiredToken)
	return &world{hub: w.Hub, reg: w.Registry, cacheDir: t.TempDir(), regDir: regDir}
}

// env is the environment that points the plugin at this world, with the
// given token exported as CHARMCRAFT_AUTH ("" for none).
func (w *world) env(token string, extra ...string) []string {
	env := []string{
		"CHARMCRAFT_STORE_API_URL=" + w.hub.APIURL(),
		"CHARMCRAFT_UPLOAD_URL=" + w.hub.StorageURL(),
		"CHARMCRAFT_REGISTRY_URL=" + w.reg.URL,
		"CHARMCRAFT_REVIEW_TIMEOUT=3s",
		"CHARMCRAFT_CACHE_DIR=" + w.cacheDir,
	}
	if token != "" {
		env = append(env, "CHARMCRAFT_AUTH="+exportedAuth(token, false))
	}
	return append(env, extra...)
}
