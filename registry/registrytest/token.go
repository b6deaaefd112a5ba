package registrytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/distribution/distribution/v3/registry/auth/token"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Access is one grant in a registry bearer token: the actions allowed on
// one resource, e.g. {Type: "repository", Name: "charm/abc/img", Actions: ["pull", "push"]}.
type Access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// TokenIssuer signs registry bearer tokens as a distribution token server
// does. A registry started with the same issuer trusts them.
type TokenIssuer struct {
	// Issuer is the "iss" claim; the registry accepts only this issuer.
	Issuer string
	// Service is the "aud" claim and the service the registry announces.
	Service string

	key     *ecdsa.PrivateKey
	certDER []byte
	certPEM []byte
	kid     string
}

// NewTokenIssuer makes a fresh signing key and a self-signed certificate
// for it.
func NewTokenIssuer(issuer, service string) (*TokenIssuer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating token key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: issuer},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("creating token certificate: %w", err)
	}
	return &TokenIssuer{
		Issuer:  issuer,
		Service: service,
		key:     key,
		certDER: der,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		kid:     token.GetJWKThumbprint(&key.PublicKey),
	}, nil
}

// CertPEM is the certificate a registry needs as its rootcertbundle.
func (ti *TokenIssuer) CertPEM() []byte { return ti.certPEM }

type claims struct {
	jwt.Claims
	Access []Access `json:"access"`
}

// Issue signs a token for subject granting access, valid for ttl.
func (ti *TokenIssuer) Issue(subject string, access []Access, ttl time.Duration) (string, error) {
	// The certificate travels in x5c, which distribution 2 and 3 both
	// verify against their root bundle; their key IDs differ (libtrust's
	// fingerprint in 2, the JWK thumbprint in 3), so kid alone serves 3.
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: ti.key},
		(&jose.SignerOptions{}).WithType("JWT").
			WithHeader(jose.HeaderKey("kid"), ti.kid).
			WithHeader(jose.HeaderKey("x5c"), []string{base64.StdEncoding.EncodeToString(ti.certDER)}))
	if err != nil {
		return "", fmt.Errorf("creating token signer: %w", err)
	}
	now := time.Now()
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return "", err
	}
	c := claims{
		Claims: jwt.Claims{
			Issuer:    ti.Issuer,
			Subject:   subject,
			Audience:  jwt.Audience{ti.Service},
			Expiry:    jwt.NewNumericDate(now.Add(ttl)),
			NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        fmt.Sprintf("%x", id),
		},
		Access: access,
	}
	if c.Access == nil {
		c.Access = []Access{}
	}
	return jwt.Signed(signer).Claims(c).Serialize()
}
