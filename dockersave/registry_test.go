package dockersave

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/canonical/docker-charmcraft/registry/registrytest"
	"github.com/opencontainers/go-digest"
)

// httpStore is a minimal BlobStore over the distribution API, enough to
// push into a real registry from this package's tests.
type httpStore struct {
	base *url.URL
	repo string
}

// do sends a request and returns the answer's header if its status is want.
func (h *httpStore) do(ctx context.Context, method, u string, body io.Reader, size int64, want int) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	_ = resp.Body.Close()
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, msg)
	}
	return resp.Header, nil
}

func (h *httpStore) url(p string) string { return h.base.String() + "/v2/" + h.repo + p }

func (h *httpStore) BlobExists(ctx context.Context, d digest.Digest) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, h.url("/blobs/"+d.String()), nil)
	if err != nil {
		return false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
		return false, fmt.Errorf("HEAD blob %s: %s", d, resp.Status)
	}
	return resp.StatusCode == http.StatusOK, nil
}

// upload starts an upload session and returns its location.
func (h *httpStore) upload(ctx context.Context) (*url.URL, error) {
	hdr, err := h.do(ctx, http.MethodPost, h.url("/blobs/uploads/"), nil, 0, http.StatusAccepted)
	if err != nil {
		return nil, err
	}
	return h.base.Parse(hdr.Get("Location"))
}

func (h *httpStore) finish(ctx context.Context, loc *url.URL, body io.Reader, size int64, d digest.Digest) error {
	q := loc.Query()
	q.Set("digest", d.String())
	loc.RawQuery = q.Encode()
	_, err := h.do(ctx, http.MethodPut, loc.String(), body, size, http.StatusCreated)
	return err
}

func (h *httpStore) PushBlob(ctx context.Context, r io.Reader, size int64, d digest.Digest) error {
	loc, err := h.upload(ctx)
	if err != nil {
		return err
	}
	return h.finish(ctx, loc, r, size, d)
}

func (h *httpStore) PushBlobStream(ctx context.Context, r io.Reader, progress func(int64)) (Descriptor, error) {
	loc, err := h.upload(ctx)
	if err != nil {
		return Descriptor{}, err
	}
	var n countWriter
	dg := digest.Canonical.Digester()
	hdr, err := h.do(ctx, http.MethodPatch, loc.String(), io.TeeReader(r, io.MultiWriter(dg.Hash(), &n)), -1, http.StatusAccepted)
	if err != nil {
		return Descriptor{}, err
	}
	progress(int64(n))
	if loc, err = h.base.Parse(hdr.Get("Location")); err != nil {
		return Descriptor{}, err
	}
	return Descriptor{Digest: dg.Digest(), Size: int64(n)}, h.finish(ctx, loc, nil, 0, dg.Digest())
}

func (h *httpStore) get(t *testing.T, p, accept string) []byte {
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, h.url(p), nil)
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", p, resp.Status, b)
	}
	return b
}

// TestBuildRealRegistry pushes each layout into a real registry, PUTs the
// manifest and pulls everything back.
func TestBuildRealRegistry(t *testing.T) {
	reg, err := registrytest.Start(registrytest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	base, _ := url.Parse(reg.URL)
	for _, tc := range layouts {
		t.Run(tc.name, func(t *testing.T) {
			fx := tc.fixture(t)
			store := &httpStore{base: base, repo: "charm/test/" + tc.name}
			res, err := Build(t.Context(), bytes.NewReader(fx.save), store, WithImage(fx.imageID, fx.diffIDs))
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, store.url("/manifests/"+res.Digest.String()), bytes.NewReader(res.Manifest))
			req.Header.Set("Content-Type", res.MediaType)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusCreated || resp.Header.Get("Docker-Content-Digest") != res.Digest.String() {
				t.Fatalf("PUT manifest: %s %s: %s", resp.Status, resp.Header.Get("Docker-Content-Digest"), msg)
			}
			if got := store.get(t, "/manifests/"+res.Digest.String(), res.MediaType); !bytes.Equal(got, res.Manifest) {
				t.Errorf("pulled manifest %s, pushed %s", got, res.Manifest)
			}
			if got := store.get(t, "/blobs/"+res.Config.Digest.String(), "*/*"); !bytes.Equal(got, fx.config) {
				t.Error("pulled config differs")
			}
			for i, l := range res.Layers {
				if got := diffIDOf(t, store.get(t, "/blobs/"+l.Digest.String(), "*/*")); got != fx.diffIDs[i] {
					t.Errorf("layer %d pulls back as %s, want %s", i, got, fx.diffIDs[i])
				}
			}
		})
	}
}
