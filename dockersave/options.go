package dockersave

import (
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"
)

// Option configures Build.
type Option func(*options) error

type options struct {
	imageID    digest.Digest
	diffIDs    []digest.Digest
	compressor Compressor
	progress   func(Event)
	cache      Cache
	limits     limits
}

// limits bound what a hostile or broken stream can make Build hold or do.
type limits struct {
	entries   int   // tar entries in the stream
	nameLen   int   // bytes in an entry or link name
	json      int64 // bytes in one JSON document kept in memory
	jsonTotal int64 // bytes in all of them
	layers    int   // layers of one image
	linkHops  int   // links followed to reach a file
}

var defaultLimits = limits{
	entries:   1 << 14,
	nameLen:   1024,
	json:      4 << 20,
	jsonTotal: 64 << 20,
	layers:    1000,
	linkHops:  32,
}

func newOptions(opts []Option) (*options, error) {
	o := &options{compressor: DefaultCompressor(), limits: defaultLimits}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithImage names the image to read: id is its ID as image inspect gives
// it on the classic store (its config digest), and diffIDs its
// RootFS.Layers, which the image config must match. A nil diffIDs skips
// that check. The default is to expect exactly one image in the stream
// and check its config against its layers only.
func WithImage(id digest.Digest, diffIDs []digest.Digest) Option {
	return func(o *options) error {
		if err := id.Validate(); err != nil {
			return fmt.Errorf("image ID %q: %w", id, err)
		}
		for i, d := range diffIDs {
			if err := d.Validate(); err != nil {
				return fmt.Errorf("diff ID %d of image %s: %q: %w", i+1, id, d, err)
			}
		}
		o.imageID, o.diffIDs = id, diffIDs
		return nil
	}
}

// WithCompressor sets how uncompressed layers are compressed. The default
// is ParallelGzip(DefaultGzipLevel, DefaultBlockSize, 0): on every core
// up to the 3 workers its memory budget holds, 2.5 times as fast as Gzip
// on two cores (BenchmarkParallelGzip).
func WithCompressor(c Compressor) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("nil compressor")
		}
		o.compressor = c
		return nil
	}
}

// WithProgress has Build call f, from the goroutine running Build, as each
// layer is read and pushed. The default is no progress reports.
func WithProgress(f func(Event)) Option {
	return func(o *options) error {
		o.progress = f
		return nil
	}
}

// WithCache lets Build skip compressing and uploading a layer that c says
// was pushed before, if the registry still has it: a layer whose diff ID
// is known before it is read (the OCI layouts name layer blobs by it), or
// recognised by its fingerprint (the legacy layout). Build records in c
// each layer it compresses. The default is no cache.
func WithCache(c Cache) Option {
	return func(o *options) error {
		o.cache = c
		return nil
	}
}
