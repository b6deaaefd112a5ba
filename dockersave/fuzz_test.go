package dockersave

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
)

var updateSeeds = flag.Bool("update-fuzz-seeds", false, "rewrite testdata/fuzz/FuzzBuild from the layouts")

// FuzzBuild feeds Build arbitrary bytes: it may fail, never panic or hang.
// Its seeds, in testdata/fuzz/FuzzBuild, are small saves of each layout.
func FuzzBuild(f *testing.F) {
	f.Fuzz(func(t *testing.T, save []byte) {
		res, err := Build(t.Context(), bytes.NewReader(save), newMemStore())
		if err == nil && res.Digest != digest.FromBytes(res.Manifest) {
			t.Errorf("digest %s of manifest %s", res.Digest, res.Manifest)
		}
	})
}

// TestFuzzSeeds checks the committed seeds are what the layouts give,
// and rewrites them with -update-fuzz-seeds.
func TestFuzzSeeds(t *testing.T) {
	text := tarOf(t, []file{{name: "etc/motd", body: textBytes(1, 300)}})
	random := tarOf(t, []file{{name: "bin/x", body: randomBytes(1, 200)}})
	empty := emptyLayer(t)
	legacy, files := legacyWith([][]byte{random, text, empty}, digests([][]byte{random, text, empty}))
	legacy.save = tarOf(t, files)
	seeds := map[string][]byte{
		"legacy":   legacy.save,
		"docker25": docker25With(t, text, random, empty).save,
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzBuild")
	for name, save := range seeds {
		if _, err := Build(t.Context(), bytes.NewReader(save), newMemStore()); err != nil {
			t.Errorf("seed %s: %v", name, err)
		}
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", save)
		p := filepath.Join(dir, name)
		if *updateSeeds {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(want), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := os.ReadFile(p); err != nil || string(got) != want { //nolint:gosec // a seed file of this package
			t.Errorf("seed %s is stale (err %v): run go test -run TestFuzzSeeds -update-fuzz-seeds", p, err)
		}
	}
}
