// Package registrytest runs a real registry with token authentication on
// loopback, and signs the bearer tokens it trusts: CNCF distribution 3
// embedded in the test process, or Debian's docker-registry (distribution
// 2.8, the registry most deployments run) as a process of its own. Tests
// push into it with the production registry client; the Charmhub test
// server hands out its tokens.
package registrytest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/sirupsen/logrus"

	// The token access controller and the storage drivers register
	// themselves when imported.
	_ "github.com/distribution/distribution/v3/registry/auth/token"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

// Config says how to start a registry.
type Config struct {
	// Realm is the URL of the token endpoint announced in
	// WWW-Authenticate challenges. Ignored without Issuer.
	Realm string
	// Issuer signs the tokens the registry trusts. Nil starts a registry
	// without authentication.
	Issuer *TokenIssuer
	// Dir is where blobs are stored. The default is a new temporary
	// directory, removed by Close. (The registry's in-memory driver copies
	// on every write and slows down past a few MiB.)
	Dir string
	// Log receives the registry's own log; nil discards it.
	Log io.Writer
	// Kind is which registry to run. The default is the one named by
	// CHARMCRAFT_TEST_REGISTRY (see KindFromEnv), else Embedded.
	Kind Kind
	// TLS, if set, serves HTTPS, and the token realm through an HTTPS
	// proxy on the same name. The default is what CHARMCRAFT_TEST_TLS asks
	// for (see TLSFromEnv), else plain HTTP on loopback.
	TLS *TLS
}

// Registry is a running registry.
type Registry struct {
	// URL is the base URL, e.g. http://127.0.0.1:34567, or
	// https://registry.charmcraft.test:34567 with TLS.
	URL string
	// Host is URL's host:port, as used in image names.
	Host string

	// Kind is the registry that runs.
	Kind Kind

	srv *httptest.Server // Embedded
	// serving counts the embedded registry's requests in flight: over
	// HTTP/2, srv.Close does not wait for them, and one still writing to
	// storage would race its removal.
	serving sync.WaitGroup
	conf    *configuration.Configuration
	proc    *process // Distribution2
	bin     string
	conf2   string // distribution 2's configuration file
	tmpDir  string
	tls     *tlsServer // nil for plain HTTP
	listen  string     // the address served, kept by Start
}

// Start runs a registry on a loopback port, or with TLS on a port of the
// address cfg.TLS.Host resolves to.
func Start(cfg Config) (*Registry, error) {
	if cfg.Kind == "" {
		k, err := KindFromEnv()
		if err != nil {
			return nil, err
		}
		cfg.Kind = k
	}
	if cfg.TLS == nil {
		t, err := TLSFromEnv()
		if err != nil {
			return nil, err
		}
		cfg.TLS = t
	}
	switch cfg.Kind {
	case Embedded:
		return startEmbedded(cfg)
	case Distribution2:
		return startDistribution2(cfg)
	}
	return nil, fmt.Errorf("unknown registry kind %q", cfg.Kind)
}

func startEmbedded(cfg Config) (*Registry, error) {
	logrus.SetOutput(io.Discard)
	if cfg.Log != nil {
		logrus.SetOutput(cfg.Log)
	}
	r := &Registry{Kind: Embedded}
	dir, err := os.MkdirTemp("", "registrytest-")
	if err != nil {
		return nil, err
	}
	r.tmpDir = dir
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(dir, "storage")
	}
	conf := &configuration.Configuration{
		Storage: configuration.Storage{"filesystem": configuration.Parameters{"rootdirectory": cfg.Dir}},
	}
	// A secret of its own, kept across a Restart: the registry signs the
	// state of upload sessions with it.
	conf.HTTP.Secret = newSecret()
	conf.Log.AccessLog.Disabled = cfg.Log == nil
	conf.Log.Level = "error"
	conf.Storage["delete"] = configuration.Parameters{"enabled": true}
	conf.Storage["maintenance"] = configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}}

	r.listen = "127.0.0.1:0"
	if err := r.startTLS(&cfg); err != nil {
		r.Close()
		return nil, err
	}
	if cfg.Issuer != nil {
		bundle := filepath.Join(dir, "root.pem")
		if err := os.WriteFile(bundle, cfg.Issuer.CertPEM(), 0o600); err != nil {
			r.Close()
			return nil, err
		}
		conf.Auth = configuration.Auth{"token": configuration.Parameters{
			"realm":          cfg.Realm,
			"service":        cfg.Issuer.Service,
			"issuer":         cfg.Issuer.Issuer,
			"rootcertbundle": bundle,
		}}
	}

	r.conf = conf
	if err := r.serve(r.listen); err != nil {
		r.Close()
		return nil, err
	}
	r.listen = r.srv.Listener.Addr().String()
	if err := r.named(r.listen); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// startTLS prepares TLS if cfg asks for it: a certificate, the address to
