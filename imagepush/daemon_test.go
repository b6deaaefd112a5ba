package imagepush_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
)

// The testdata directories hold what three real daemons said about one
// small image (two COPY layers on scratch, built with DOCKER_BUILDKIT=0):
// save.tar is its docker save, list.json its entry in GET /images/json,
// inspect.json GET /images/{id}/json, info.json what GET /info says of the
// storage driver.
//
//   - legacy: Docker 20.10 (the legacy layout);
//   - oci: Docker 26.1.5, classic store (OCI layout, uncompressed layers);
//   - containerd: Docker 26.1.5, containerd store (compressed blobs; the
//     image ID is the manifest digest).
var layouts = []string{"legacy", "oci", "containerd"}

// fixture is one image a fakeDaemon serves.
type fixture struct {
	summary image.Summary
	inspect image.InspectResponse
	info    system.Info // of the daemon that holds it
	save    string      // path of the docker save tar
	// intermediate: the daemon lists the image only when asked for all
	// (docker images -a), as a layer of a classic build.
	intermediate bool
}

func loadFixture(t *testing.T, layout string) fixture {
	t.Helper()
	dir := filepath.Join("testdata", layout)
	var fx fixture
	var list []image.Summary
	readJSON(t, filepath.Join(dir, "list.json"), &list)
	readJSON(t, filepath.Join(dir, "inspect.json"), &fx.inspect)
	readJSON(t, filepath.Join(dir, "info.json"), &fx.info)
	if len(list) != 1 || list[0].ID != fx.inspect.ID {
		t.Fatalf("%s: list.json and inspect.json disagree", dir)
	}
	fx.summary, fx.save = list[0], filepath.Join(dir, "save.tar")
	return fx
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// fakeDaemon implements imagepush.Daemon by serving fixtures, as a
// daemon holding those images would. The real daemons are exercised by
// the e2e tests.
type fakeDaemon struct {
	images []fixture
	// listErr, saveErr and infoErr, when set, are the answers to
	// ImageList, ImageSave and Info.
	listErr, saveErr, infoErr error
	// listFails, when positive, is how many times ImageList answers
	// listErr before it answers the images.
	listFails, lists atomic.Int32
	// listsAll counts the listings of all images, intermediate ones too.
	listsAll atomic.Int32
	// cut, when positive, ends each docker save stream after that many
	// bytes, as a daemon that dies midway would.
	cut int64
	// stallAt, when positive, holds each docker save stream after that
	// many bytes, as a stuck daemon would; hang holds the export before
	// it answers. Both hold until the call's context ends, as the moby
	// client's streams do.
	stallAt int64
	hang    bool
	saves   atomic.Int32
	// resolves: ImageInspect takes a prefix of an image ID, as a daemon
	// does, and refuses one of several images; named is an image it
	// finds by a name that reads as a prefix, as a daemon finds a tag.
	resolves bool
	named    map[string]fixture
}

func newDaemon(fxs ...fixture) *fakeDaemon { return &fakeDaemon{images: fxs} }

func (d *fakeDaemon) ImageList(_ context.Context, opts client.ImageListOptions) (client.ImageListResult, error) {
	if n := d.lists.Add(1); d.listErr != nil && (d.listFails.Load() == 0 || n <= d.listFails.Load()) {
		return client.ImageListResult{}, d.listErr
	}
	if opts.All {
		d.listsAll.Add(1)
	}
	var res client.ImageListResult
	for _, fx := range d.images {
		if opts.All || !fx.intermediate {
			res.Items = append(res.Items, fx.summary)
		}
	}
	return res, nil
}

// Info is that of the daemon the first image came from.
func (d *fakeDaemon) Info(context.Context, client.InfoOptions) (client.SystemInfoResult, error) {
	var res client.SystemInfoResult
	if len(d.images) > 0 {
		res.Info = d.images[0].info
	}
	return res, d.infoErr
}

func (d *fakeDaemon) find(id string) (fixture, error) {
	for _, fx := range d.images {
		if fx.inspect.ID == id {
			return fx, nil
		}
	}
	return fixture{}, errors.New("No such image: " + id)
}

func (d *fakeDaemon) ImageInspect(_ context.Context, id string, _ ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	if fx, ok := d.named[id]; ok {
		return client.ImageInspectResult{InspectResponse: fx.inspect}, nil
	}
	fx, err := d.find(id)
	if err != nil && d.resolves {
		var found []fixture
		for _, f := range d.images {
			if strings.HasPrefix(f.inspect.ID, id) {
				found = append(found, f)
			}
		}
		switch len(found) {
		case 1:
			fx, err = found[0], nil
		case 0:
		default:
			err = fmt.Errorf("%w: ambiguous reference", cerrdefs.ErrNotFound)
		}
	}
	return client.ImageInspectResult{InspectResponse: fx.inspect}, err
}

func (d *fakeDaemon) ImageSave(ctx context.Context, ids []string, _ ...client.ImageSaveOption) (client.ImageSaveResult, error) {
	d.saves.Add(1)
	if d.hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if d.saveErr != nil {
		return nil, d.saveErr
	}
	if len(ids) != 1 {
		return nil, errors.New("one image at a time")
	}
	fx, err := d.find(ids[0])
	if err != nil {
		return nil, err
	}
	f, err := os.Open(fx.save)
	if err == nil && d.stallAt > 0 {
		return struct {
			io.Reader
			io.Closer
		}{io.MultiReader(io.LimitReader(f, d.stallAt), stuck{ctx}), f}, nil
	}
	if err != nil || d.cut <= 0 {
		return f, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, d.cut), f}, nil
}

// stuck is a stream that sends nothing until its context ends.
type stuck struct{ ctx context.Context }

func (s stuck) Read([]byte) (int, error) {
	<-s.ctx.Done()
	return 0, s.ctx.Err()
}
