package dockersave

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
)

func compressed(t testing.TB, c Compressor, data []byte) []byte {
	var buf bytes.Buffer
	if err := c.Compress(&buf, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGzipHeader(t *testing.T) {
	out := compressed(t, Gzip(DefaultGzipLevel), textBytes(1, 1000))
	zr, err := gzip.NewReader(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if h := zr.Header; !h.ModTime.IsZero() || h.Name != "" || h.Comment != "" || h.Extra != nil || h.OS != 255 {
		t.Errorf("header %+v: want no time, name, comment or extra, and OS 255", h)
	}
	if got, _ := io.ReadAll(zr); !bytes.Equal(got, textBytes(1, 1000)) {
		t.Error("does not decompress to its input")
	}
	if err := Gzip(0).Compress(io.Discard, bytes.NewReader(nil)); err == nil {
		t.Error("level 0 accepted")
	}
}

// TestGzipGolden pins the bytes Gzip writes. If it fails after upgrading
// klauspost/compress, the same images now give other remote digests:
// bump gzipFormat so that Cache entries of the old bytes are not reused
// as if they were the new ones, and update the digests here.
func TestGzipGolden(t *testing.T) {
	data := append(textBytes(7, 3<<20), randomBytes(7, 1<<20)...)
	golden := map[int]digest.Digest{
		1: "sha256:6f1245c4248779b379baf8ebb945d724aa8a4b2692617fb224e483f9c32a11c1",
		3: "sha256:d0cb7fc319fb6bbf565947c386f2bfcad6072945d5c62ef241e8ed4995b67aa7",
		6: "sha256:c0f45b2c7f6bd292d9dbcff32322cb9e0c4c6f9bad25bc288452d97883e8e698",
	}
	for level, want := range golden {
		if got := digest.FromBytes(compressed(t, Gzip(level), data)); got != want {
			t.Errorf("level %d: %s, want %s", level, got, want)
		}
	}
	if id := Gzip(6).ID(); id != "gzip-klauspost-v1-l6" {
		t.Errorf("ID %q", id)
	}
}

var mixed = sync.OnceValue(func() []byte { return mixedData(32 << 20) })

// mixedData is n bytes that look like an image layer: a tar of the Go
// toolchain's binaries and sources (or, without GOROOT, generated text and
// code-like bytes), with an eighth of random bytes standing for files that
// come compressed already.
func mixedData(n int) []byte {
	var buf bytes.Buffer
	add := func(quota int, dir string) {
		stop := buf.Len() + quota
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || buf.Len() >= stop {
				return fs.SkipAll
			}
			if d.Type().IsRegular() {
				b, _ := os.ReadFile(p) //nolint:gosec // files of the Go installation
				buf.Write(b[:min(len(b), stop-buf.Len())])
			}
			return nil
		})
	}
	root, _ := exec.CommandContext(context.Background(), "go", "env", "GOROOT").Output()
	add(n*7/16, filepath.Join(strings.TrimSpace(string(root)), "pkg", "tool"))
	add(n*7/16, filepath.Join(strings.TrimSpace(string(root)), "src"))
	if buf.Len() < n*7/8 {
		buf.Reset()
		buf.Write(textBytes(9, n*7/16))
		buf.Write(codeBytes(n * 7 / 16))
	}
	buf.Write(randomBytes(9, n-buf.Len()))
	return tarOf(&testing.T{}, []file{{name: "mixed", body: buf.Bytes()}})
}

// codeBytes imitates machine code: small integers and repeated opcodes.
func codeBytes(n int) []byte {
	b := make([]byte, n)
	r := randomBytes(5, n)
	for i := range b {
		b[i] = []byte{0x48, 0x89, 0x8b, 0xe8, 0x00, 0x0f, 0xc3, r[i]}[r[i]%8]
	}
	return b
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// BenchmarkGzip measures speed and size at a few levels on one core.
func BenchmarkGzip(b *testing.B) {
	data := mixed()
	for _, level := range []int{1, 3, 5, 6, 9} {
		b.Run(fmt.Sprintf("level=%d", level), func(b *testing.B) {
			var out countWriter
			start := time.Now()
			for b.Loop() {
				out = 0
				if err := Gzip(level).Compress(&out, bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(data))*float64(b.N)/time.Since(start).Seconds()/1e6, "MB/s")
			b.ReportMetric(100*float64(out)/float64(len(data)), "%size")
		})
	}
}
