package dockersave

import (
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
)

// referencePGzip is ParallelGzip written the slow, obvious way: one fresh
// writer per block, in order. ParallelGzip must give the same bytes.
func referencePGzip(t *testing.T, level, blockSize int, data []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	out.Write(gzipHeader)
	for off := 0; ; off += blockSize {
		end := min(off+blockSize, len(data))
		w, err := flate.NewWriterDict(&out, level, data[max(0, off-dictSize):off])
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(data[off:end])
		if end == len(data) {
			_ = w.Close()
			break
		}
		_ = w.Flush()
	}
	tr := make([]byte, 8)
	crc := crc32IEEE(data)
	tr[0], tr[1], tr[2], tr[3] = byte(crc), byte(crc>>8), byte(crc>>16), byte(crc>>24)
	n := uint32(len(data))
	tr[4], tr[5], tr[6], tr[7] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
	out.Write(tr)
	return out.Bytes()
}

func TestParallelGzipDeterministic(t *testing.T) {
	const bs = 64 << 10
	mixed := append(append(textBytes(3, 5*bs+123), randomBytes(3, 2*bs)...), textBytes(4, bs)...)
	inputs := map[string][]byte{
		"empty":          nil,
		"small":          textBytes(1, 100),
		"one block":      textBytes(1, bs),
		"block multiple": textBytes(2, 4*bs),
		"mixed":          mixed,
	}
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			want := referencePGzip(t, 3, bs, data)
			for _, workers := range []int{1, 2, 3, 8} {
				got := compressed(t, ParallelGzip(3, bs, workers), data)
				if !bytes.Equal(got, want) {
					t.Fatalf("%d workers: %s, want the reference %s", workers, digest.FromBytes(got), digest.FromBytes(want))
				}
			}
			// Reads of odd sizes must not change the blocks.
			var odd bytes.Buffer
			if err := ParallelGzip(3, bs, 2).Compress(&odd, iotest.OneByteReader(iotest.HalfReader(bytes.NewReader(data)))); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(odd.Bytes(), want) {
				t.Fatal("short reads changed the output")
			}
			zr, err := gzip.NewReader(bytes.NewReader(want))
			if err != nil {
				t.Fatal(err)
			}
			back, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(back, data) {
				t.Fatalf("does not gunzip to its input (%v)", err)
			}
		})
	}
}

// TestParallelGzipGolden pins the bytes of the default compressor; see
// TestGzipGolden for what to do when it fails.
func TestParallelGzipGolden(t *testing.T) {
	data := append(textBytes(7, 3<<20), randomBytes(7, 1<<20)...)
	const want = "sha256:dfc0ccf8525b8508038cb8cbc5305a1d92d536946ab481423f28ff8672cc2e64"
	if got := digest.FromBytes(compressed(t, ParallelGzip(DefaultGzipLevel, DefaultBlockSize, 0), data)); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestParallelGzipErrors(t *testing.T) {
	boom := errors.New("boom")
	data := textBytes(5, 1<<20)
	if err := ParallelGzip(3, 64<<10, 2).Compress(io.Discard, io.MultiReader(bytes.NewReader(data), iotest.ErrReader(boom))); !errors.Is(err, boom) {
		t.Errorf("source error: got %v", err)
	}
	w := &failAfter{n: 100 << 10, err: boom}
	if err := ParallelGzip(3, 64<<10, 2).Compress(w, bytes.NewReader(randomBytes(5, 1<<20))); !errors.Is(err, boom) {
		t.Errorf("destination error: got %v", err)
	}
	for _, c := range []Compressor{ParallelGzip(0, 1<<20, 1), ParallelGzip(3, 1024, 1)} {
		if err := c.Compress(io.Discard, bytes.NewReader(nil)); err == nil {
			t.Errorf("%s accepted", c.ID())
		}
	}
}

type failAfter struct {
	n   int
	err error
}

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, f.err
	}
	return len(p), nil
}

func BenchmarkParallelGzip(b *testing.B) {
	data := append(textBytes(1, 24<<20), randomBytes(1, 8<<20)...)
	for _, workers := range []int{1, 2} {
		b.Run(map[int]string{1: "workers=1", 2: "workers=2"}[workers], func(b *testing.B) {
			c := ParallelGzip(DefaultGzipLevel, DefaultBlockSize, workers)
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if err := c.Compress(io.Discard, bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func crc32IEEE(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
