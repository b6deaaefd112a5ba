package dockersave

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/membudget"
	"github.com/canonical/docker-charmcraft/internal/testutil"
)

// TestParallelGzipMemory fills the compressor's pipeline, its writer
// blocked as a slow uplink blocks it, and checks the live heap it holds
// stays within its share of the memory budget however many workers it
// is asked for: the memory of a push must not grow with the cores.
func TestParallelGzipMemory(t *testing.T) {
	pattern := randomBytes(9, 1<<20+7) // incompressible: each block's output is as large as its input
	for _, workers := range []int{2, 16, 64} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			src := &countingReader{r: testutil.NewPatternReader(pattern, 1<<40)}
			dst := &blockedWriter{release: make(chan struct{})}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			done := make(chan error, 1)
			go func() { done <- ParallelGzip(DefaultGzipLevel, DefaultBlockSize, workers).Compress(dst, src) }()
			waitStill(t, src, done)
			runtime.GC()
			runtime.ReadMemStats(&after)
			close(dst.release)
			if err := <-done; !errors.Is(err, errUplinkGone) {
				t.Fatalf("Compress = %v, want the writer's error", err)
			}
			live := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			t.Logf("%d workers asked, the writer blocked: %.1f MiB live, %.1f MiB read ahead",
				workers, float64(live)/(1<<20), float64(src.n.Load())/(1<<20))
			if live > membudget.Compression {
				t.Errorf("%.1f MiB live, more than the compression's share of %d MiB", float64(live)/(1<<20), membudget.Compression>>20)
			}
		})
	}
}

// waitStill waits until the compressor has stopped reading src: its
// pipeline is full.
func waitStill(t *testing.T, src *countingReader, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	last, since := int64(-1), time.Now()
	for time.Since(since) < 200*time.Millisecond {
		select {
		case err := <-done:
			t.Fatalf("Compress ended with the writer blocked: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if n := src.n.Load(); n != last {
			last, since = n, time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("still reading after 30 s (%d bytes): the pipeline has no bound", last)
		}
	}
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

var errUplinkGone = errors.New("the uplink is gone")

// blockedWriter takes the gzip header, then blocks every write until
// release is closed, and fails it.
type blockedWriter struct {
	release chan struct{}
	header  bool
}

func (w *blockedWriter) Write(p []byte) (int, error) {
	if !w.header {
		w.header = true
		return len(p), nil
	}
	<-w.release
	return 0, errUplinkGone
}
