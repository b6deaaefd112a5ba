package charmhub

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"gopkg.in/macaroon.v2"
)

// serialized is a macaroon as received, and decoded.
type serialized struct {
	raw string
	m   *macaroon.Macaroon
}

// decodeMacaroon reads a serialized macaroon: base64 (standard or URL
// alphabet, padded or not) of the binary V1 or V2 format, or the JSON
// format.
func decodeMacaroon(s string) (*macaroon.Macaroon, error) {
	s = strings.TrimSpace(s)
	var m macaroon.Macaroon
	if strings.HasPrefix(s, "{") {
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return nil, errors.New("not a macaroon in JSON")
		}
		return &m, nil
	}
	raw, err := macaroon.Base64Decode([]byte(s))
	if err != nil || len(raw) == 0 {
		return nil, errors.New("not base64")
	}
	if err := m.UnmarshalBinary(raw); err != nil {
		return nil, errors.New("not a macaroon")
	}
	return &m, nil
}

// encodeMacaroon serializes m in its own version's binary format, in
// base64 with the URL alphabet, as pymacaroons does: padded for V1,
// unpadded for V2.
func encodeMacaroon(m *macaroon.Macaroon) (string, error) {
	raw, err := m.MarshalBinary()
	if err != nil {
		return "", err
	}
	if m.Version() == macaroon.V1 {
		return base64.URLEncoding.EncodeToString(raw), nil
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// loginCaveat returns the ID of the root's third-party caveat that the
// login service discharges: the only one, or the one located at the login
// host.
func loginCaveat(root *macaroon.Macaroon, loginURL string) (string, error) {
	var third []macaroon.Caveat
	for _, c := range root.Caveats() {
		if len(c.VerificationId) > 0 {
			third = append(third, c)
		}
	}
	switch len(third) {
	case 0:
		return "", errors.New("the root macaroon has no third-party caveat to discharge")
	case 1:
		return caveatID(third[0])
	}
	want := loginHost(loginURL)
	for _, c := range third {
		host := c.Location
		if u, err := url.Parse(c.Location); err == nil && u.Host != "" {
			host = u.Host
		}
		if host == want {
			return caveatID(c)
		}
	}
	return "", fmt.Errorf("the root macaroon has no caveat for the login service %s; check CHARMCRAFT_STORE_SSO_URL", want)
}

func caveatID(c macaroon.Caveat) (string, error) {
	if !utf8.Valid(c.Id) {
		return "", errors.New("the login caveat's ID is not text")
	}
	return string(c.Id), nil
}

// bindDischarge binds a copy of the discharge to the root, so that it
// can only be used with it, and serializes it.
func bindDischarge(root, discharge *macaroon.Macaroon) (string, error) {
	d := discharge.Clone()
	d.Bind(root.Signature())
	s, err := encodeMacaroon(d)
	if err != nil {
		return "", fmt.Errorf("serializing the discharge macaroon: %w", err)
	}
	return s, nil
}
