package charmhub_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/charmhub"
)

func TestOCIImageResource(t *testing.T) {
	s := startServer(t)
	s.SetRegistryHost("registry.test:5000")
	c := newClient(t, s, aliceToken)
	creds, err := c.UploadCredentials(t.Context(), "my-charm", "image")
	if err != nil {
		t.Fatal(err)
	}
	if creds.ImageName != "registry.test:5000/charm/id-my-charm/image" || creds.Username == "" || creds.Password == "" {
		t.Errorf("credentials %v", creds)
	}
	digest := "sha256:" + strings.Repeat("ab", 32)
	blob, err := c.ImageBlob(t.Context(), "my-charm", "image", digest)
	if err != nil {
		t.Fatal(err)
	}
	var named struct{ ImageName, Username, Password string }
	if err := json.Unmarshal(blob, &named); err != nil || named.ImageName != creds.ImageName+"@"+digest {
		t.Fatalf("blob %s: %v", blob, err)
	}
	id := upload(t, c, "image.json", blob)
	createAndWait(t, c, "image", charmhub.RevisionRequest{UploadID: id, Type: charmhub.TypeOCIImage})
	if revs := s.Revisions("my-charm", "image"); len(revs) != 1 || string(revs[0].Content) != string(blob) {
		t.Errorf("stored %+v, want the blob unchanged", revs)
	}
}

func TestOCIRefusals(t *testing.T) {
	s := startServer(t)
	c := newClient(t, s, aliceToken)
	_, err := c.UploadCredentials(t.Context(), "my-charm", "data")
	if apiErr, ok := errors.AsType[*charmhub.APIError](err); !ok || apiErr.StatusCode != 400 || apiErr.Errors[0].Code != "resource-not-oci-image" {
		t.Errorf("credentials of a file resource: %v", err)
	}
	if _, err := c.UploadCredentials(t.Context(), "other-charm", "image"); !errors.Is(err, charmhub.ErrPermission) {
		t.Errorf("credentials of another's charm: %v", err)
	}
	before := len(s.Requests())
	if _, err := c.ImageBlob(t.Context(), "my-charm", "image", "sha256:short"); err == nil || len(s.Requests()) != before {
		t.Errorf("a bad digest gave %v and was sent", err)
	}
}
