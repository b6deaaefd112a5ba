package charmhubtest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
)

func newServer(t *testing.T) *charmhubtest.Server {
	t.Helper()
	s := charmhubtest.NewServer()
	t.Cleanup(s.Close)
	s.AddAccount("alice", "alice-token")
	s.AddAccount("mallory", "mallory-token")
	s.AddCharm(charmhubtest.Charm{Name: "my-charm", ID: "id-1", Owner: "alice",
		Resources: []charmhubtest.ResourceSpec{{Name: "image", Type: charmhub.TypeOCIImage}}})
	s.AddCharm(charmhubtest.Charm{Name: "other-charm", ID: "id-2", Owner: "mallory",
		Resources: []charmhubtest.ResourceSpec{{Name: "image", Type: charmhub.TypeOCIImage}}})
	return s
}

// send makes a request and returns the status and the first error code.
func send(t *testing.T, method, url, auth string, contentType string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		List []charmhubtest.ErrorItem `json:"error-list"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&e)
	if len(e.List) > 0 {
		return resp.StatusCode, e.List[0].Code
	}
	return resp.StatusCode, ""
}

// form is a multipart body with one file part.
func form(t *testing.T, part string) (string, io.Reader) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile(part, "f.txt")
	_, _ = w.Write([]byte("data"))
	_ = mw.Close()
	return mw.FormDataContentType(), &buf
}

func TestServerRefusesPathAndFormMistakes(t *testing.T) {
	s := newServer(t)
	const alice = "Macaroon alice-token"
	upload, api := s.StorageURL()+"/unscanned-upload/", s.APIURL()+"/v1/charm/my-charm/resources/image"
	tests := []struct {
		name, method, url, auth string
		part, body              string // a multipart form with that part name, or a JSON body
		status                  int
		code                    string
	}{
		{name: "upload", method: "POST", url: upload, auth: alice, part: "binary", status: 200},
		{name: "upload without trailing slash", method: "POST", url: strings.TrimSuffix(upload, "/"), auth: alice, part: "binary", status: 404, code: "not-found"},
		{name: "upload at the root", method: "POST", url: s.URL() + "/unscanned-upload/", auth: alice, part: "binary", status: 404, code: "not-found"},
		{name: "upload without Macaroon", method: "POST", url: upload, auth: "Bearer alice-token", part: "binary", status: 401, code: "invalid-credentials"},
		{name: "upload with another part name", method: "POST", url: upload, auth: alice, part: "file", status: 400, code: "invalid-request"},
		{name: "upload that is not a form", method: "POST", url: upload, auth: alice, body: "{}", status: 400, code: "invalid-request"},
		{name: "API without its base path", method: "GET", url: s.URL() + "/v1/tokens/whoami", auth: alice, status: 404, code: "not-found"},
		{name: "whoami", method: "GET", url: s.APIURL() + "/v1/tokens/whoami", auth: alice, status: 200},
		{name: "revision with bad JSON", method: "POST", url: api + "/revisions", auth: alice, body: "{not json", status: 400, code: "invalid-json"},
		{name: "revision without upload id", method: "POST", url: api + "/revisions", auth: alice, body: `{"type": "oci-image"}`, status: 400, code: "missing-field"},
		{name: "review of an unknown upload", method: "GET", url: api + "/revisions/review?upload-id=nope", auth: alice, status: 404, code: "not-found"},
		{name: "blob with a bad digest", method: "POST", url: api + "/oci-image/blob", auth: alice, body: `{"image-digest": "sha256:abc"}`, status: 400, code: "invalid-digest"},
		{name: "blob of another's charm", method: "POST", url: s.APIURL() + "/v1/charm/other-charm/resources/image/oci-image/blob", auth: alice, body: "{}", status: 403, code: "permission-required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tt.body)
			ct := "application/json"
			if tt.part != "" {
				ct, body = form(t, tt.part)
			}
			status, code := send(t, tt.method, tt.url, tt.auth, ct, body)
			if status != tt.status || code != tt.code {
				t.Errorf("got %d %q, want %d %q", status, code, tt.status, tt.code)
			}
		})
	}
	if n := len(s.Uploads()); n != 1 {
		t.Errorf("%d uploads stored, want 1", n)
	}
}

// TestUpdateRevisionsRefusals checks the refusals of the PATCH that sets
// the architectures of revisions, for what a client may send.
func TestUpdateRevisionsRefusals(t *testing.T) {
	s := newServer(t)
	url := s.APIURL() + "/v1/charm/my-charm/resources/image/revisions"
	update := `{"resource-revision-updates": [{"revision": 1, "bases": [{"name": "all", "channel": "all", "architectures": ["amd64"]}]}]}`
	tests := []struct {
		name, url, auth, body string
		status                int
		code                  string
	}{
		{"no credentials", url, "", update, http.StatusUnauthorized, "invalid-credentials"},
		{"no rights", url, "Macaroon mallory-token", update, http.StatusForbidden, "permission-required"},
		{"unknown charm", strings.Replace(url, "my-charm", "nope", 1), "Macaroon alice-token", update, http.StatusNotFound, "not-found"},
		{"unknown resource", strings.Replace(url, "/image/", "/nope/", 1), "Macaroon alice-token", update, http.StatusNotFound, "not-found"},
		{"no such revision", url, "Macaroon alice-token", update, http.StatusNotFound, "not-found"},
		{"no updates", url, "Macaroon alice-token", `{"resource-revision-updates": []}`, http.StatusBadRequest, "missing-field"},
		{"no bases", url, "Macaroon alice-token", `{"resource-revision-updates": [{"revision": 1}]}`, http.StatusBadRequest, "missing-field"},
		{"not JSON", url, "Macaroon alice-token", `{`, http.StatusBadRequest, "invalid-json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code := send(t, http.MethodPatch, tt.url, tt.auth, "application/json", strings.NewReader(tt.body))
			if status != tt.status || code != tt.code {
				t.Errorf("got %d %s, want %d %s", status, code, tt.status, tt.code)
			}
		})
	}
}
