package dockersave

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// hashStore takes blobs as a registry would, hashing them, and keeps
// nothing: benchmarks measure Build, not a store.
type hashStore struct{}

func (hashStore) BlobExists(context.Context, digest.Digest) (bool, error) { return false, nil }

func (hashStore) PushBlob(_ context.Context, r io.Reader, _ int64, _ digest.Digest) error {
	_, err := digest.Canonical.FromReader(r)
	return err
}

func (hashStore) PushBlobStream(_ context.Context, r io.Reader, _ func(int64)) (Descriptor, error) {
	var n countWriter
	d, err := digest.Canonical.FromReader(io.TeeReader(r, &n))
	return Descriptor{Digest: d, Size: int64(n)}, err
}

// BenchmarkBuild reads a legacy save stream of a 32 MiB layer-like layer
// and two small ones, at the default gzip level.
func BenchmarkBuild(b *testing.B) {
	layers := [][]byte{mixed(), textLayer(b), emptyLayer(b)}
	_, files := legacyWith(layers, digests(layers))
	save := tarOf(b, files)
	start := time.Now()
	for b.Loop() {
		if _, err := Build(b.Context(), bytes.NewReader(save), hashStore{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(save))*float64(b.N)/time.Since(start).Seconds()/1e6, "MB/s")
}
