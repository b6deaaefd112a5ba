package registrytest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// Environment variables that make every registry Start runs serve HTTPS,
// as scripts/matrix.sh sets them up.
const (
	// TLSEnv, set to 1, turns TLS on.
	TLSEnv = "CHARMCRAFT_TEST_TLS"
	// TLSHostEnv is the name the registry is reached by. It must resolve
	// to an address of this machine that is not loopback: a Docker daemon
	// skips certificate verification for loopback registries.
	TLSHostEnv = "CHARMCRAFT_TEST_TLS_HOST"
	// CAEnv and CAKeyEnv are the PEM files of the CA that signs the
	// registries' certificates; the plugin trusts it through
	// SSL_CERT_FILE, a daemon through its certs.d.
	CAEnv    = "CHARMCRAFT_TEST_CA"
	CAKeyEnv = "CHARMCRAFT_TEST_CA_KEY"
	// CertsDirEnv is the Docker daemons' certs.d directory; the default
	// is /etc/docker/certs.d. "none" writes nothing there.
	CertsDirEnv = "CHARMCRAFT_TEST_CERTS_D"
)

// TLS says how a registry serves HTTPS.
type TLS struct {
	// Host is the name the registry and its token realm are reached by;
	// they listen on the first address it resolves to.
	Host string
	// CACert and CAKey are PEM files of the CA that signs the certificate.
	CACert, CAKey string
	// CertsDir, if set, is where the registry's CA is written for Docker
	// daemons to trust, as CertsDir/<host:port>/ca.crt (removed by Close).
	CertsDir string
}

// TLSFromEnv is the TLS that CHARMCRAFT_TEST_TLS asks for, or nil.
func TLSFromEnv() (*TLS, error) {
	switch v := os.Getenv(TLSEnv); v {
	case "", "0":
		return nil, nil
	case "1":
	default:
		return nil, fmt.Errorf("%s=%q: want 1 or 0", TLSEnv, v)
	}
	t := &TLS{Host: os.Getenv(TLSHostEnv), CACert: os.Getenv(CAEnv), CAKey: os.Getenv(CAKeyEnv), CertsDir: os.Getenv(CertsDirEnv)}
	if t.Host == "" || t.CACert == "" || t.CAKey == "" {
		return nil, fmt.Errorf("%s=1 needs %s, %s and %s (scripts/matrix.sh writes them)", TLSEnv, TLSHostEnv, CAEnv, CAKeyEnv)
	}
	switch t.CertsDir {
	case "":
		t.CertsDir = "/etc/docker/certs.d"
	case "none":
		t.CertsDir = ""
	}
	return t, nil
}

// tlsServer is what a TLS registry holds: its certificate and key (also
// as files, for distribution 2), the address it listens on, and the proxy
// that serves the token realm over HTTPS.
type tlsServer struct {
	conf              *TLS
	addr              string // IP the host name resolves to
	cert              tls.Certificate
	certFile, keyFile string
	caPEM             []byte
	realm             *http.Server
	certsDirs         []string // the certs.d entries written, removed by close
}

// newTLSServer signs a certificate for t.Host with the CA, into dir.
func newTLSServer(t *TLS, dir string) (*tlsServer, error) {
	addrs, err := net.DefaultResolver.LookupHost(context.Background(), t.Host)
	if err != nil || len(addrs) == 0 {
		return nil, fmt.Errorf("resolving the registry's name %s (scripts/matrix.sh names it in /etc/hosts): %w", t.Host, err)
	}
	ip := net.ParseIP(addrs[0])
	if ip == nil || ip.IsLoopback() {
		return nil, fmt.Errorf("%s resolves to %s: a Docker daemon would not verify TLS there; it must not be loopback", t.Host, addrs[0])
	}
	caPEM, err := os.ReadFile(t.CACert)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(t.CAKey)
	if err != nil {
		return nil, err
	}
	ca, caKey, err := parseCA(caPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("the test CA (%s, %s): %w", t.CACert, t.CAKey, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: t.Host},
		DNSNames:     []string{t.Host},
		IPAddresses:  []net.IP{ip},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("signing the registry's certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	s := &tlsServer{
		conf: t, addr: ip.String(), caPEM: caPEM,
		certFile: filepath.Join(dir, "registry.crt"), keyFile: filepath.Join(dir, "registry.key"),
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyOut := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if s.cert, err = tls.X509KeyPair(certPEM, keyOut); err != nil {
		return nil, err
	}
	if err := os.WriteFile(s.certFile, certPEM, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(s.keyFile, keyOut, 0o600); err != nil {
		return nil, err
	}
	return s, nil
}

// parseCA reads a CA certificate and its key (PKCS #8, EC or PKCS #1).
func parseCA(certPEM, keyPEM []byte) (*x509.Certificate, crypto.Signer, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil {
		return nil, nil, errors.New("no PEM certificate")
	}
	ca, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, errors.New("no PEM key")
	}
	var key any
	switch kb.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(kb.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(kb.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(kb.Bytes)
	}
	if err != nil {
		return nil, nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("a %T cannot sign", key)
	}
	return ca, signer, nil
}

// config is the server side of the registry's TLS, offering HTTP/2 as
// production registries do.
func (s *tlsServer) config() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{s.cert}, NextProtos: []string{"h2", "http/1.1"}, MinVersion: tls.VersionTLS12}
}

// serveRealm serves realm's origin over HTTPS on the registry's name and
// returns the realm's new URL: a registry served over HTTPS must announce
// an HTTPS realm (the plugin refuses to send credentials to a plain one).
func (s *tlsServer) serveRealm(realm string) (string, error) {
	u, err := url.Parse(realm)
	if err != nil {
		return "", fmt.Errorf("realm %q: %w", realm, err)
	}
	if u.Scheme == "https" {
		return realm, nil
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", net.JoinHostPort(s.addr, "0"))
	if err != nil {
		return "", fmt.Errorf("listening for the token realm: %w", err)
	}
	origin := &url.URL{Scheme: u.Scheme, Host: u.Host}
	s.realm = &http.Server{
		Handler: httputil.NewSingleHostReverseProxy(origin), ReadHeaderTimeout: time.Minute,
		ErrorLog: log.New(io.Discard, "", 0), // a client that does not trust the CA says so itself
	}
	go func() { _ = s.realm.Serve(tls.NewListener(ln, s.config())) }()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	u.Scheme, u.Host = "https", net.JoinHostPort(s.conf.Host, port)
	return u.String(), nil
}

// trust writes the CA where Docker daemons look for the registry at
// host (host:port).
func (s *tlsServer) trust(host string) error {
	if s.conf.CertsDir == "" {
		return nil
	}
	dir := filepath.Join(s.conf.CertsDir, host)
	if err := os.MkdirAll(dir, 0o755); err != nil { //nolint:gosec // read by the daemons, as certs.d is
		return fmt.Errorf("trusting the test CA for %s: %w", host, err)
	}
	s.certsDirs = append(s.certsDirs, dir)
	return os.WriteFile(filepath.Join(dir, "ca.crt"), s.caPEM, 0o644) //nolint:gosec // a CA certificate is public
}

func (s *tlsServer) close() {
	if s.realm != nil {
		_ = s.realm.Close()
	}
	for _, dir := range s.certsDirs {
		_ = os.RemoveAll(dir)
	}
}
