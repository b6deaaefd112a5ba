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
	hub := charmhubtest.NewServer(opts...)
	regDir := t.TempDir()
	reg, err := registrytest.Start(registrytest.Config{Realm: hub.RegistryTokenURL(), Issuer: hub.TokenIssuer(), Dir: regDir})
	if err != nil {
		hub.Close()
		t.Fatal(err)
	}
	hub.SetRegistryHost(reg.Host)
	t.Cleanup(func() { reg.Close(); hub.Close() })
	hub.AddAccount("alice", ownerToken)
	hub.AddAccount("alice", expiredToken)
	hub.ExpireToken(expiredToken)
	hub.AddAccount("bob", collabToken)
	hub.AddAccount("eve", strangerToken)
	hub.AddCharm(charmhubtest.Charm{
		Name: "my-charm", ID: "charm-id-alice", Owner: "alice", Collaborators: []string{"bob"},
		Resources: []charmhubtest.ResourceSpec{
			{Name: "my-file", Type: charmhub.TypeFile},
			{Name: "my-image", Type: charmhub.TypeOCIImage},
		},
	})
	hub.AddCharm(charmhubtest.Charm{
		Name: "eve-charm", ID: "charm-id-eve", Owner: "eve",
		Resources: []charmhubtest.ResourceSpec{{Name: "img", Type: charmhub.TypeOCIImage}},
	})
	hub.AddCharm(charmhubtest.Charm{Name: "bare-charm", ID: "charm-id-bare", Owner: "alice"})
	return &world{hub: hub, reg: reg, cacheDir: t.TempDir(), regDir: regDir}
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
