package e2e

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/registry/registrytest"
)

// pulled is what a registry holds for one image.
type pulled struct {
	mediaType string
	manifest  struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Config        struct {
			MediaType, Digest string
			Size              int64
		} `json:"config"`
		Layers []struct {
			MediaType, Digest string
			Size              int64
		} `json:"layers"`
	}
	config struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	configDigest string // sha256 of the config blob's bytes
}

// registryGet reads path from the world's registry with a pull token for
// repo, signed by the Charmhub test server's issuer.
func (w *world) registryGet(t *testing.T, repo, path string, accept ...string) *http.Response {
	t.Helper()
	tok, err := w.hub.TokenIssuer().Issue("e2e", []registrytest.Access{{Type: "repository", Name: repo, Actions: []string{"pull"}}}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, w.reg.URL+"/v2/"+repo+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	for _, a := range accept {
		req.Header.Add("Accept", a)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// pull fetches the manifest by digest and checks every blob: the config
// hashes to its digest, each layer to its digest and, gunzipped, to the
// config's diff ID.
func (w *world) pull(t *testing.T, repo, dgst string) *pulled {
	t.Helper()
	resp := w.registryGet(t, repo, "/manifests/"+dgst,
		"application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET manifest %s: %s", dgst, resp.Status)
	}
	var p pulled
	p.mediaType = resp.Header.Get("Content-Type")
	body, _ := io.ReadAll(resp.Body)
	if got := fmt.Sprintf("sha256:%x", sha256.Sum256(body)); got != dgst {
		t.Fatalf("manifest bytes hash to %s, want %s", got, dgst)
	}
	if err := json.Unmarshal(body, &p.manifest); err != nil {
		t.Fatal(err)
	}
	cfg := w.registryGet(t, repo, "/blobs/"+p.manifest.Config.Digest)
	cfgBytes, _ := io.ReadAll(cfg.Body)
	p.configDigest = fmt.Sprintf("sha256:%x", sha256.Sum256(cfgBytes))
	if err := json.Unmarshal(cfgBytes, &p.config); err != nil {
		t.Fatalf("config: %v", err)
	}
	if len(p.manifest.Layers) != len(p.config.RootFS.DiffIDs) {
		t.Fatalf("%d layers for %d diff IDs", len(p.manifest.Layers), len(p.config.RootFS.DiffIDs))
	}
	for i, l := range p.manifest.Layers {
		blob := w.registryGet(t, repo, "/blobs/"+l.Digest)
		compressed := sha256.New()
		zr, err := gzip.NewReader(io.TeeReader(blob.Body, compressed))
		if err != nil {
			t.Fatalf("layer %d is not gzip: %v", i, err)
		}
		plain := sha256.New()
		if _, err := io.Copy(plain, zr); err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
		_, _ = io.Copy(compressed, blob.Body)
		if got := fmt.Sprintf("sha256:%x", compressed.Sum(nil)); got != l.Digest {
			t.Errorf("layer %d hashes to %s, manifest says %s", i, got, l.Digest)
		}
		if got := fmt.Sprintf("sha256:%x", plain.Sum(nil)); got != p.config.RootFS.DiffIDs[i] {
			t.Errorf("layer %d gunzips to %s, config says %s", i, got, p.config.RootFS.DiffIDs[i])
		}
	}
	return &p
}

func registrytestStart() (*registrytest.Registry, error) {
	return registrytest.Start(registrytest.Config{})
}
