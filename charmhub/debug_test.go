package charmhub_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
	"github.com/canonical/docker-charmcraft/internal/transport"
)

func TestDebugRedactsSecrets(t *testing.T) {
	s := startServer(t)
	s.Fail(charmhubtest.Fault{Path: "/api/v1/tokens/whoami", Status: 503, Times: 1})
	var log bytes.Buffer
	c := newClient(t, s, aliceToken, charmhub.WithDebug(&log))
	if _, err := c.Whoami(t.Context()); err != nil {
		t.Fatal(err)
	}
	creds, err := c.UploadCredentials(t.Context(), "my-charm", "image")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uploadAndWait(t, c); err != nil {
		t.Fatal(err)
	}
	out := log.String()
	for _, secret := range []string{aliceToken, creds.Password} {
		if strings.Contains(out, secret) {
			t.Errorf("debug log holds a secret:\n%s", out)
		}
	}
	for _, want := range []string{"--> GET " + s.APIURL() + "/v1/tokens/whoami", "Authorization: REDACTED",
		"503 Service Unavailable", "retrying GET /api/v1/tokens/whoami", "200 OK",
		"--> POST " + s.StorageURL() + "/unscanned-upload/", "Content-Length: "} {
		if !strings.Contains(out, want) {
			t.Errorf("debug log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "upload-id=") {
		t.Errorf("debug log holds a query:\n%s", out)
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if strings.Contains(fmt.Sprintf(f, creds), creds.Password) || strings.Contains(fmt.Sprintf(f, *creds), creds.Password) {
			t.Errorf("printing credentials with %s shows the password", f)
		}
	}
}

func TestTransportErrorHidesQuery(t *testing.T) {
	s := startServer(t)
	c := newClient(t, s, aliceToken, charmhub.WithRetryPolicy(transport.Policy{Attempts: 1}))
	s.Close()
	_, err := c.WaitForRevision(t.Context(), "/v1/charm/my-charm/resources/data/revisions/review?upload-id=SECRETISH")
	if err == nil || strings.Contains(err.Error(), "SECRETISH") || strings.Contains(err.Error(), aliceToken) {
		t.Fatalf("error %v", err)
	}
}
