package dockersave

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/opencontainers/go-digest"
)

// memStore is an in-memory BlobStore that checks what it is given as a
// registry would. The registry itself is exercised in registry_test.go.
type memStore struct {
	mu      sync.Mutex
	blobs   map[digest.Digest][]byte
	heads   int
	pushes  int // PushBlob calls
	streams int // PushBlobStream calls
	bytes   int64
	failAll error // returned by every push when set
}

func newMemStore() *memStore { return &memStore{blobs: make(map[digest.Digest][]byte)} }

func (m *memStore) BlobExists(_ context.Context, d digest.Digest) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.heads++
	_, ok := m.blobs[d]
	return ok, nil
}

func (m *memStore) PushBlob(_ context.Context, r io.Reader, size int64, d digest.Digest) error {
	if m.failAll != nil {
		return m.failAll
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if int64(len(b)) != size || digest.FromBytes(b) != d {
		return fmt.Errorf("blob of %d bytes does not match %s (%d bytes)", len(b), d, size)
	}
	m.put(b)
	m.pushes++
	return nil
}

func (m *memStore) PushBlobStream(_ context.Context, r io.Reader, progress func(int64)) (Descriptor, error) {
	if m.failAll != nil {
		return Descriptor{}, m.failAll
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return Descriptor{}, err
	}
	progress(int64(len(b)))
	d := m.put(b)
	m.streams++
	return Descriptor{Digest: d, Size: int64(len(b))}, nil
}

func (m *memStore) put(b []byte) digest.Digest {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := digest.FromBytes(b)
	m.blobs[d] = bytes.Clone(b)
	m.bytes += int64(len(b))
	return d
}

func (m *memStore) get(d digest.Digest) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[d]
	return b, ok
}

// mapCache is a Cache in a map.
type mapCache struct {
	mu   sync.Mutex
	m    map[string]Descriptor
	fps  map[string]digest.Digest
	puts int
}

func (c *mapCache) DiffID(fp string) (digest.Digest, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.fps[fp]
	return d, ok
}

func (c *mapCache) PutDiffID(fp string, diffID digest.Digest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fps == nil {
		c.fps = make(map[string]digest.Digest)
	}
	c.fps[fp] = diffID
}

func (c *mapCache) Get(diffID digest.Digest, id string) (Descriptor, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.m[diffID.String()+" "+id]
	return d, ok
}

func (c *mapCache) Put(diffID digest.Digest, id string, d Descriptor) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]Descriptor)
	}
	c.m[diffID.String()+" "+id] = d
	c.puts++
}

// countingCompressor counts the layers it compresses.
type countingCompressor struct {
	Compressor
	n int
}

func (c *countingCompressor) Compress(dst io.Writer, src io.Reader) error {
	c.n++
	return c.Compressor.Compress(dst, src)
}

// withLimits lets tests lower Build's limits.
func withLimits(f func(*limits)) Option {
	return func(o *options) error {
		f(&o.limits)
		return nil
	}
}
