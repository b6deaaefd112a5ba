package charmhub_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
)

func TestUploadFileResource(t *testing.T) {
	tests := []struct {
		name    string
		content []byte
		bases   []charmhub.Base
	}{
		{name: "small file", content: []byte("hello charmhub\n")},
		{name: "empty file", content: []byte{}},
		{name: "one MiB", content: bytes.Repeat([]byte{0, 1, 2, 254, 255}, 1<<18)},
		{name: "with bases", content: []byte("x"), bases: []charmhub.Base{
			{Name: "ubuntu", Channel: "22.04", Architectures: []string{"amd64", "arm64"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t)
			c := newClient(t, s, aliceToken)
			var sent int64
			src := &opener{content: tt.content}
			id, err := c.Upload(t.Context(), "/some/dir/data.bin", int64(len(tt.content)), src.open, func(n int64) { sent = n })
			if err != nil {
				t.Fatal(err)
			}
			if sent != int64(len(tt.content)) {
				t.Errorf("progress reported %d bytes, want %d", sent, len(tt.content))
			}
			checkUpload(t, s, id, tt.content)
			rev := createAndWait(t, c, "data", charmhub.RevisionRequest{UploadID: id, Type: charmhub.TypeFile, Bases: tt.bases})
			if rev != 1 {
				t.Errorf("revision = %d, want 1", rev)
			}
			stored := s.Revisions("my-charm", "data")
			if len(stored) != 1 || !bytes.Equal(stored[0].Content, tt.content) || stored[0].SHA256 != sha256hex(tt.content) {
				t.Fatalf("stored revisions = %+v", stored)
			}
			wantBases := tt.bases
			if wantBases == nil {
				wantBases = charmhub.AllBases()
			}
			if got := stored[0].Bases; len(got) != len(wantBases) || got[0].Name != wantBases[0].Name ||
				!slices.Equal(got[0].Architectures, wantBases[0].Architectures) {
				t.Errorf("stored bases = %+v, want %+v", got, wantBases)
			}
		})
	}
}

// checkUpload checks what storage received: the content, as one part
// named binary with the base name, and a Content-Length (not chunked).
func checkUpload(t *testing.T, s *charmhubtest.Server, id string, content []byte) {
	t.Helper()
	for _, up := range s.Uploads() {
		if up.ID != id {
			continue
		}
		if !bytes.Equal(up.Content, content) || up.SHA256 != sha256hex(content) {
			t.Errorf("storage received %d bytes (sha256 %s), want %d", up.Size, up.SHA256, len(content))
		}
		if up.Filename != "data.bin" || up.PartContentType != "application/octet-stream" {
			t.Errorf("part filename %q, type %q", up.Filename, up.PartContentType)
		}
		if up.ContentLength < int64(len(content)) {
			t.Errorf("request Content-Length = %d: sent chunked or too short", up.ContentLength)
		}
		return
	}
	t.Fatalf("storage has no upload %q", id)
}

func createAndWait(t *testing.T, c *charmhub.Client, resource string, req charmhub.RevisionRequest) int {
	t.Helper()
	statusURL, err := c.CreateRevision(t.Context(), "my-charm", resource, req)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.WaitForRevision(t.Context(), statusURL)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != charmhub.StatusApproved {
		t.Fatalf("review status = %+v", st)
	}
	return st.Revision
}

func sha256hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestListResourcesAndRevisions(t *testing.T) {
	s := startServer(t)
	c := newClient(t, s, bobToken) // a collaborator may do it all
	for _, content := range []string{"first", "second revision"} {
		id := upload(t, c, "data.bin", []byte(content))
		createAndWait(t, c, "data", charmhub.RevisionRequest{UploadID: id, Type: charmhub.TypeFile})
	}
	resources, err := c.ListResources(t.Context(), "my-charm")
	if err != nil {
		t.Fatal(err)
	}
	want := []charmhub.Resource{
		{Name: "data", Revision: 2, Type: "file"},
		{Name: "image", Type: "oci-image"},
		{Name: "extra", Optional: true, Type: "file"},
	}
	if !slices.Equal(resources, want) {
		t.Errorf("resources = %+v, want %+v", resources, want)
	}
	revs, err := c.ListResourceRevisions(t.Context(), "my-charm", "data")
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 2 || revs[0].Revision != 2 || revs[1].Revision != 1 {
		t.Fatalf("revisions = %+v, want 2 then 1", revs)
	}
	r := revs[0]
	if r.Size != int64(len("second revision")) || r.SHA256 != sha256hex([]byte("second revision")) ||
		r.Type != "file" || r.CreatedAt.IsZero() || len(r.Bases) != 1 || r.Bases[0].Name != "all" {
		t.Errorf("newest revision = %+v", r)
	}
}
