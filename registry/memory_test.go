package registry_test

import (
	"crypto/rand"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/testutil"
	"github.com/opencontainers/go-digest"
)

func newPatternReader(t *testing.T, size int64) (func() io.Reader, digest.Digest) {
	t.Helper()
	pattern := make([]byte, 1<<20+7) // not a divisor of buffer sizes
	_, _ = rand.Read(pattern)
	open := func() io.Reader { return testutil.NewPatternReader(pattern, size) }
	d, err := digest.FromReader(open())
	if err != nil {
		t.Fatal(err)
	}
	return open, d
}

// peakHeap runs f and returns how far the heap grew above where it was
// before, sampled every few milliseconds, and the bytes allocated meanwhile.
func peakHeap(f func()) (peak, allocated uint64) {
	var before, ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var (
		wg   sync.WaitGroup
		done = make(chan struct{})
		top  = before.HeapAlloc
	)
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			top = max(top, ms.HeapAlloc)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	f()
	close(done)
	wg.Wait()
	runtime.ReadMemStats(&ms)
	return top - before.HeapAlloc, ms.TotalAlloc - before.TotalAlloc
}

// TestLargeBlobMemory pushes 64 MiB blobs both ways and checks the heap
// (the registry's in this process included) stays far below their size.
func TestLargeBlobMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("pushes 128 MiB")
	}
	const size = 64<<20 + 3
	const limit = 24 << 20
	env := newEnv(t, envConfig{dir: t.TempDir()}) // blobs on disk, not in the heap
	c := env.client(t)
	tests := []struct {
		name string
		push func(io.Reader, digest.Digest) error
	}{
		{name: "PushBlob", push: func(r io.Reader, d digest.Digest) error {
			return c.PushBlob(t.Context(), r, size, d)
		}},
		{name: "PushBlobStream", push: func(r io.Reader, d digest.Digest) error {
			desc, err := c.PushBlobStream(t.Context(), r, nil)
			if err == nil && (desc.Digest != d || desc.Size != size) {
				t.Errorf("PushBlobStream = %v, want %s of %d bytes", desc, d, size)
			}
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open, d := newPatternReader(t, size)
			var err error
			peak, allocated := peakHeap(func() { err = tt.push(open(), d) })
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d MiB pushed: heap grew %.1f MiB at most; %.1f MiB allocated in all (client and registry)",
				size>>20, float64(peak)/(1<<20), float64(allocated)/(1<<20))
			if peak > limit {
				t.Errorf("heap grew %d MiB, want under %d MiB", peak>>20, limit>>20)
			}
			if ok, err := c.BlobExists(t.Context(), d); err != nil || !ok {
				t.Errorf("BlobExists = %v, %v", ok, err)
			}
		})
	}
}
