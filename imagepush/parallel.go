package imagepush

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"slices"
	"sync"

	"github.com/canonical/docker-charmcraft/dockersave"
	"github.com/canonical/docker-charmcraft/internal/membudget"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/semaphore"
)

// The defaults of WithUploads (docker push has 5 uploads in flight), and
// the most the blobs in flight hold in memory, their share of the memory
// budget: as many small layers as the uploads allow, but only 8 of the
// largest sent whole.
const (
	defaultUploads       = 16
	defaultWholeBlobSize = 2 << 20
	heldBytes            = membudget.Blobs
)

// parallelStore is the registry as dockersave.Build pushes to it, with
// several uploads in flight. docker save is one stream, read in order: a
// small blob, read whole, is sent in the background while the next are
// read, so that each upload's round trips overlap the others' instead of
// adding up. A large blob streams in the foreground, as before, while the
// small ones go on. Wait returns once every upload has ended.
type parallelStore struct {
	reg    *registry.Client
	whole  int64               // the largest blob sent in the background
	cancel context.CancelFunc  // stops the whole build, foreground included
	slots  chan struct{}       // one an upload in flight
	held   *semaphore.Weighted // one a byte they hold
	wg     sync.WaitGroup

	mu  sync.Mutex
	err error // the first upload that failed
}

var _ dockersave.BlobStore = (*parallelStore)(nil)

// buildParallel runs build, pushing through a parallelStore, and returns
// once every upload has ended. An upload that fails in the background
// stops the build, the blob streaming in the foreground included, and
// explains the failure best: the build's own error then only says it was
// stopped.
func (p *pusher) buildParallel(ctx context.Context, j *job) (*dockersave.Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	store := newParallelStore(cancel, p.reg, p.opts.uploads, p.opts.wholeBlobSize)
	res, err := p.build(ctx, j, store, true)
	if werr := store.wait(); werr != nil {
		return nil, werr
	}
	return res, err
}

// newParallelStore returns a store whose first failed upload calls cancel,
// which must stop the context of every call to it.
func newParallelStore(cancel context.CancelFunc, reg *registry.Client, uploads int, whole int64) *parallelStore {
	return &parallelStore{reg: reg, whole: whole, cancel: cancel,
		slots: make(chan struct{}, uploads), held: semaphore.NewWeighted(max(heldBytes, whole))}
}

// BlobExists asks the registry.
func (s *parallelStore) BlobExists(ctx context.Context, d digest.Digest) (bool, error) {
	if err := s.failed(); err != nil {
		return false, err
	}
	return s.reg.BlobExists(ctx, d)
}

// PushBlob sends a small blob in the background, once read whole; a large
// one streams now.
func (s *parallelStore) PushBlob(ctx context.Context, r io.Reader, size int64, d digest.Digest) error {
	if err := s.failed(); err != nil {
		return err
	}
	if size > s.whole {
		return s.reg.PushBlob(ctx, r, size, d)
	}
	if err := s.reserve(ctx, size); err != nil {
		return err
	}
	buf, whole, err := readUpTo(r, s.whole, size)
	if err != nil || !whole || int64(len(buf)) != size {
		s.held.Release(size)
		if err != nil {
			return err
		}
		// Not the size said: the registry client says so best.
		return s.reg.PushBlob(ctx, io.MultiReader(bytes.NewReader(buf), r), size, d)
	}
	return s.start(ctx, buf, d)
}

// PushBlobStream sends a blob that turns out small in the background, once
// read whole; a large one streams now.
func (s *parallelStore) PushBlobStream(ctx context.Context, r io.Reader, progress func(int64)) (dockersave.Descriptor, error) {
	if err := s.failed(); err != nil {
		return dockersave.Descriptor{}, err
	}
	if s.whole == 0 {
		return s.reg.PushBlobStream(ctx, r, progress)
	}
	// Its size is known once read: room for the largest is kept while
	// reading, and what it did not take given back.
	if err := s.reserve(ctx, s.whole); err != nil {
		return dockersave.Descriptor{}, err
	}
	buf, whole, err := readUpTo(r, s.whole, 64<<10)
	if err != nil || !whole {
		s.held.Release(s.whole)
		if err != nil {
			return dockersave.Descriptor{}, err
		}
		return s.reg.PushBlobStream(ctx, io.MultiReader(bytes.NewReader(buf), r), progress)
	}
	s.held.Release(s.whole - int64(len(buf)))
	desc := dockersave.Descriptor{Digest: digest.FromBytes(buf), Size: int64(len(buf))}
	if progress != nil {
		progress(desc.Size)
	}
	return desc, s.start(ctx, buf, desc.Digest)
}

// reserve waits for room for n bytes of blobs in memory, before they are
// read: what the blobs read and in flight hold stays within heldBytes.
func (s *parallelStore) reserve(ctx context.Context, n int64) error {
	if err := s.held.Acquire(ctx, n); err != nil {
		return cmp.Or(s.failed(), err)
	}
	return nil
}

// start uploads blob d, whose room in memory is reserved, in the
// background once a slot is free; the room is given back when it ends.
func (s *parallelStore) start(ctx context.Context, blob []byte, d digest.Digest) error {
	n := int64(len(blob))
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		s.held.Release(n)
		return cmp.Or(s.failed(), ctx.Err())
	}
	s.wg.Go(func() {
		defer func() {
			<-s.slots
			s.held.Release(n)
		}()
		if err := s.reg.PushBlob(ctx, bytes.NewReader(blob), int64(len(blob)), d); err != nil {
			s.fail(err)
		}
	})
	return nil
}

// fail records the first upload that failed, and stops the others (whose
// errors, then, only say they were stopped).
func (s *parallelStore) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
		s.cancel()
	}
}

func (s *parallelStore) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// wait waits for every upload, and returns the first error.
func (s *parallelStore) wait() error {
	s.wg.Wait()
	s.cancel()
	return s.failed()
}

// readUpTo reads r to its end if it holds at most limit bytes (whole);
// else it stops after limit+1 of them. hint is the size to expect.
func readUpTo(r io.Reader, limit, hint int64) (buf []byte, whole bool, err error) {
	end := int(limit) + 1
	buf = make([]byte, 0, min(max(int(hint), 512), int(limit))+1)
	for len(buf) < end {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(cap(buf), end-len(buf)))
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), end)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, len(buf) < end, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
	return buf, false, nil
}
