package imagepush

import (
	"time"

	"github.com/canonical/docker-charmcraft/dockersave"
	"github.com/canonical/docker-charmcraft/internal/transport"
	"github.com/canonical/docker-charmcraft/layercache"
)

// Option configures Push.
type Option func(*options)

type options struct {
	events         func(Event)
	layerProgress  func() func(dockersave.Event)
	cache          *layercache.Cache
	compressor     dockersave.Compressor
	exportAttempts int
	uploads        int   // in flight at once, besides the one streaming
	wholeBlobSize  int64 // the largest blob read into memory and sent whole
	daemonTarget   *DaemonTarget
	platforms      []Platform
	stall          time.Duration // how long the daemon may send nothing
}

func newOptions(opts []Option) *options {
	o := &options{
		events:         func(Event) {},
		compressor:     dockersave.DefaultCompressor(),
		exportAttempts: 3,
		uploads:        defaultUploads,
		wholeBlobSize:  defaultWholeBlobSize,
		stall:          transport.DefaultStallTimeout,
	}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// WithEvents has Push call f, from the goroutine running Push, with each
// Event the user should be told about. The default (or a nil f) drops
// them.
func WithEvents(f func(Event)) Option {
	return func(o *options) {
		if f != nil {
			o.events = f
		}
	}
}

// WithLayerProgress has Push call start at the start of each docker save
// that pushes layers, and give the function it returns that export's
// layer events (see dockersave.WithProgress). The default shows nothing.
func WithLayerProgress(start func() func(dockersave.Event)) Option {
	return func(o *options) { o.layerProgress = start }
}

// WithCache lets Push skip the work the cache says was done before (see
// the fromCache and dryRun strategies) and records what it learns in c;
// Push and PushArchive keep there the upload sessions in flight, for the
// next run to resume those a killed run left. The default (or a nil c) is
// no cache: every push reads the image with docker save.
func WithCache(c *layercache.Cache) Option {
	return func(o *options) { o.cache = c }
}

// WithCompressor sets how uncompressed layers are compressed; its ID keys
// the cache's entries. The default (or a nil c) is
// dockersave.DefaultCompressor().
func WithCompressor(c dockersave.Compressor) Option {
	return func(o *options) {
		if c != nil {
			o.compressor = c
		}
	}
}

// WithUploads sets how many blob uploads, at least one, run at once
// beside the one streaming from docker save, and the largest blob read
// whole into memory to be one of them; larger blobs stream, one at a time.
// The blobs in flight hold 16 MiB at most (or whole, if larger). A whole
// of 0 streams every blob. The defaults are 16 and 2 MiB.
func WithUploads(n int, whole int64) Option {
	return func(o *options) { o.uploads, o.wholeBlobSize = max(n, 1), max(whole, 0) }
}

// WithExportAttempts sets how many times, at least once, the image is
// exported from the daemon and pushed when a blob upload breaks midway.
// The default is 3.
func WithExportAttempts(n int) Option {
	return func(o *options) { o.exportAttempts = max(n, 1) }
}

// WithDaemonPush lets Push have the Docker daemon push a containerd-store
// image to t itself, which is faster than exporting it (see pushByDaemon);
// when the daemon cannot, the image is exported. The default is to export.
func WithDaemonPush(t DaemonTarget) Option {
	return func(o *options) { o.daemonTarget = &t }
}

// WithPlatforms has Push push only the platforms of a multi-platform local
// image that match ps (see Platform.Matches), and refuse a local image
// that has none of them. The default (none) is the image whole.
func WithPlatforms(ps []Platform) Option {
	return func(o *options) { o.platforms = ps }
}

// WithStallTimeout sets how long the Docker daemon may send nothing while
// it exports or pushes the image: a docker save stream, or the messages
// of the daemon's push, that stays silent that long fails the push with
// a *DaemonStallError. Only waits for the daemon count, not the time the
// push takes to send what the daemon gave. The default (or d <= 0) is
// transport.DefaultStallTimeout, the registry's own stall timeout.
func WithStallTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.stall = d
		}
	}
}
