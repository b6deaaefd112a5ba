package charmhubtest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"time"

	"gopkg.in/macaroon.v2"
)

// The login flow (contract section 2): Charmhub issues a root macaroon
// with a third-party caveat located at the login service; the login
// service (Ubuntu One) discharges it for a right email, password and
// one-time password; Charmhub exchanges the root and the discharge bound
// to it for a token. Macaroons are checked with their signatures, so a
// discharge that is not bound to its root, or a root Charmhub did not
// sign, is refused.

// ssoAccount is an Ubuntu One account.
type ssoAccount struct {
	password, otp string
	username      string // the Charmhub account it logs in to
}

// loginState is the server's side of the login flow.
type loginState struct {
	sso      *httptest.Server
	rootKey  []byte
	caveats  map[string][]byte // third-party caveat id -> its root key
	accounts map[string]ssoAccount
	clients  []string // client descriptions of the tokens exchanged
}

func newLoginState() loginState {
	return loginState{rootKey: []byte(rand.Text() + rand.Text()), caveats: map[string][]byte{}, accounts: map[string]ssoAccount{}}
}

// AddSSOAccount adds an Ubuntu One account. It logs in with email and
// password, plus otp when otp is not empty (two-factor authentication),
// and the token it gets belongs to the Charmhub user username.
func (s *Server) AddSSOAccount(email, password, otp, username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.login.accounts[email] = ssoAccount{password: password, otp: otp, username: username}
}

// SSOURL is the base URL of the login service (CHARMCRAFT_STORE_SSO_URL).
// It runs on a port of its own, so its host differs from the API's.
func (s *Server) SSOURL() string { return s.login.sso.URL }

// LoginClients returns the client descriptions sent with each token
// exchange, in order.
func (s *Server) LoginClients() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.login.clients)
}

func (s *Server) ssoHost() string {
	u, _ := url.Parse(s.login.sso.URL)
	return u.Host
}

// ssoRoutes serves the login service.
func (s *Server) ssoRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/tokens/discharge", s.discharge)
	mux.HandleFunc("/", noEndpoint)
	return mux
}

