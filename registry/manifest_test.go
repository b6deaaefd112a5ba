package registry_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/opencontainers/go-digest"
)

// schema2 is a Docker v2 schema 2 manifest of a config and layers.
func schema2(t *testing.T, config []byte, layers ...[]byte) []byte {
	t.Helper()
	type desc struct {
		MediaType string        `json:"mediaType"`
		Size      int           `json:"size"`
		Digest    digest.Digest `json:"digest"`
	}
	m := struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Config        desc   `json:"config"`
		Layers        []desc `json:"layers"`
	}{
		SchemaVersion: 2,
		MediaType:     mediatype.DockerManifest,
		Config:        desc{"application/vnd.docker.container.image.v1+json", len(config), digest.FromBytes(config)},
	}
	for _, l := range layers {
		m.Layers = append(m.Layers, desc{"application/vnd.docker.image.rootfs.diff.tar.gzip", len(l), digest.FromBytes(l)})
	}
	b, err := json.MarshalIndent(m, "", "   ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestManifest(t *testing.T) {
	env := newEnv(t, envConfig{})
	c := env.client(t)
	ctx := t.Context()

	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	if err := c.PushBlob(ctx, bytes.NewReader(config), int64(len(config)), digest.FromBytes(config)); err != nil {
		t.Fatal(err)
	}
	layer1, _ := pushRandom(t, c, 2<<20)
	layer2 := bytes.Repeat([]byte("layer two "), 1000)
	if _, err := c.PushBlobStream(ctx, bytes.NewReader(layer2), nil); err != nil {
		t.Fatal(err)
	}
	manifest := schema2(t, config, layer1, layer2)

	d, err := c.PushManifest(ctx, mediatype.DockerManifest, manifest)
	if err != nil {
		t.Fatalf("PushManifest: %v", err)
	}
	if d != digest.FromBytes(manifest) {
		t.Errorf("PushManifest = %s, want %s", d, digest.FromBytes(manifest))
	}
	if ok, err := c.ManifestExists(ctx, d); err != nil || !ok {
		t.Errorf("ManifestExists = %v, %v; want true", ok, err)
	}
	_, absent := randomBlob(t, 8)
	if ok, err := c.ManifestExists(ctx, absent); err != nil || ok {
		t.Errorf("ManifestExists(absent) = %v, %v; want false", ok, err)
	}

	tests := []struct {
		ref     string
		wantErr error
	}{
		{ref: d.String()},
		{ref: absent.String(), wantErr: registry.ErrNotFound},
		{ref: "latest", wantErr: registry.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			mt, body, err := c.GetManifest(ctx, tt.ref)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("GetManifest = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetManifest: %v", err)
			}
			if mt != mediatype.DockerManifest || !bytes.Equal(body, manifest) {
				t.Errorf("GetManifest = %q, %q; want %q, %q", mt, body, mediatype.DockerManifest, manifest)
			}
		})
	}
}

// TestTagManifest: a manifest pushed under a tag is read back by it, and
// the tag moves to the next manifest pushed under it.
func TestTagManifest(t *testing.T) {
	env := newEnv(t, envConfig{})
	c := env.client(t)
	ctx := t.Context()
	var manifests [][]byte
	for _, cfg := range []string{`{"n":1}`, `{"n":2}`} {
		if err := c.PushBlob(ctx, strings.NewReader(cfg), int64(len(cfg)), digest.FromString(cfg)); err != nil {
			t.Fatal(err)
		}
		manifests = append(manifests, schema2(t, []byte(cfg)))
	}
	for _, m := range manifests {
		d, err := c.TagManifest(ctx, "record-1", mediatype.DockerManifest, m)
		if err != nil || d != digest.FromBytes(m) {
			t.Fatalf("TagManifest = %s, %v; want %s", d, err, digest.FromBytes(m))
		}
		mt, body, err := c.GetManifest(ctx, "record-1")
		if err != nil || mt != mediatype.DockerManifest || !bytes.Equal(body, m) {
			t.Fatalf("GetManifest(tag) = %q, %q, %v; want %q", mt, body, err, m)
		}
		if ok, err := c.ManifestExists(ctx, d); err != nil || !ok {
			t.Errorf("ManifestExists(%s) = %v, %v; want true", d, ok, err)
		}
	}
}

// TestManifestMissingBlob checks the registry's refusal of a manifest
// naming blobs it lacks comes back as an *Error with its codes.
func TestManifestMissingBlob(t *testing.T) {
	env := newEnv(t, envConfig{})
	c := env.client(t)
	manifest := schema2(t, []byte("{}"), []byte("not pushed"))
	_, err := c.PushManifest(t.Context(), mediatype.DockerManifest, manifest)
	var rerr *registry.Error
	if !errors.As(err, &rerr) || rerr.StatusCode != 400 || len(rerr.Errors) == 0 {
		t.Fatalf("PushManifest = %v, want a 400 *registry.Error with codes", err)
	}
	if rerr.Errors[0].Code != "MANIFEST_BLOB_UNKNOWN" {
		t.Errorf("code %q, want MANIFEST_BLOB_UNKNOWN", rerr.Errors[0].Code)
	}
	t.Log(err)
}

func TestInvalidArguments(t *testing.T) {
	env := newEnv(t, envConfig{})
	c := env.client(t)
	ctx := t.Context()
	bad := digest.Digest("sha256:nothex")
	calls := map[string]func() error{
		"BlobExists":         func() error { _, err := c.BlobExists(ctx, bad); return err },
		"ManifestExists":     func() error { _, err := c.ManifestExists(ctx, bad); return err },
		"GetBlob":            func() error { _, err := c.GetBlob(ctx, bad); return err },
		"PushBlob":           func() error { return c.PushBlob(ctx, bytes.NewReader(nil), 0, bad) },
		"GetManifest digest": func() error { _, _, err := c.GetManifest(ctx, string(bad)); return err },
		"GetManifest tag":    func() error { _, _, err := c.GetManifest(ctx, "../x"); return err },
		"PushManifest":       func() error { _, err := c.PushManifest(ctx, "", []byte("{}")); return err },
		"TagManifest":        func() error { _, err := c.TagManifest(ctx, "-x", mediatype.DockerManifest, []byte("{}")); return err },
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if n := env.tokens.hits.Load(); n != 0 {
		t.Errorf("%d token requests for invalid arguments, want none", n)
	}
	for _, tt := range []struct{ url, repo string }{
		{"registry.example", testRepo},
		{"ftp://registry.example", testRepo},
		{"https://user:pw@registry.example", testRepo},
		{"ftp://user:pw@registry.example", testRepo},
		{"https://user:pw@registry.example/%zz", testRepo},
		{"https://registry.example", "Charm/Upper"},
		{"https://registry.example", "charm//x"},
		{"https://registry.example", ""},
	} {
		if _, err := registry.New(tt.url, tt.repo); err == nil {
			t.Errorf("New(%q, %q): no error", tt.url, tt.repo)
		} else if strings.Contains(err.Error(), "pw@") {
			t.Errorf("New(%q): error shows the password: %v", tt.url, err)
		}
	}
}
