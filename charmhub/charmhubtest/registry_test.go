package charmhubtest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
)

func TestRegistryTokensAreScopedToTheCharm(t *testing.T) {
	w, err := charmhubtest.NewWorld(charmhubtest.WorldConfig{
		Accounts: []charmhubtest.Account{{Username: "alice", Token: "alice-token"}},
		Charms: []charmhubtest.Charm{{Name: "my-charm", ID: "id-1", Owner: "alice",
			Resources: []charmhubtest.ResourceSpec{{Name: "image", Type: charmhub.TypeOCIImage}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	s, reg := w.Hub, w.Registry

	creds := uploadCredentials(t, s, "my-charm", "image")
	if want := reg.Host + "/charm/id-1/image"; creds.ImageName != want {
		t.Fatalf("image name %q, want %q", creds.ImageName, want)
	}
	tests := []struct {
		name, repo, user, password string
		tokenStatus, headStatus    int
	}{
		{name: "own charm", repo: "charm/id-1/image", user: creds.Username, password: creds.Password, tokenStatus: 200, headStatus: 404},
		{name: "another resource of the charm", repo: "charm/id-1/other", user: creds.Username, password: creds.Password, tokenStatus: 200, headStatus: 404},
		{name: "another charm", repo: "charm/id-2/image", user: creds.Username, password: creds.Password, tokenStatus: 200, headStatus: 401},
		{name: "wrong password", repo: "charm/id-1/image", user: creds.Username, password: "guess", tokenStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, status := registryToken(t, s, tt.user, tt.password, "repository:"+tt.repo+":pull,push")
			if status != tt.tokenStatus {
				t.Fatalf("token endpoint answered %d, want %d", status, tt.tokenStatus)
			}
			if status != 200 {
				return
			}
			// 404: allowed in, the blob is just missing; 401: refused.
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodHead,
				reg.URL+"/v2/"+tt.repo+"/blobs/sha256:"+strings.Repeat("a", 64), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.headStatus {
				t.Errorf("registry answered %d, want %d", resp.StatusCode, tt.headStatus)
			}
		})
	}
}

type credentials struct {
	ImageName string `json:"image-name"`
	Username  string `json:"username"`
	Password  string `json:"password"`
}

func uploadCredentials(t *testing.T, s *charmhubtest.Server, charm, resource string) credentials {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet,
		s.APIURL()+"/v1/charm/"+charm+"/resources/"+resource+"/oci-image/upload-credentials", nil)
	req.Header.Set("Authorization", "Macaroon alice-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c credentials
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != 200 {
		t.Fatalf("upload credentials: %d, %v", resp.StatusCode, err)
	}
	return c
}

func registryToken(t *testing.T, s *charmhubtest.Server, user, password, scope string) (string, int) {
	t.Helper()
	q := url.Values{"service": {s.TokenIssuer().Service}, "scope": {scope}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.RegistryTokenURL()+"?"+q.Encode(), nil)
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode == 200 && (body.Token == "" || body.Token != body.AccessToken || body.ExpiresIn != 300) {
		t.Errorf("token answer %+v", body)
	}
	return body.Token, resp.StatusCode
}
