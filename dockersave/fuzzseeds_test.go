package dockersave

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// maxSeed bounds the seeds kept: larger inputs slow the fuzzer down more
// than they teach it.
const maxSeed = 64 << 10

// hostileSeeds are small hostile saves, one per way a stream can be
// wrong: the fuzzer starts from each.
func hostileSeeds(t *testing.T) map[string][]byte {
	text := tarOf(t, []file{{name: "etc/motd", body: textBytes(1, 300)}})
	random := tarOf(t, []file{{name: "bin/x", body: randomBytes(1, 200)}})
	empty := emptyLayer(t)
	layers := [][]byte{random, text, empty}
	legacy := func(diffIDs []digest.Digest, edit func([]file) []file) []byte {
		_, fs := legacyWith(layers, diffIDs)
		return tarOf(t, edit(fs))
	}
	same := func(fs []file) []file { return fs }
	good := legacy(digests(layers), same)
	wrongDiffID := digests(layers)
	wrongDiffID[1] = digest.FromString("another layer")
	seeds := map[string][]byte{
		"duplicate-manifest": legacy(digests(layers), func(fs []file) []file {
			return append(fs, file{name: "manifest.json", body: []byte("[]")})
		}),
		"missing-manifest": legacy(digests(layers), func(fs []file) []file {
			var out []file
			for _, f := range fs {
				if f.name != "manifest.json" {
					out = append(out, f)
				}
			}
			return out
		}),
		"fewer-diff-ids":        legacy(digests(layers[:2]), same),
		"layer-not-its-diff-id": legacy(wrongDiffID, same),
		"truncated-in-a-layer":  good[:bytes.Index(good, random)+100],
		"truncated-in-a-header": good[:700],
		"huge-size-header":      hugeSizeHeader(t),
		"huge-pax-header":       hugePAXHeader(t),
	}
	for _, tc := range hostiles {
		save, _ := tc.save(t)
		if len(save) <= maxSeed {
			seeds[slug(tc.name)] = save
		}
	}
	return seeds
}

// slug is name in lower case, with a dash for each run of other runes
// than letters and digits.
func slug(name string) string {
	f := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return (r < 'a' || r > 'z') && (r < '0' || r > '9') })
	return strings.Join(f, "-")
}

// hugeSizeHeader is a manifest.json whose header claims 1 TiB.
func hugeSizeHeader(t *testing.T) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "manifest.json", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1 << 40, Format: tar.FormatPAX}); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write([]byte(`[{"Config":"c.json","Layers":[]}]`))
	return buf.Bytes() // no end: the stream stops there
}

// hugePAXHeader is a PAX extended header claiming to be 1 GiB long.
func hugePAXHeader(t *testing.T) []byte {
	b := tarOf(t, []file{{name: "pax", body: []byte("30 path=" + strings.Repeat("a", 21) + "\n")}, {name: "x", body: []byte("x")}})
	b[156] = tar.TypeXHeader
	copy(b[124:136], fmt.Sprintf("%011o\x00", 1<<30))
	setChecksum(b)
	return b
}

// TestHostileFuzzSeeds checks each hostile seed in testdata/fuzz/FuzzBuild
// fails Build cleanly and is what hostileSeeds gives; it rewrites them
// with -update-fuzz-seeds.
func TestHostileFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzBuild")
	seeds := hostileSeeds(t)
	stored, _ := filepath.Glob(filepath.Join(dir, "hostile-*"))
	for _, p := range stored {
		if _, ok := seeds[strings.TrimPrefix(filepath.Base(p), "hostile-")]; !ok {
			t.Errorf("seed %s is no hostile case's: remove it", p)
		}
	}
	for name, save := range seeds {
		_, err := Build(t.Context(), bytes.NewReader(save), newMemStore())
		if err == nil {
			t.Errorf("hostile seed %s builds", name)
		}
		t.Logf("%s: %v", name, err)
		p := filepath.Join(dir, "hostile-"+name)
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", save)
		if *updateSeeds {
			if err := os.WriteFile(p, []byte(want), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := os.ReadFile(p); err != nil || string(got) != want { //nolint:gosec // a seed file of this package
			t.Errorf("seed %s is stale (err %v): run go test -run TestHostileFuzzSeeds -update-fuzz-seeds", p, err)
		}
	}
}
