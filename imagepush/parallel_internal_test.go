package imagepush

import (
	"bytes"
	"errors"
	"testing"
	"testing/iotest"
)

// TestReadUpTo reads blobs around the limit, in small reads: whole up to
// the limit, and never more than one byte past it.
func TestReadUpTo(t *testing.T) {
	const limit = 100_000
	for _, size := range []int{0, 1, limit - 1, limit, limit + 1, 3 * limit} {
		data := bytes.Repeat([]byte{7}, size)
		for _, hint := range []int64{0, int64(size), limit} {
			buf, whole, err := readUpTo(iotest.HalfReader(bytes.NewReader(data)), limit, hint)
			switch {
			case err != nil:
				t.Fatalf("size %d, hint %d: %v", size, hint, err)
			case whole != (size <= limit):
				t.Errorf("size %d, hint %d: whole = %v", size, hint, whole)
			case whole && len(buf) != size, !whole && len(buf) != limit+1:
				t.Errorf("size %d, hint %d: read %d bytes", size, hint, len(buf))
			}
		}
	}
	if _, _, err := readUpTo(iotest.ErrReader(iotest.ErrTimeout), limit, 0); !errors.Is(err, iotest.ErrTimeout) {
		t.Errorf("a failing reader: %v", err)
	}
}
