package registrytest

import (
	"net/http"
	"strings"
	"testing"
	"time"
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
