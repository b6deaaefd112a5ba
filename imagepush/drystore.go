package imagepush

import (
	"context"
	"fmt"
	"io"

	"github.com/canonical/docker-charmcraft/dockersave"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/opencontainers/go-digest"
)

// dryStore computes what a push would send without sending it: the
// registry is asked what it has, and everything else is hashed and
// dropped.
type dryStore struct{ reg *registry.Client }

func (s dryStore) BlobExists(ctx context.Context, d digest.Digest) (bool, error) {
	return s.reg.BlobExists(ctx, d)
}

func (dryStore) PushBlob(_ context.Context, r io.Reader, size int64, d digest.Digest) error {
	v := d.Verifier()
	n, err := io.Copy(v, r)
	switch {
	case err != nil:
		return err
	case n != size || !v.Verified():
		return fmt.Errorf("blob does not match %s (%d bytes)", d, size)
	}
	return nil
}

func (dryStore) PushBlobStream(_ context.Context, r io.Reader, _ func(int64)) (dockersave.Descriptor, error) {
	dg := digest.Canonical.Digester()
	n, err := io.Copy(dg.Hash(), r)
	return dockersave.Descriptor{Digest: dg.Digest(), Size: n}, err
}
