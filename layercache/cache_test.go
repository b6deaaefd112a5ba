package layercache

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/canonical/docker-charmcraft/dockersave"
	"github.com/canonical/docker-charmcraft/internal/mediatype"
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
	c.Put(diffID, "gz-1", dockersave.Descriptor{Digest: blob, Size: 42})
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
	c.Put(diffID, "gz", dockersave.Descriptor{Digest: digest.FromString("blob"), Size: 1})
	path := c.layerPath(diffID, "gz")
	for _, content := range []string{"", "{", `{"digest":"sha256:zz","size":1}`, `{"digest":"` + digest.FromString("b").String() + `","size":0}`, `[1,2]`, strings.Repeat(" ", maxEntry+10)} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if d, ok := c.Get(diffID, "gz"); ok {
			t.Errorf("content %.20q gave %+v", content, d)
		}
	}
	c.Put("not-a-digest", "gz", dockersave.Descriptor{Digest: digest.FromString("blob"), Size: 1})
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
				c.Put(diffID, "gz", dockersave.Descriptor{Digest: digest.FromString("blob"), Size: int64(1 + (i*200+j)%7)})
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
	c.Put(digest.FromString("l"), "gz", dockersave.Descriptor{Digest: digest.FromString("b"), Size: 1})
	if len(errs) != 1 {
		t.Errorf("%d errors reported, want 1", len(errs))
	}
}

