package layercache

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/mediatype"
	"github.com/canonical/docker-charmcraft/manifest"
	"github.com/opencontainers/go-digest"
)

func TestRoundTrip(t *testing.T) {
	c, err := Open(filepath.Join(t.TempDir(), "cache"))
	if err != nil {
		t.Fatal(err)
	}
	diffID, blob := digest.FromString("layer"), digest.FromString("blob")
	if _, ok := c.Get(diffID, "gz-1"); ok {
		t.Fatal("hit in an empty cache")
	}
	c.Put(diffID, "gz-1", manifest.Descriptor{Digest: blob, Size: 42})
	d, ok := c.Get(diffID, "gz-1")
	if !ok || d.Digest != blob || d.Size != 42 || d.MediaType != mediatype.DockerLayer {
		t.Errorf("Get = %+v, %v", d, ok)
	}
	if _, ok := c.Get(diffID, "gz-2"); ok {
		t.Error("an entry of another compressor was returned")
	}

	fp := strings.Repeat("ab", 32)
	c.PutDiffID(fp, diffID)
	if got, ok := c.DiffID(fp); !ok || got != diffID {
		t.Errorf("DiffID = %s, %v", got, ok)
	}
	if err := c.ForgetFingerprints(); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.DiffID(fp); ok {
		t.Error("fingerprint survived ForgetFingerprints")
	}
	if _, ok := c.DiffID("../../etc/passwd"); ok {
		t.Error("a path was taken as a fingerprint")
	}

	c.PutConfigSize(diffID, 1234)
	if n, ok := c.ConfigSize(diffID); !ok || n != 1234 {
		t.Errorf("ConfigSize = %d, %v", n, ok)
	}

	// A new Cache on the same directory sees the entries: they persist.
	c2, _ := Open(c.Dir())
	if _, ok := c2.Get(diffID, "gz-1"); !ok {
		t.Error("entry not persisted")
	}
}

// TestCorruptEntriesAreMisses: whatever is in the files, a bad entry is a
// miss, never a wrong descriptor.
func TestCorruptEntriesAreMisses(t *testing.T) {
	c, _ := Open(t.TempDir())
	diffID := digest.FromString("layer")
	c.Put(diffID, "gz", manifest.Descriptor{Digest: digest.FromString("blob"), Size: 1})
	path := c.layerPath(diffID, "gz")
	for _, content := range []string{"", "{", `{"digest":"sha256:zz","size":1}`, `{"digest":"` + digest.FromString("b").String() + `","size":0}`, `[1,2]`, strings.Repeat(" ", maxEntry+10)} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if d, ok := c.Get(diffID, "gz"); ok {
			t.Errorf("content %.20q gave %+v", content, d)
		}
	}
	c.Put("not-a-digest", "gz", manifest.Descriptor{Digest: digest.FromString("blob"), Size: 1})
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("an invalid diff ID was written: %d entries", len(entries))
	}
}

// TestConcurrentWriters: processes that write the same entries at once
// never leave a partial one for a reader.
func TestConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	diffID := digest.FromString("layer")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			c, _ := Open(dir)
			for j := range 200 {
				c.Put(diffID, "gz", manifest.Descriptor{Digest: digest.FromString("blob"), Size: int64(1 + (i*200+j)%7)})
				if _, ok := c.Get(diffID, "gz"); !ok {
					t.Error("a reader saw a partial entry")
					return
				}
			}
		})
	}
	wg.Wait()
	matches, _ := filepath.Glob(filepath.Join(dir, "layers", "*", ".tmp-*"))
	if len(matches) != 0 {
		t.Errorf("temporary files left behind: %v", matches)
	}
}

func TestWriteErrorsAreReported(t *testing.T) {
	dir := t.TempDir()
	c, _ := Open(dir)
	var errs []error
	c.Err = func(err error) { errs = append(errs, err) }
	// A file where the layers directory should be makes every write fail.
	if err := os.WriteFile(filepath.Join(dir, "layers"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c.Put(digest.FromString("l"), "gz", manifest.Descriptor{Digest: digest.FromString("b"), Size: 1})
	if len(errs) != 1 {
		t.Errorf("%d errors reported, want 1", len(errs))
	}
}
