package registrytest

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

func TestTokenAuth(t *testing.T) {
	iss, err := NewTokenIssuer("charmhubtest", "registry.test")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := Start(Config{Realm: "http://127.0.0.1:1/token", Issuer: iss})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()

	head := func(repo, tok string) int {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodHead, reg.URL+"/v2/"+repo+"/blobs/sha256:"+strings.Repeat("a", 64), nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized && !strings.Contains(resp.Header.Get("WWW-Authenticate"), `realm="http://127.0.0.1:1/token"`) {
			t.Errorf("challenge = %q", resp.Header.Get("WWW-Authenticate"))
		}
		return resp.StatusCode
	}
	if got := head("charm/a/img", ""); got != http.StatusUnauthorized {
		t.Errorf("no token: status %d, want 401", got)
	}
	tok, err := iss.Issue("u", []Access{{Type: "repository", Name: "charm/a/img", Actions: []string{"pull", "push"}}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got := head("charm/a/img", tok); got != http.StatusNotFound {
		t.Errorf("scoped token on its repository: status %d, want 404", got)
	}
	if got := head("charm/b/img", tok); got != http.StatusUnauthorized {
		t.Errorf("scoped token on another repository: status %d, want 401", got)
	}
	other, _ := NewTokenIssuer("charmhubtest", "registry.test")
	bad, _ := other.Issue("u", []Access{{Type: "repository", Name: "charm/a/img", Actions: []string{"pull"}}}, time.Minute)
	if got := head("charm/a/img", bad); got != http.StatusUnauthorized {
		t.Errorf("token from an unknown key: status %d, want 401", got)
	}
}

// TestKinds runs each kind of registry and checks the answer that sets
// them apart: a HEAD of a manifest by the digest of a blob the repository
// holds (an image config) is a 500 from distribution 2, a 404 from 3.
func TestKinds(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		want int
	}{{Embedded, http.StatusNotFound}, {Distribution2, http.StatusInternalServerError}} {
		t.Run(string(tc.kind), func(t *testing.T) {
			if tc.kind == Distribution2 {
				if _, err := Distribution2Binary(); err != nil {
					t.Skip(err)
				}
			}
			reg, err := Start(Config{Kind: tc.kind})
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			if reg.Kind != tc.kind {
				t.Fatalf("Kind = %q", reg.Kind)
			}
			blob := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
			d := digest.FromBytes(blob)
			do := func(method, url string, body []byte) *http.Response {
				req, _ := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp
			}
			resp := do(http.MethodPost, reg.URL+"/v2/charm/a/img/blobs/uploads/", nil)
			loc, _ := url.Parse(reg.URL)
			loc, _ = loc.Parse(resp.Header.Get("Location"))
			q := loc.Query()
			q.Set("digest", d.String())
			loc.RawQuery = q.Encode()
			if resp := do(http.MethodPut, loc.String(), blob); resp.StatusCode != http.StatusCreated {
				t.Fatalf("blob push: %d", resp.StatusCode)
			}
			if got := do(http.MethodHead, reg.URL+"/v2/charm/a/img/manifests/"+d.String(), nil).StatusCode; got != tc.want {
				t.Errorf("HEAD manifest by config digest: %d, want %d", got, tc.want)
			}
		})
	}
}