// TestSwappedEntriesAreDropped: an entry read under another name than
// its own (two entries exchanged by hand, or a copy) is a miss, is
// removed, and is reported.
func TestSwappedEntriesAreDropped(t *testing.T) {
	c, _ := Open(t.TempDir())
	var reported []error
	c.Err = func(err error) { reported = append(reported, err) }
	a, b := digest.FromString("layer a"), digest.FromString("layer b")
	c.Put(a, "gz", dockersave.Descriptor{Digest: digest.FromString("blob a"), Size: 1})
	c.Put(b, "gz", dockersave.Descriptor{Digest: digest.FromString("blob b"), Size: 2})
	pa, pb := c.layerPath(a, "gz"), c.layerPath(b, "gz")
	swap(t, pa, pb)
	for _, id := range []digest.Digest{a, b} {
		if d, ok := c.Get(id, "gz"); ok {
			t.Errorf("layer %s: the other layer's entry was used: %+v", id, d)
		}
	}
	for _, p := range []string{pa, pb} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("entry %s kept: %v", p, err)
		}
	}
	if len(reported) != 2 || !strings.Contains(reported[0].Error(), "not of layer") {
		t.Errorf("reported %v, want the two entries dropped", reported)
	}

	imgA, imgB := digest.FromString("image a"), digest.FromString("image b")
	c.PutConfigSize(imgA, 10)
	c.PutConfigSize(imgB, 20)
	swap(t, filepath.Join(c.Dir(), "images", imgA.Encoded()), filepath.Join(c.Dir(), "images", imgB.Encoded()))
	if n, ok := c.ConfigSize(imgA); ok {
		t.Errorf("image a: the other image's config size %d was used", n)
	}

	// An entry of the former format, which did not name its layer, is a
	// miss too: the layer is compressed again.
	if err := os.WriteFile(pa, []byte(`{"digest":"`+digest.FromString("blob a").String()+`","size":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if d, ok := c.Get(a, "gz"); ok || !strings.Contains(reported[len(reported)-1].Error(), "an older plugin wrote it") {
		t.Errorf("an entry naming no layer was used (%+v) or not reported as old: %v", d, reported)
	}
}

func swap(t *testing.T, a, b string) {
	t.Helper()
	tmp := a + ".swap"
	for _, r := range [][2]string{{a, tmp}, {b, a}, {tmp, b}} {
		if err := os.Rename(r[0], r[1]); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUnsafeCacheRefused: a cache directory that others may write, or
// that another user owns, is refused, as ssh refuses such keys; an entry
// that others may write, or another user owns, is a miss.
func TestUnsafeCacheRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix owner and mode on Windows")
	}
	dir := filepath.Join(t.TempDir(), "cache")
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var reported []error
	c.Err = func(err error) { reported = append(reported, err) }
	diffID := digest.FromString("layer")
	c.Put(diffID, "gz", dockersave.Descriptor{Digest: digest.FromString("blob"), Size: 1})
	entry := c.layerPath(diffID, "gz")
	if err := os.Chmod(entry, 0o666); err != nil {
		t.Fatal(err)
	}
	if d, ok := c.Get(diffID, "gz"); ok || len(reported) != 1 || !strings.Contains(reported[0].Error(), "writable") {
		t.Errorf("an entry others may write gave %+v, %v; reported %v", d, ok, reported)
	}
	if err := os.Chmod(entry, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(diffID, "gz"); !ok {
		t.Fatal("the entry made private again is still a miss")
	}

	for _, mode := range []os.FileMode{0o777, 0o770, 0o702} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(dir); !errors.Is(err, ErrUnsafeDir) || !strings.Contains(err.Error(), dir) {
			t.Errorf("mode %v: Open = %v, want ErrUnsafeDir naming the directory", mode, err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err != nil {
		t.Errorf("mode 0755: %v", err)
	}

	if os.Getuid() != 0 {
		t.Skip("giving files to another user needs root")
	}
	const nobody = 65534
	if err := os.Chown(entry, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(diffID, "gz"); ok {
		t.Error("an entry of another user was used")
	}
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrUnsafeDir) || !strings.Contains(err.Error(), "belongs to user 65534") {
		t.Errorf("a directory of another user: Open = %v, want ErrUnsafeDir", err)
	}
}

// TestUploadSessions: a session saved is found under its key alone, is
// gone once forgotten, and one moved under another key, written by
// others, or not a key at all is a miss.
func TestUploadSessions(t *testing.T) {
	c, _ := Open(t.TempDir())
	var reported []error
	c.Err = func(err error) { reported = append(reported, err) }
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	if _, _, ok := c.UploadSession(a); ok {
		t.Fatal("a session in an empty cache")
	}
	c.SaveUploadSession(a, "https://registry.test/v2/charm/x/image/blobs/uploads/1?_state=s", 4<<20)
	c.SaveUploadSession(a, "https://registry.test/v2/charm/x/image/blobs/uploads/1?_state=t", 8<<20)
	loc, off, ok := c.UploadSession(a)
	if !ok || loc != "https://registry.test/v2/charm/x/image/blobs/uploads/1?_state=t" || off != 8<<20 {
		t.Errorf("UploadSession = %q, %d, %v; want the last saved", loc, off, ok)
	}
	// Found by a new Cache on the directory: a run again finds it.
	c2, _ := Open(c.Dir())
	if _, _, ok := c2.UploadSession(a); !ok {
		t.Error("the session was not found by another Cache on the directory")
	}

	pa, pb := filepath.Join(c.Dir(), "uploads", a), filepath.Join(c.Dir(), "uploads", b)
	if err := os.Rename(pa, pb); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := c.UploadSession(b); ok || len(reported) != 1 || !strings.Contains(reported[0].Error(), "not of upload") {
		t.Errorf("a session moved under another key was used (%v), or not reported: %v", ok, reported)
	}
	if _, err := os.Stat(pb); !os.IsNotExist(err) {
		t.Errorf("the moved session was kept: %v", err)
	}

	c.SaveUploadSession(a, "https://registry.test/v2/charm/x/image/blobs/uploads/1", 0)
	c.ForgetUploadSession(a)
	c.ForgetUploadSession(a) // forgetting none is no error
	if _, _, ok := c.UploadSession(a); ok {
		t.Error("a forgotten session was found")
	}
	for _, k := range []string{"../../etc/passwd", "", strings.Repeat("A", 64)} {
		c.SaveUploadSession(k, "https://registry.test/", 0)
		if _, _, ok := c.UploadSession(k); ok {
			t.Errorf("key %q, not a key, was used", k)
		}
	}

	if runtime.GOOS != "windows" {
		c.SaveUploadSession(a, "https://registry.test/v2/charm/x/image/blobs/uploads/1", 0)
		if err := os.Chmod(pa, 0o666); err != nil {
			t.Fatal(err)
		}
		if _, _, ok := c.UploadSession(a); ok {
			t.Error("a session others may write was used")
		}
	}
	for _, err := range reported {
		if errors.Is(err, os.ErrNotExist) {
			t.Errorf("forgetting a session not saved reported %v", err)
		}
	}
}
