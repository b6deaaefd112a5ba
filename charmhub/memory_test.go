package charmhub_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"runtime"
	"testing"

	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
	"github.com/canonical/docker-charmcraft/internal/testutil"
)

// newPatternReader generates size bytes without holding them.
func newPatternReader(size int64) *testutil.PatternReader {
	block := make([]byte, 64<<10+7) // a length that does not divide the size
	for i := range block {
		block[i] = byte(i * 31)
	}
	return testutil.NewPatternReader(block, size)
}

func TestLargeUploadMemoryStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 100 MiB")
	}
	const size = 100 << 20
	s := startServer(t, charmhubtest.WithContentLimit(1<<20))
	c := newClient(t, s, aliceToken)
	open := func() (io.ReadCloser, error) { return io.NopCloser(newPatternReader(size)), nil }

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	id, err := c.Upload(t.Context(), "big.bin", size, open, nil)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	// Client and server both run here: together they may allocate
	// buffers, not the content.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("uploading %d MiB allocated %d MiB", size>>20, grew>>20)
	} else {
		t.Logf("uploading %d MiB allocated %d KiB", size>>20, grew>>10)
	}

	h := sha256.New()
	if _, err := io.Copy(h, newPatternReader(size)); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, up := range s.Uploads() {
		if up.ID != id {
			continue
		}
		found++
		if up.Size != size || up.SHA256 != hex.EncodeToString(h.Sum(nil)) || up.Content != nil {
			t.Errorf("storage received %d bytes, sha256 %s", up.Size, up.SHA256)
		}
	}
	if found != 1 {
		t.Errorf("storage recorded %d uploads under the id %q, want 1", found, id)
	}
}
