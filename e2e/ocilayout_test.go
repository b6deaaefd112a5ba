package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// OCI media types the test layouts use.
const (
	ociIndexType    = "application/vnd.oci.image.index.v1+json"
	ociManifestType = "application/vnd.oci.image.manifest.v1+json"
	ociConfigType   = "application/vnd.oci.image.config.v1+json"
	ociLayerType    = "application/vnd.oci.image.layer.v1.tar+gzip"
	inTotoType      = "application/vnd.in-toto+json"
)

// ociDesc is an OCI content descriptor.
type ociDesc struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *ociPlatform      `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type ociPlatform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

// ociLayout is an OCI image layout being written: its blobs by digest.
type ociLayout struct {
	blobs map[string][]byte
	order []string // digests, in the order added
}

func newOCILayout() *ociLayout { return &ociLayout{blobs: map[string][]byte{}} }

// add stores b as a blob and returns its descriptor.
func (l *ociLayout) add(mediaType string, b []byte) ociDesc {
	d := fmt.Sprintf("sha256:%x", sha256.Sum256(b))
	if _, ok := l.blobs[d]; !ok {
		l.blobs[d] = b
		l.order = append(l.order, d)
	}
	return ociDesc{MediaType: mediaType, Digest: d, Size: int64(len(b))}
}

func (l *ociLayout) addJSON(mediaType string, v any) ociDesc {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return l.add(mediaType, b)
}

// platformImage adds an image for arch: a config and one gzip layer of
// size random bytes (seeded, so the same arguments give the same image),
// and returns its manifest's descriptor, with the platform.
func (l *ociLayout) platformImage(arch string, seed uint64, size int) ociDesc {
	rng := rand.New(rand.NewPCG(seed, uint64(len(arch))))
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	var layerTar bytes.Buffer
	tw := tar.NewWriter(&layerTar)
	mtime := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_ = tw.WriteHeader(&tar.Header{Name: "payload-" + arch, Mode: 0o644, Size: int64(size), ModTime: mtime, Typeflag: tar.TypeReg})
	_, _ = tw.Write(data)
	_ = tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(layerTar.Bytes())
	_ = zw.Close()
	layer := l.add(ociLayerType, gz.Bytes())
	cfg := l.addJSON(ociConfigType, map[string]any{
		"architecture": arch, "os": "linux",
		"config": map[string]any{"Cmd": []string{"/payload-" + arch}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{fmt.Sprintf("sha256:%x", sha256.Sum256(layerTar.Bytes()))}},
	})
	m := l.addJSON(ociManifestType, map[string]any{
		"schemaVersion": 2, "mediaType": ociManifestType, "config": cfg, "layers": []ociDesc{layer},
	})
	m.Platform = &ociPlatform{Architecture: arch, OS: "linux"}
	return m
}

// attestation adds a buildx-style attestation manifest for the image
// manifest of, as buildx writes it into an index: platform unknown/unknown,
// annotated with the manifest it is about.
func (l *ociLayout) attestation(of ociDesc) ociDesc {
	stmt := l.add(inTotoType, []byte(`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2","subject":[{"name":"e2e","digest":{"sha256":"`+strings.TrimPrefix(of.Digest, "sha256:")+`"}}],"predicate":{}}`))
	stmt.Annotations = map[string]string{"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"}
	cfg := l.addJSON(ociConfigType, map[string]any{
		"architecture": "unknown", "os": "unknown", "config": map[string]any{},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{stmt.Digest}},
	})
	m := l.addJSON(ociManifestType, map[string]any{
		"schemaVersion": 2, "mediaType": ociManifestType, "config": cfg, "layers": []ociDesc{stmt},
	})
	m.Platform = &ociPlatform{Architecture: "unknown", OS: "unknown"}
	m.Annotations = map[string]string{
		"vnd.docker.reference.digest": of.Digest,
		"vnd.docker.reference.type":   "attestation-manifest",
	}
	return m
}

// index adds an image index of manifests.
func (l *ociLayout) index(manifests ...ociDesc) ociDesc {
	return l.addJSON(ociIndexType, map[string]any{"schemaVersion": 2, "mediaType": ociIndexType, "manifests": manifests})
}

// tarball writes the layout to a tar file whose index.json names top as
// image name:tag, with every blob but those in omit.
func (l *ociLayout) tarball(t *testing.T, top ociDesc, name string, omit ...string) string {
	t.Helper()
	_, tag, _ := strings.Cut(name, ":")
	return l.tarballNamed(t, top, map[string]string{"io.containerd.image.name": "docker.io/library/" + name, "org.opencontainers.image.ref.name": tag}, omit...)
}

// tarballNamed writes the layout to a tar file whose index.json names top
// by the annotations names, with every blob but those in omit.
func (l *ociLayout) tarballNamed(t *testing.T, top ociDesc, names map[string]string, omit ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "layout.tar")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	file := func(name string, b []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	top.Annotations = names
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ociIndexType, "manifests": []ociDesc{top}})
	file("index.json", idx)
	for _, d := range l.order {
		if !slices.Contains(omit, d) {
			file("blobs/sha256/"+strings.TrimPrefix(d, "sha256:"), l.blobs[d])
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// blobsOf is the digests of m's manifest, config and layers.
func (l *ociLayout) blobsOf(m ociDesc) []string {
	var doc struct {
		Config ociDesc   `json:"config"`
		Layers []ociDesc `json:"layers"`
	}
	if err := json.Unmarshal(l.blobs[m.Digest], &doc); err != nil {
		panic(err)
	}
	out := []string{m.Digest, doc.Config.Digest}
	for _, x := range doc.Layers {
		out = append(out, x.Digest)
	}
	return out
}

// dockerLoad loads the layout tar into the daemon and removes name when
// the test ends.
func dockerLoad(t *testing.T, path, name string) {
	t.Helper()
	out, err := exec.Command("docker", "load", "-i", path).CombinedOutput()
	if err != nil {
		t.Fatalf("docker load: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", name).Run() })
}

// imageID is the ID the daemon gives the image name.
func imageID(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("docker", "image", "inspect", "--format", "{{.ID}}", name).Output()
	if err != nil {
		t.Fatalf("docker image inspect %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// dockerOutput runs the docker CLI of the tests (not the plugin's config)
// and returns its stdout.
func dockerOutput(args ...string) ([]byte, error) {
	return exec.Command("docker", args...).Output()
}
