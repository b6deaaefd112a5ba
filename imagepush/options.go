package imagepush

import (
	"errors"

	"github.com/canonical/docker-charmcraft/layercache"
	"github.com/canonical/docker-charmcraft/manifest"
)

// Option configures Push.
type Option func(*options) error

type options struct {
	events         func(Event)
	layerProgress  func() func(manifest.Event)
	cache          *layercache.Cache
	compressor     manifest.Compressor
	exportAttempts int
}

func newOptions(opts []Option) (*options, error) {
	o := &options{
		events:         func(Event) {},
		compressor:     manifest.DefaultCompressor(),
		exportAttempts: 3,
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithEvents has Push call f, from the goroutine running Push, with each
// Event the user should be told about. The default drops them.
func WithEvents(f func(Event)) Option {
	return func(o *options) error {
		if f == nil {
			return errors.New("nil event function")
		}
		o.events = f
		return nil
	}
}

// WithLayerProgress has Push call start at the start of each docker save
// that pushes layers, and give the function it returns that export's
// layer events (see manifest.WithProgress). The default shows nothing.
func WithLayerProgress(start func() func(manifest.Event)) Option {
	return func(o *options) error {
		o.layerProgress = start
		return nil
	}
}

// WithCache lets Push skip the work the cache says was done before (see
// the fromCache and dryRun strategies) and records what it learns in c.
// The default is no cache: every push reads the image with docker save.
func WithCache(c *layercache.Cache) Option {
	return func(o *options) error {
		o.cache = c
		return nil
	}
}

// WithCompressor sets how uncompressed layers are compressed; its ID keys
// the cache's entries. The default is manifest.DefaultCompressor().
func WithCompressor(c manifest.Compressor) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("nil compressor")
		}
		o.compressor = c
		return nil
	}
}

// WithExportAttempts sets how many times the image is exported from the
// daemon and pushed when a blob upload breaks midway. The default is 3.
func WithExportAttempts(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return errors.New("export attempts must be at least 1")
		}
		o.exportAttempts = n
		return nil
	}
}
