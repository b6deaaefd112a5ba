package imagepush

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/ocitest"
)

// FuzzOpenArchive reads any file as an OCI archive, as far as a push
// plans: it never panics, and a plan it makes only pushes blobs the
// archive holds.
func FuzzOpenArchive(f *testing.F) {
	for _, spec := range []ocitest.Spec{
		{Images: []ocitest.Image{{Platform: "linux/amd64", Layers: []int64{100, 10}, RefName: "1.0"}}},
		{Index: true, Images: []ocitest.Image{{Platform: "linux/amd64", Layers: []int64{50}}, {Platform: "linux/arm64", Layers: []int64{50}}}},
		{Images: []ocitest.Image{{Platform: "linux/amd64", Layers: []int64{50}}, {Platform: "linux/arm/v7", Layers: []int64{50}}}},
	} {
		file := filepath.Join(f.TempDir(), "seed.rock")
		if _, err := ocitest.WriteArchive(file, spec); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("not a tar"))
	// One file, written again for each input: a directory made and removed
	// for each would cost most of the time. Each fuzzing process runs its
	// inputs one at a time, in a directory of its own.
	file := filepath.Join(f.TempDir(), "x.rock")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		src, err := openArchive(Archive{Path: file})
		if err != nil {
			return
		}
		defer func() { _ = src.close() }()
		c, err := src.content(t.Context())
		if err != nil {
			return
		}
		pl, err := src.plan(c, nil)
		if err != nil {
			return
		}
		for _, d := range pl.blobs {
			if !c.has(d) {
				t.Fatalf("the plan pushes blob %s, which the archive lacks", d)
			}
		}
		if len(pl.manifests) == 0 {
			t.Fatal("a plan without a manifest")
		}
	})
}