// listen on, and an HTTPS token realm, which replaces cfg.Realm.
func (r *Registry) startTLS(cfg *Config) error {
	if cfg.TLS == nil {
		return nil
	}
	s, err := newTLSServer(cfg.TLS, r.tmpDir)
	if err != nil {
		return err
	}
	r.tls = s
	r.listen = net.JoinHostPort(s.addr, "0")
	if cfg.Issuer != nil {
		cfg.Realm, err = s.serveRealm(cfg.Realm)
	}
	return err
}

// named sets URL and Host for the registry listening on addr: with TLS,
// by its name, trusted by the Docker daemons.
func (r *Registry) named(addr string) error {
	if r.tls == nil {
		r.URL, r.Host = "http://"+addr, addr
		return nil
	}
	_, port, _ := net.SplitHostPort(addr)
	r.Host = net.JoinHostPort(r.tls.conf.Host, port)
	r.URL = "https://" + r.Host
	return r.tls.trust(r.Host)
}

// Front is where a server that stands in front of the registry, such as
// a test proxy, is to listen, and how it is reached.
type Front struct {
	// Listener is a new loopback port for a plain registry; with TLS, a
	// port on the registry's address.
	Listener net.Listener
	// URL is the front's base URL, by the registry's name with TLS.
	URL string
	// Host is the name in URL, without the port.
	Host string
	// TLS serves the registry's certificate, trusted by the Docker daemons
	// under the front's port too (until Close); nil for a plain registry.
	TLS *tls.Config
}

// Front makes a listener for a server in front of the registry, served
// as the registry is, so that the path from client to registry stays
// HTTPS end to end with TLS. The server closes the listener.
func (r *Registry) Front() (*Front, error) {
	addr := "127.0.0.1:0"
	if r.tls != nil {
		addr = net.JoinHostPort(r.tls.addr, "0")
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening in front of the registry: %w", err)
	}
	if r.tls == nil {
		return &Front{Listener: ln, URL: "http://" + ln.Addr().String(), Host: "127.0.0.1"}, nil
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	host := net.JoinHostPort(r.tls.conf.Host, port)
	if err := r.tls.trust(host); err != nil {
		_ = ln.Close()
		return nil, err
	}
	return &Front{Listener: ln, URL: "https://" + host, Host: r.tls.conf.Host, TLS: r.tls.config()}, nil
}

// serve runs the embedded registry on addr.
func (r *Registry) serve(addr string) error {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", addr)
	if err != nil {
		return fmt.Errorf("listening for the registry: %w", err)
	}
	app := handlers.NewApp(context.Background(), r.conf)
	// A client that does not trust the CA is the client's failure: the
	// server does not log it.
	handler := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.serving.Add(1)
		defer r.serving.Done()
		app.ServeHTTP(w, req)
	})
	r.srv = &httptest.Server{Listener: ln, Config: &http.Server{
		Handler: handler, ReadHeaderTimeout: time.Minute, ErrorLog: log.New(io.Discard, "", 0),
	}}
	if r.tls == nil {
		r.srv.Start()
		return nil
	}
	r.srv.TLS = r.tls.config()
	r.srv.EnableHTTP2 = true
	r.srv.StartTLS()
	return nil
}

// Stop stops the registry as a crash would, dropping every connection;
// its storage is kept for Start.
func (r *Registry) Stop() {
	switch {
	case r.srv != nil:
		r.srv.CloseClientConnections()
		r.srv.Close()
		r.serving.Wait()
		r.srv = nil
	case r.proc != nil:
		r.proc.stop()
		r.proc = nil
	}
}

// Start starts a stopped registry again, on the same address, with the
// same storage and secret.
func (r *Registry) Start() error {
	if r.Kind == Embedded {
		return r.serve(r.listen)
	}
	_, err := r.run(r.bin, r.conf2, io.Discard)
	return err
}

// newSecret is a random secret for the registry's HTTP state.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Close stops the registry and removes what it wrote.
func (r *Registry) Close() {
	if r.srv != nil {
		r.srv.Close()
		r.serving.Wait()
	}
	if r.proc != nil {
		r.proc.stop()
	}
	if r.tls != nil {
		r.tls.close()
	}
	if r.tmpDir != "" {
		_ = os.RemoveAll(r.tmpDir)
	}
}
