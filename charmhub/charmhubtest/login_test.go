package charmhubtest_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
	"gopkg.in/macaroon.v2"
)

// postJSON sends body and decodes the answer into v; it returns the status
// and the first error code.
func postJSON(t *testing.T, u, auth string, body, v any) (int, string) {
	t.Helper()
	data, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var raw json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	var e struct {
		List []charmhubtest.ErrorItem `json:"error-list"`
	}
	if json.Unmarshal(raw, &e) == nil && len(e.List) > 0 {
		return resp.StatusCode, e.List[0].Code
	}
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("decoding %s: %v", raw, err)
		}
	}
	return resp.StatusCode, ""
}

func decodeM(t *testing.T, s string) *macaroon.Macaroon {
	t.Helper()
	raw, err := macaroon.Base64Decode([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	var m macaroon.Macaroon
	if err := m.UnmarshalBinary(raw); err != nil {
		t.Fatal(err)
	}
	return &m
}

func encodeM(t *testing.T, m *macaroon.Macaroon) string {
	t.Helper()
	raw, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return base64.URLEncoding.EncodeToString(raw)
}

// loginSteps runs the flow by hand up to the discharge.
type loginSteps struct {
	s         *charmhubtest.Server
	rootRaw   string
	root      *macaroon.Macaroon
	discharge *macaroon.Macaroon
}

func newRoot(t *testing.T, s *charmhubtest.Server) *loginSteps {
	t.Helper()
	var answer struct{ Macaroon string }
	status, code := postJSON(t, s.APIURL()+"/v1/tokens/usso", "",
		map[string]any{"permissions": []string{"package-manage", "package-view"}, "ttl": 3600}, &answer)
	if status != 200 {
		t.Fatalf("usso: %d %s", status, code)
	}
	return &loginSteps{s: s, rootRaw: answer.Macaroon, root: decodeM(t, answer.Macaroon)}
}

// caveatID is the root's caveat for the login service, checking that it
// is located at the login service's host.
func (l *loginSteps) caveatID(t *testing.T) string {
	t.Helper()
	sso, _ := url.Parse(l.s.SSOURL())
	for _, c := range l.root.Caveats() {
		if len(c.VerificationId) > 0 {
			if c.Location != sso.Host {
				t.Fatalf("third-party caveat located at %q, want the login host %q", c.Location, sso.Host)
			}
			return string(c.Id)
		}
	}
	t.Fatal("no third-party caveat in the root macaroon")
	return ""
}

func (l *loginSteps) dischargeWith(t *testing.T, email, password, otp string) (int, string) {
	t.Helper()
	body := map[string]string{"email": email, "password": password, "caveat_id": l.caveatID(t)}
	if otp != "" {
		body["otp"] = otp
	}
	var answer struct {
		Discharge string `json:"discharge_macaroon"`
	}
	status, code := postJSON(t, l.s.SSOURL()+"/api/v2/tokens/discharge", "", body, &answer)
	if status == 200 {
		l.discharge = decodeM(t, answer.Discharge)
	}
	return status, code
}

func (l *loginSteps) exchange(t *testing.T, root string, discharge *macaroon.Macaroon) (int, string, string) {
	t.Helper()
	var answer struct{ Macaroon string }
	status, code := postJSON(t, l.s.APIURL()+"/v1/tokens/usso/exchange",
		"Macaroon root="+root+", discharge="+encodeM(t, discharge),
		map[string]string{"client-description": "test@host"}, &answer)
	return status, code, answer.Macaroon
}

func bound(root, d *macaroon.Macaroon) *macaroon.Macaroon {
	b := d.Clone()
	b.Bind(root.Signature())
	return b
}

// newDischarged starts a server where alice logs in with Ubuntu One, and
// has her root macaroon discharged: what is left is the exchange.
func newDischarged(t *testing.T) (*charmhubtest.Server, *loginSteps) {
	t.Helper()
	s := newServer(t)
	s.AddSSOAccount("alice@example.com", "s3cret", "", "alice")
	l := newRoot(t, s)
	if status, code := l.dischargeWith(t, "alice@example.com", "s3cret", ""); status != 200 {
		t.Fatalf("discharge: %d %s", status, code)
	}
	return s, l
}

func TestLoginIssuesATokenTheServerAccepts(t *testing.T) {
	s, l := newDischarged(t)
	status, code, token := l.exchange(t, l.rootRaw, bound(l.root, l.discharge))
	if status != 200 || token == "" {
		t.Fatalf("exchange: %d %s", status, code)
	}
	if got, want := s.LoginClients(), []string{"test@host"}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("client descriptions %q, want %q", got, want)
	}
	if status, _ := send(t, "GET", s.APIURL()+"/v1/tokens/whoami", "Macaroon "+token, "", nil); status != 200 {
		t.Errorf("whoami with the new token: %d", status)
	}
	// The token is alice's: it may read her charm.
	if status, _ := send(t, "GET", s.APIURL()+"/v1/charm/my-charm/resources", "Macaroon "+token, "", nil); status != 200 {
		t.Errorf("alice's charm with the new token: %d", status)
	}
}

func TestExchangeRefusesMacaroonsThatDoNotVerify(t *testing.T) {
	s, l := newDischarged(t)
	other := newRoot(t, s) // a second root, with a caveat of its own

	forged, err := macaroon.New([]byte("not the server's key"), l.root.Id(), l.root.Location(), macaroon.V1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range l.root.Caveats() {
		if len(c.VerificationId) == 0 {
			_ = forged.AddFirstPartyCaveat(c.Id)
		}
	}
	attenuated := l.root.Clone()
	_ = attenuated.AddFirstPartyCaveat([]byte("admin=true"))

	tests := []struct {
		name      string
		root      string
		discharge *macaroon.Macaroon
	}{
		{name: "discharge not bound", root: l.rootRaw, discharge: l.discharge},
		{name: "discharge bound to another root", root: l.rootRaw, discharge: bound(other.root, l.discharge)},
		{name: "discharge for another root's caveat", root: other.rootRaw, discharge: bound(other.root, l.discharge)},
		{name: "root not signed by the server", root: encodeM(t, forged), discharge: bound(forged, l.discharge)},
		{name: "root with a caveat the server does not know", root: encodeM(t, attenuated), discharge: bound(attenuated, l.discharge)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code, token := l.exchange(t, tt.root, tt.discharge)
			if status != 401 || code != "invalid-credentials" || token != "" {
				t.Errorf("got %d %q (token %v), want 401 invalid-credentials", status, code, token != "")
			}
		})
	}
	// The right pair still works afterwards.
	if status, code, _ := l.exchange(t, l.rootRaw, bound(l.root, l.discharge)); status != 200 {
		t.Errorf("bound discharge: %d %s", status, code)
	}
}

func TestDischargeChecksPasswordAndOneTimePassword(t *testing.T) {
	s := newServer(t)
	s.AddSSOAccount("alice@example.com", "s3cret", "", "alice")
	s.AddSSOAccount("bob@example.com", "hunter2", "123456", "bob")
	tests := []struct {
		name, email, password, otp string
		status                     int
		code                       string
	}{
		{name: "right", email: "alice@example.com", password: "s3cret", status: 200},
		{name: "wrong password", email: "alice@example.com", password: "guess", status: 401, code: "invalid-credentials"},
		{name: "unknown email", email: "eve@example.com", password: "s3cret", status: 401, code: "invalid-credentials"},
		{name: "otp missing", email: "bob@example.com", password: "hunter2", status: 401, code: "twofactor-required"},
		{name: "otp wrong", email: "bob@example.com", password: "hunter2", otp: "000000", status: 403, code: "twofactor-failure"},
		{name: "otp right", email: "bob@example.com", password: "hunter2", otp: "123456", status: 200},
		{name: "otp right, password wrong", email: "bob@example.com", password: "guess", otp: "123456", status: 401, code: "invalid-credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newRoot(t, s)
			status, code := l.dischargeWith(t, tt.email, tt.password, tt.otp)
			if status != tt.status || code != tt.code {
				t.Errorf("got %d %q, want %d %q", status, code, tt.status, tt.code)
			}
		})
	}
	// A caveat the server never issued is refused.
	status, code := postJSON(t, s.SSOURL()+"/api/v2/tokens/discharge", "",
		map[string]string{"email": "alice@example.com", "password": "s3cret", "caveat_id": "made-up"}, nil)
	if status != 400 || !strings.Contains(code, "invalid") {
		t.Errorf("unknown caveat: %d %q", status, code)
	}
}
