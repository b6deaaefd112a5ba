package dockersave

import (
	"fmt"
)

// selectImage finds the image to push: the only one in the stream, or the
// one WithImage names by its config digest.
func (s *session) selectImage() (*image, error) {
	items, err := s.readManifestJSON()
	if err != nil {
		return nil, err
	}
	id := s.opts.imageID
	if id == "" {
		if len(items) != 1 {
			return nil, errorf(ErrImageNotFound, "manifest.json lists %d images, and none was named", len(items))
		}
		return s.load(items[0])
	}
	var broken error // a config that could not be read: the likely reason
	for _, it := range items {
		_, d, err := s.configOf(it)
		if err != nil {
			broken = err
			continue
		}
		if d == id {
			return s.load(it)
		}
	}
	if broken != nil {
		return nil, broken
	}
	return nil, errorf(ErrImageNotFound, "the stream holds no image %s", id)
}

// checkInspect compares the config's diff IDs with image inspect's.
func (s *session) checkInspect(img *image) error {
	want := s.opts.diffIDs
	if want == nil {
		return nil
	}
	if len(want) != len(img.diffIDs) {
		return errorf(ErrDiffIDMismatch, "image inspect lists %d layers, but the image config has %d", len(want), len(img.diffIDs))
	}
	for i := range want {
		if want[i] != img.diffIDs[i] {
			return errorf(ErrDiffIDMismatch, "%s: image inspect gives diff ID %s, but the image config %s",
				layerN(i, len(want)), want[i], img.diffIDs[i])
		}
	}
	return nil
}

func layerN(i, n int) string { return fmt.Sprintf("layer %d of %d", i+1, n) }
