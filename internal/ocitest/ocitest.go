// Package ocitest writes OCI archives and layout directories, as
// rockcraft packs them, for tests and benchmarks: images of layers of
// random bytes, generated from a seed as they are written, so that an
// archive of any size takes no memory.
package ocitest

import (
	"archive/tar"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
)

// Image is one image: its platform and the sizes of its layers.
type Image struct {
	// Platform is os/arch[/variant].
	Platform string
	// Layers are the layer sizes, in bytes.
	Layers []int64
	// Seed varies the layers' content: images of the same seed, platform
	// and sizes are the same.
	Seed uint64
	// RefName is the org.opencontainers.image.ref.name of its entry in
	// index.json, as rockcraft sets it; "" for none.
	RefName string
}

// Spec is what an archive holds.
type Spec struct {
	// Images are listed in index.json, each alone; with Index, in one
	// image index, which index.json lists.
	Images []Image
	Index  bool
	// Corrupt flips a byte of the last layer of the first image, once
	// its digest is known: the archive is damaged.
	Corrupt bool
}

// Written is what was written.
type Written struct {
	// Top is what index.json lists: the image index, or each image's
	// manifest.
	Top []digest.Digest
	// Manifests are the images' manifests, in the order of Spec.Images.
	Manifests []digest.Digest
	// Layers are the layers of each image.
	Layers [][]digest.Digest
	// Corrupted is the layer damaged, when Spec.Corrupt.
	Corrupted digest.Digest
}

// blob is one blob: JSON held whole, or a layer generated on the fly.
type blob struct {
	d       digest.Digest
	raw     []byte
	size    int64
	seed    uint64
	corrupt bool
}

func (b blob) reader() io.Reader {
	if b.raw != nil {
		return strings.NewReader(string(b.raw))
	}
	r := io.LimitReader(&randReader{rand.NewChaCha8(seedBytes(b.seed))}, b.size)
	if b.corrupt {
		return &flipFirst{r: r}
	}
	return r
}

func seedBytes(seed uint64) [32]byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return s
}

// flipFirst flips the bits of r's first byte.
type flipFirst struct {
	r       io.Reader
	flipped bool
}

func (f *flipFirst) Read(b []byte) (int, error) {
	n, err := f.r.Read(b)
	if n > 0 && !f.flipped {
		b[0] ^= 0xff
		f.flipped = true
	}
	return n, err
}

type randReader struct{ c *rand.ChaCha8 }

func (r *randReader) Read(b []byte) (int, error) { return r.c.Read(b) }

// plan lays the blobs out, digests known, and index.json.
func plan(spec Spec) ([]blob, []byte, Written, error) {
	var blobs []blob
	var w Written
	add := func(b blob) {
		for _, x := range blobs {
			if x.d == b.d {
				return
			}
		}
		blobs = append(blobs, b)
	}
	jsonBlob := func(v any) (blob, error) {
		raw, err := json.Marshal(v)
		return blob{d: digest.FromBytes(raw), raw: raw, size: int64(len(raw))}, err
	}
	type desc struct {
		MediaType   string            `json:"mediaType"`
		Digest      digest.Digest     `json:"digest"`
		Size        int64             `json:"size"`
		Platform    map[string]string `json:"platform,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
	}
	var entries []desc
	for i, img := range spec.Images {
		parts := strings.Split(img.Platform, "/")
		if len(parts) < 2 {
			return nil, nil, w, fmt.Errorf("platform %q: give os/arch", img.Platform)
		}
		platform := map[string]string{"os": parts[0], "architecture": parts[1]}
		if len(parts) > 2 {
			platform["variant"] = parts[2]
		}
		var layers []desc
		var diffIDs []string
		var ds []digest.Digest
		for j, size := range img.Layers {
			seed := img.Seed*1000003 + uint64(j)*7919 + uint64(len(img.Platform))
			b := blob{size: size, seed: seed}
			h := digest.SHA256.Digester()
			if _, err := io.Copy(h.Hash(), b.reader()); err != nil {
				return nil, nil, w, err
			}
			b.d = h.Digest()
			if spec.Corrupt && i == 0 && j == len(img.Layers)-1 {
				b.corrupt = true
				w.Corrupted = b.d
			}
			add(b)
			ds = append(ds, b.d)
			layers = append(layers, desc{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: b.d, Size: size})
			diffIDs = append(diffIDs, b.d.String())
		}
		cfg := map[string]any{"os": platform["os"], "architecture": platform["architecture"],
			"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}, "config": map[string]any{}}
		if v := platform["variant"]; v != "" {
			cfg["variant"] = v
		}
		cb, err := jsonBlob(cfg)
		if err != nil {
			return nil, nil, w, err
		}
		add(cb)
		mb, err := jsonBlob(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
			"config": desc{MediaType: "application/vnd.oci.image.config.v1+json", Digest: cb.d, Size: cb.size}, "layers": layers})
		if err != nil {
			return nil, nil, w, err
		}
		add(mb)
		w.Manifests = append(w.Manifests, mb.d)
		w.Layers = append(w.Layers, ds)
		e := desc{MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: mb.d, Size: mb.size}
		if spec.Index {
			e.Platform = platform
		}
		if img.RefName != "" {
			e.Annotations = map[string]string{"org.opencontainers.image.ref.name": img.RefName}
		}
		entries = append(entries, e)
	}
	if spec.Index {
		ib, err := jsonBlob(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries})
		if err != nil {
			return nil, nil, w, err
		}
		add(ib)
		entries = []desc{{MediaType: "application/vnd.oci.image.index.v1+json", Digest: ib.d, Size: ib.size}}
	}
	for _, e := range entries {
		w.Top = append(w.Top, e.Digest)
	}
	index, err := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries})
	return blobs, index, w, err
}

const layoutFile = `{"imageLayoutVersion":"1.0.0"}`

// WriteArchive writes the OCI archive of spec to file, as rockcraft
// does: oci-layout, the blobs, then index.json.
func WriteArchive(file string, spec Spec) (Written, error) {
	blobs, index, w, err := plan(spec)
	if err != nil {
		return w, err
	}
	f, err := os.Create(file)
	if err != nil {
		return w, err
	}
	tw := tar.NewWriter(f)
	put := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	}
	err = put("oci-layout", int64(len(layoutFile)), strings.NewReader(layoutFile))
	for _, b := range blobs {
		if err == nil {
			err = put("blobs/sha256/"+b.d.Encoded(), b.size, b.reader())
		}
	}
	if err == nil {
		err = put("index.json", int64(len(index)), strings.NewReader(string(index)))
	}
	if err == nil {
		err = tw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return w, err
}

// WriteLayout writes the OCI layout of spec into dir.
func WriteLayout(dir string, spec Spec) (Written, error) {
	blobs, index, w, err := plan(spec)
	if err != nil {
		return w, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o750); err != nil {
		return w, err
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(layoutFile), 0o600); err != nil {
		return w, err
	}
	for _, b := range blobs {
		f, err := os.Create(filepath.Join(dir, "blobs", "sha256", b.d.Encoded()))
		if err != nil {
			return w, err
		}
		_, err = io.Copy(f, b.reader())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return w, err
		}
	}
	return w, os.WriteFile(filepath.Join(dir, "index.json"), index, 0o600)
}
