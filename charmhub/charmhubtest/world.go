package charmhubtest

import (
	"io"
	"testing"

	"github.com/canonical/docker-charmcraft/charmhub"

	"github.com/canonical/docker-charmcraft/registry/registrytest"
)

// World is what the tests, the bench and the sandbox upload to: a Server
// and a real registry with token auth that trusts it (named in the
// server's image names), holding accounts and charms.
type World struct {
	Hub *Server
	// Registry is nil when WorldConfig.NoRegistry is set.
	Registry *registrytest.Registry
}

// Account is a Charmhub account and one of its tokens.
type Account struct {
	Username, Token string
}

// SSOAccount is an account of the login service (Ubuntu One).
type SSOAccount struct {
	Email, Password string
	// OTP, when set, is the one-time password two-factor authentication
	// asks for.
	OTP string
	// Username is the Charmhub account the login's token belongs to.
	Username string
}

// The Ubuntu One accounts of the login tests: alice, and bob, who uses
// two-factor authentication.
var (
	Alice = SSOAccount{Email: "alice@example.com", Password: "correct horse battery staple", Username: "alice"}
	Bob   = SSOAccount{Email: "bob@example.com", Password: "hunter2-hunter2", OTP: "424242", Username: "bob"}
)

// WorldConfig says what a World holds.
type WorldConfig struct {
	// Options configure the Server.
	Options []Option
	// Accounts are added first: an account listed twice has two tokens.
	Accounts []Account
	// Charms are added next.
	Charms []Charm
	// SSOAccounts are the accounts of the login service.
	SSOAccounts []SSOAccount
	// Review, if set, is the server's review (see SetReview).
	Review *ReviewConfig
	// NoRegistry starts the Server alone.
	NoRegistry bool
	// RegistryDir is where the registry stores blobs; "" is a temporary
	// directory. RegistryLog receives its log; nil discards it.
	RegistryDir string
	RegistryLog io.Writer
}

// NewWorld starts a World as cfg says. Close it.
func NewWorld(cfg WorldConfig) (*World, error) {
	w := &World{Hub: NewServer(cfg.Options...)}
	if !cfg.NoRegistry {
		reg, err := registrytest.Start(registrytest.Config{
			Realm: w.Hub.RegistryTokenURL(), Issuer: w.Hub.TokenIssuer(), Dir: cfg.RegistryDir, Log: cfg.RegistryLog,
		})
		if err != nil {
			w.Hub.Close()
			return nil, err
		}
		w.Registry = reg
		w.Hub.SetRegistryHost(reg.Host)
	}
	for _, a := range cfg.Accounts {
		w.Hub.AddAccount(a.Username, a.Token)
	}
	for _, c := range cfg.Charms {
		w.Hub.AddCharm(c)
	}
	for _, a := range cfg.SSOAccounts {
		w.Hub.AddSSOAccount(a.Email, a.Password, a.OTP, a.Username)
	}
	if cfg.Review != nil {
		w.Hub.SetReview(*cfg.Review)
	}
	return w, nil
}

// Start is NewWorld for a test: it fails t when the world cannot start,
// and closes it when t ends.
func Start(t testing.TB, cfg WorldConfig) *World {
	t.Helper()
	w, err := NewWorld(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

// MyCharm is the charm the tests and the sandbox upload to: my-charm,
// with ID id, owned by owner, declaring the file resource my-file and
// the OCI image resource my-image.
func MyCharm(id, owner string) Charm {
	return Charm{
		Name: "my-charm", ID: id, Owner: owner,
		Resources: []ResourceSpec{
			{Name: "my-file", Type: charmhub.TypeFile},
			{Name: "my-image", Type: charmhub.TypeOCIImage},
		},
	}
}

// Close stops the registry and the server.
func (w *World) Close() {
	if w.Registry != nil {
		w.Registry.Close()
	}
	w.Hub.Close()
}