// rootMacaroon answers POST /v1/tokens/usso: a root macaroon holding the
// permissions and expiry asked for, and a caveat for the login service.
func (s *Server) rootMacaroon(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Permissions []string `json:"permissions"`
		TTL         int      `json:"ttl"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if len(req.Permissions) == 0 || req.TTL <= 0 {
		writeError(w, http.StatusBadRequest, "invalid-request", "permissions and a positive ttl are required.")
		return
	}
	for _, p := range req.Permissions {
		if !slices.Contains(defaultPermissions, p) {
			writeError(w, http.StatusBadRequest, "invalid-permission", fmt.Sprintf("Unknown permission %q.", p))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := macaroon.New(s.login.rootKey, []byte("charmhubtest-root-"+rand.Text()), r.Host, macaroon.V1)
	if err == nil {
		err = m.AddFirstPartyCaveat([]byte("permissions=" + strings.Join(req.Permissions, ",")))
	}
	if err == nil {
		expires := time.Now().Add(time.Duration(req.TTL) * time.Second).UTC().Format(time.RFC3339)
		err = m.AddFirstPartyCaveat([]byte("expires=" + expires))
	}
	caveatKey, caveatID := []byte(rand.Text()+rand.Text()), "sso-caveat-"+rand.Text()
	if err == nil {
		err = m.AddThirdPartyCaveat(caveatKey, []byte(caveatID), s.ssoHost())
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server-error", "Making the macaroon failed.")
		return
	}
	s.login.caveats[caveatID] = caveatKey
	writeJSON(w, http.StatusOK, map[string]string{"macaroon": encode(m)})
}

// discharge answers POST {sso}/api/v2/tokens/discharge.
func (s *Server) discharge(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		CaveatID string `json:"caveat_id"`
		OTP      string `json:"otp"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	acct, known := s.login.accounts[req.Email]
	key := s.login.caveats[req.CaveatID]
	switch {
	case req.Email == "" || req.Password == "" || req.CaveatID == "":
		writeError(w, http.StatusBadRequest, "invalid-data", "email, password and caveat_id are required.")
		return
	case key == nil:
		writeError(w, http.StatusBadRequest, "invalid-data", "Unknown caveat.")
		return
	case !known || !same(acct.password, req.Password):
		writeError(w, http.StatusUnauthorized, "invalid-credentials", "Provided email/password is not correct.")
		return
	case acct.otp != "" && req.OTP == "":
		writeError(w, http.StatusUnauthorized, "twofactor-required", "2-factor authentication required.")
		return
	case acct.otp != "" && !same(acct.otp, req.OTP):
		writeError(w, http.StatusForbidden, "twofactor-failure", "The provided 2-factor key is not recognised.")
		return
	}
	d, err := macaroon.New(key, []byte(req.CaveatID), s.ssoHost(), macaroon.V1)
	if err == nil {
		err = d.AddFirstPartyCaveat([]byte("account=" + req.Email))
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "server-error", "Making the discharge failed.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"discharge_macaroon": encode(d)})
}

// exchange answers POST /v1/tokens/usso/exchange: it verifies the root
// against its key and the discharge bound to it, and issues a token of the
// account the discharge vouches for.
func (s *Server) exchange(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Description string `json:"client-description"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Description == "" {
		writeError(w, http.StatusBadRequest, "missing-field", "client-description is required.")
		return
	}
	root, discharge, err := parseExchangeHeader(r.Header.Get("Authorization"))
	if err != nil {
		writeError(w, http.StatusUnauthorized, "invalid-credentials", err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	email, err := s.verifyLogin(root, discharge)
	if err != nil {
		writeError(w, http.StatusUnauthorized, "invalid-credentials", "The macaroons are not valid: "+err.Error())
		return
	}
	token := "charmhubtest-token-" + rand.Text()
	s.tokens[token] = s.login.accounts[email].username
	s.login.clients = append(s.login.clients, req.Description)
	writeJSON(w, http.StatusOK, map[string]string{"macaroon": token})
}

// verifyLogin checks the signatures of root and discharge, that the
// discharge is bound to the root, and every caveat; it returns the email
// the discharge vouches for. Call with s.mu held.
func (s *Server) verifyLogin(root, discharge *macaroon.Macaroon) (string, error) {
	var email string
	check := func(caveat string) error {
		name, value, _ := strings.Cut(caveat, "=")
		switch name {
		case "permissions":
			return nil
		case "expires":
			t, err := time.Parse(time.RFC3339, value)
			if err != nil || time.Now().After(t) {
				return errors.New("the macaroon expired")
			}
			return nil
		case "account":
			if _, ok := s.login.accounts[value]; !ok {
				return errors.New("unknown account")
			}
			email = value
			return nil
		}
		return fmt.Errorf("unknown caveat %q", caveat)
	}
	if err := root.Verify(s.login.rootKey, check, []*macaroon.Macaroon{discharge}); err != nil {
		return "", err
	}
	if email == "" {
		return "", errors.New("the discharge names no account")
	}
	return email, nil
}

// parseExchangeHeader reads `Macaroon root=<m>, discharge=<m>`.
func parseExchangeHeader(h string) (root, discharge *macaroon.Macaroon, err error) {
	rest, ok := strings.CutPrefix(h, "Macaroon ")
	if !ok {
		return nil, nil, errors.New("the Authorization header must be: Macaroon root=<root>, discharge=<discharge>")
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	if root, err = decode(fields["root"]); err != nil {
		return nil, nil, fmt.Errorf("root: %w", err)
	}
	if discharge, err = decode(fields["discharge"]); err != nil {
		return nil, nil, fmt.Errorf("discharge: %w", err)
	}
	return root, discharge, nil
}

// encode serializes m as pymacaroons does for V1: URL-safe base64.
func encode(m *macaroon.Macaroon) string {
	raw, err := m.MarshalBinary()
	if err != nil {
		panic("charmhubtest: " + err.Error())
	}
	return base64.URLEncoding.EncodeToString(raw)
}

// decode reads a macaroon serialized in any base64 flavour. A split on
// "=" may have cut its padding; decoding does not need it.
func decode(s string) (*macaroon.Macaroon, error) {
	raw, err := macaroon.Base64Decode([]byte(strings.TrimRight(s, "=")))
	if err != nil || len(raw) == 0 {
		return nil, errors.New("not base64")
	}
	var m macaroon.Macaroon
	if err := m.UnmarshalBinary(raw); err != nil {
		return nil, errors.New("not a macaroon")
	}
	return &m, nil
}

func same(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
