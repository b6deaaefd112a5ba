package manifest

import (
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
)

// Compressor turns an uncompressed layer tar into the gzip stream that is
// pushed. It must be deterministic: the same input gives the same bytes,
// whatever the machine, so that an image always has the same remote digest.
type Compressor interface {
	// ID names the compressor and its settings, and changes whenever its
	// output for the same input would change. It keys the Cache.
	ID() string
	// Compress reads src to its end and writes the compressed stream to dst.
	Compress(dst io.Writer, src io.Reader) error
}

// DefaultGzipLevel is the level Build uses unless told otherwise.
//
// Measured with BenchmarkGzip (klauspost/compress v1.20.4, one core of the
// CI machine, 32 MiB of mixed layer data: Go binaries, Go sources and
// random bytes), see compress_test.go:
//
//	level 1: TODO
const DefaultGzipLevel = 6

// gzipFormat is bumped when the bytes Gzip writes change for a given
// level, e.g. after upgrading klauspost/compress; TestGzipGolden notices.
const gzipFormat = "v1"

// Gzip returns a deterministic gzip Compressor at level (1 to 9), built on
// klauspost/compress: the header carries no file name, no modification
// time, and the OS byte 255 ("unknown"), so the output depends only on the
// input, the level and the library version.
func Gzip(level int) Compressor { return gzipCompressor{level: level} }

type gzipCompressor struct{ level int }

func (g gzipCompressor) ID() string {
	return fmt.Sprintf("gzip-klauspost-%s-l%d", gzipFormat, g.level)
}

func (g gzipCompressor) Compress(dst io.Writer, src io.Reader) error {
	if g.level < gzip.BestSpeed || g.level > gzip.BestCompression {
		return fmt.Errorf("gzip level %d is not between %d and %d", g.level, gzip.BestSpeed, gzip.BestCompression)
	}
	zw, err := gzip.NewWriterLevel(dst, g.level)
	if err != nil {
		return err
	}
	zw.Header = gzip.Header{OS: 255}
	if _, err := io.Copy(zw, src); err != nil {
		return err
	}
	return zw.Close()
}
