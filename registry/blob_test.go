package registry_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/registry"
	"github.com/opencontainers/go-digest"
)

func TestPushBlob(t *testing.T) {
	env := newEnv(t, envConfig{})
	c := env.client(t)
	tests := []struct {
		name   string
		size   int
		stream bool
	}{
		{name: "empty, digest known", size: 0},
		{name: "one byte, digest known", size: 1},
		{name: "3 MiB, digest known", size: 3 << 20},
		{name: "empty, streamed", size: 0, stream: true},
		{name: "one byte, streamed", size: 1, stream: true},
		{name: "3 MiB, streamed", size: 3<<20 + 17, stream: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			blob, d := randomBlob(t, tt.size)
			if tt.size == 0 {
				d = digest.FromBytes(nil)
			}
			if tt.stream {
				var last int64
				desc, err := c.PushBlobStream(ctx, bytes.NewReader(blob), func(n int64) { last = n })
				if err != nil {
					t.Fatalf("PushBlobStream: %v", err)
				}
				if desc.Digest != d || desc.Size != int64(tt.size) {
					t.Errorf("PushBlobStream = %v, want %s of %d bytes", desc, d, tt.size)
				}
				if last != int64(tt.size) {
					t.Errorf("last progress %d, want %d", last, tt.size)
				}
			} else if err := c.PushBlob(ctx, bytes.NewReader(blob), int64(tt.size), d); err != nil {
				t.Fatalf("PushBlob: %v", err)
			}
			if ok, err := c.BlobExists(ctx, d); err != nil || !ok {
				t.Errorf("BlobExists = %v, %v; want true", ok, err)
			}
			rc, err := c.GetBlob(ctx, d)
			if err != nil {
				t.Fatalf("GetBlob: %v", err)
			}
			defer func() { _ = rc.Close() }()
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatalf("reading the blob: %v", err)
			}
			if !bytes.Equal(got, blob) {
				t.Errorf("GetBlob gave %d bytes, not the %d pushed", len(got), len(blob))
			}
		})
	}
}

func TestBlobNotThere(t *testing.T) {
	env := newEnv(t, envConfig{})
	c := env.client(t)
	_, d := randomBlob(t, 10)
	if ok, err := c.BlobExists(t.Context(), d); err != nil || ok {
		t.Errorf("BlobExists = %v, %v; want false, nil", ok, err)
	}
	if _, err := c.GetBlob(t.Context(), d); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("GetBlob = %v, want ErrNotFound", err)
	}
}

// TestPushBlobMismatch gives PushBlob content that is not what it says:
// the push fails and the registry holds neither digest.
func TestPushBlobMismatch(t *testing.T) {
	env := newEnv(t, envConfig{})
	c := env.client(t)
	blob, right := randomBlob(t, 1<<20)
	_, wrong := randomBlob(t, 1<<20)
	tests := []struct {
		name string
		r    io.Reader
		size int64
		d    digest.Digest
	}{
		{name: "wrong digest", r: bytes.NewReader(blob), size: int64(len(blob)), d: wrong},
		{name: "shorter than said", r: bytes.NewReader(blob[:len(blob)-1]), size: int64(len(blob)), d: right},
		{name: "longer than said", r: io.MultiReader(bytes.NewReader(blob), strings.NewReader("x")), size: int64(len(blob)), d: right},
		{name: "wrong digest, nothing to read", r: strings.NewReader(""), size: 0, d: wrong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.PushBlob(t.Context(), tt.r, tt.size, tt.d)
			if !errors.Is(err, registry.ErrDigestMismatch) {
				t.Fatalf("PushBlob = %v, want ErrDigestMismatch", err)
			}
			for _, d := range []digest.Digest{right, wrong} {
				if ok, err := c.BlobExists(t.Context(), d); err != nil || ok {
					t.Errorf("BlobExists(%s) = %v, %v; want false", d, ok, err)
				}
			}
		})
	}
}

// TestStreamSourceFails checks a read error of the source fails the push
// with that error, and nothing is committed.
func TestStreamSourceFails(t *testing.T) {
	env := newEnv(t, envConfig{})
	c := env.client(t)
	boom := errors.New("disk on fire")
	r := io.MultiReader(strings.NewReader(strings.Repeat("x", 100<<10)), errReader{boom})
	if _, err := c.PushBlobStream(t.Context(), r, nil); !errors.Is(err, boom) {
		t.Fatalf("PushBlobStream = %v, want %v", err, boom)
	}
	d := digest.FromString(strings.Repeat("x", 100<<10))
	if ok, err := c.BlobExists(t.Context(), d); err != nil || ok {
		t.Errorf("BlobExists = %v, %v; want false", ok, err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// TestConnectionsReused checks answers are drained and closed, so that
// requests in a row share one connection, errors included.
func TestConnectionsReused(t *testing.T) {
	env := newEnv(t, envConfig{})
	p := newProxy(t, env.reg.URL, nil)
	c := newClient(t, p.URL, registry.WithTransport(&http.Transport{}))
	ctx := t.Context()
	blob, d := pushRandom(t, c, 100<<10)
	for range 5 {
		if _, err := c.BlobExists(ctx, d); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PushBlobStream(ctx, bytes.NewReader(blob), nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.GetManifest(ctx, "missing"); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("GetManifest = %v, want ErrNotFound", err)
		}
		rc, err := c.GetBlob(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, rc)
		_ = rc.Close()
	}
	if n := p.conns.Load(); n != 1 {
		t.Errorf("%d connections for %d requests in a row, want 1", n, len(p.seen()))
	}
}
