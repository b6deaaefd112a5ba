package charmhubtest

import (
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/canonical/docker-charmcraft/registry/registrytest"
)

// DefaultContentLimit is how much of each upload is kept in memory.
const DefaultContentLimit = 32 << 20

// Server is a running test Charmhub. Its methods are safe for concurrent
// use.
type Server struct {
	srv          *httptest.Server
	issuer       *registrytest.TokenIssuer
	contentLimit int64

	mu           sync.Mutex
	tokens       map[string]string // token -> username
	expired      map[string]bool
	charms       map[string]*charmState
	uploads      map[string]*Upload
	reviews      map[string]*review // by upload id
	creds        map[string]*registryCred
	registryHost string
	reviewCfg    ReviewConfig
	faults       []*Fault
	requests     []Request
	login        loginState
	newPassword  func() string // nil: random
}

// Option configures a Server.
type Option func(*Server)

// WithContentLimit sets how many bytes of each upload are kept; larger
// uploads keep only their size and digests. The default is
// DefaultContentLimit.
func WithContentLimit(n int64) Option {
	return func(s *Server) { s.contentLimit = n }
}

// WithRegistryPasswords has the server issue the registry passwords next
// makes, so that a test knows them and can look for them where they must
// not show. The default is random passwords.
func WithRegistryPasswords(next func() string) Option {
	return func(s *Server) { s.newPassword = next }
}

// NewServer starts a server on a loopback port. It panics if it cannot
// listen or make its signing key, as httptest.NewServer does.
func NewServer(opts ...Option) *Server {
	issuer, err := registrytest.NewTokenIssuer("charmhubtest", "registry.charmhubtest")
	if err != nil {
		panic("charmhubtest: " + err.Error())
	}
	s := &Server{
		issuer:       issuer,
		contentLimit: DefaultContentLimit,
		tokens:       map[string]string{},
		expired:      map[string]bool{},
		charms:       map[string]*charmState{},
		uploads:      map[string]*Upload{},
		reviews:      map[string]*review{},
		creds:        map[string]*registryCred{},
		registryHost: "registry.jujucharms.com",
		login:        newLoginState(),
	}
	for _, opt := range opts {
		opt(s)
	}
	s.login.sso = httptest.NewServer(s.record(s.ssoRoutes()))
	s.srv = httptest.NewServer(s.record(s.routes()))
	return s
}

func (s *Server) routes() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("GET /v1/tokens/whoami", s.forUser(s.whoami))
	api.HandleFunc("POST /v1/tokens/usso", s.rootMacaroon)
	api.HandleFunc("POST /v1/tokens/usso/exchange", s.exchange)
	api.HandleFunc("GET /v1/charm", s.forUser(s.listNames))
	api.HandleFunc("GET /v1/charm/{charm}/resources", s.forCharm(s.listResources))
	api.HandleFunc("GET /v1/charm/{charm}/resources/{resource}/revisions", s.forCharm(s.listRevisions))
	api.HandleFunc("POST /v1/charm/{charm}/resources/{resource}/revisions", s.forCharm(s.createRevision))
	api.HandleFunc("PATCH /v1/charm/{charm}/resources/{resource}/revisions", s.forCharm(s.updateRevisions))
	api.HandleFunc("GET /v1/charm/{charm}/resources/{resource}/revisions/review", s.forCharm(s.reviewStatus))
	api.HandleFunc("GET /v1/charm/{charm}/resources/{resource}/oci-image/upload-credentials", s.forImage(s.uploadCredentials))
	api.HandleFunc("POST /v1/charm/{charm}/resources/{resource}/oci-image/blob", s.forImage(s.imageBlob))
	api.HandleFunc("GET /v2/charms/resources/{charm}/{resource}/revisions", s.forCharm(s.listRevisionDownloads))
	api.HandleFunc("GET /v1/resources/download/{file}", s.forUser(s.download))
	api.HandleFunc("/", noEndpoint)

	root := http.NewServeMux()
	root.Handle("/api/", http.StripPrefix("/api", api))
	root.HandleFunc("POST /storage/unscanned-upload/{$}", s.storageUpload)
	// Without this, ServeMux would redirect to the path with the slash,
	// and hide a client that forgets it.
	root.HandleFunc("/storage/unscanned-upload", noEndpoint)
	root.HandleFunc("GET /registry/token", s.registryToken)
	root.HandleFunc("/", noEndpoint)
	return root
}

func noEndpoint(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "not-found", "no endpoint "+r.Method+" "+r.URL.Path)
}

// Close stops the server and its login service.
func (s *Server) Close() { s.srv.Close(); s.login.sso.Close() }

// URL is the server's root URL.
func (s *Server) URL() string { return s.srv.URL }

// APIURL is the base URL of the Charmhub API.
func (s *Server) APIURL() string { return s.srv.URL + "/api" }

// StorageURL is the base URL of the storage service.
func (s *Server) StorageURL() string { return s.srv.URL + "/storage" }

// RegistryTokenURL is the token endpoint a registry announces as realm.
func (s *Server) RegistryTokenURL() string { return s.srv.URL + "/registry/token" }

// TokenIssuer signs the registry tokens; a registry must trust it.
func (s *Server) TokenIssuer() *registrytest.TokenIssuer { return s.issuer }

// SetRegistryHost sets the host named in image names. The default is
// registry.jujucharms.com.
func (s *Server) SetRegistryHost(host string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.registryHost = host
}
