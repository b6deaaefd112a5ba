package imagepush

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/opencontainers/go-digest"
)

// IncompleteError is a multi-platform image (an index) whose content the
// Docker daemon holds only in part, as a pull of one platform leaves it:
// it is never pushed as a subset unless the platforms are chosen.
type IncompleteError struct {
	ID digest.Digest
	// Name is one of the image's names, for the advice; "" for none.
	Name string
	// Present and Missing are the platforms of its images (attestations
	// are none) whose content the daemon holds, and does not.
	Present, Missing []Platform
}

func (e *IncompleteError) Error() string {
	name := e.Name
	if name == "" {
		name = "NAME"
	}
	msg := fmt.Sprintf("image %s is a multi-platform image whose content the Docker daemon holds only in part (present: %s; missing: %s), and an image is not uploaded without some of its platforms: pull or build the missing ones (e.g. `docker pull --platform=%s %s`, or `docker buildx build --platform=%s --load`)",
		e.ID, platformList(e.Present), platformList(e.Missing), platformFlag(e.Missing), name, platformFlag(append(slices.Clone(e.Present), e.Missing...)))
	if len(e.Present) > 0 {
		msg += fmt.Sprintf(", or upload the present ones alone with --platform=%s", platformFlag(e.Present))
	}
	return msg
}

// indexImage is an image entry of an index, and whether the export holds it.
type indexImage struct {
	entry    indexEntry
	platform Platform
	present  bool
}

// planIndex plans the push of an index: whole when nothing is wanted (and
// then all its content must be present), else the platforms wanted: one
// alone as its own manifest, several as a new index of them and their
// attestations.
func planIndex(c *savedContent, top planned, entries []indexEntry, want []Platform) (*plan, error) {
	var images []indexImage
	var present, missing []Platform
	attPresent := map[digest.Digest]bool{}
	for _, e := range entries {
		p, err := (&plan{}).addImage(c, e.Digest, e.MediaType)
		if err != nil && !errors.Is(err, errMissing) {
			return nil, err
		}
		if e.attestation() {
			attPresent[e.Digest] = err == nil
			continue
		}
		if e.Platform != nil {
			p = *e.Platform
		}
		images = append(images, indexImage{entry: e, platform: p, present: err == nil})
		if err == nil {
			present = append(present, p)
		} else {
			missing = append(missing, p)
		}
	}
	if len(want) == 0 {
		if len(missing) > 0 {
			return nil, &IncompleteError{ID: top.digest, Present: present, Missing: missing}
		}
		return wholeIndex(c, top, entries, attPresent, present)
	}
	var chosen []indexImage
	for _, w := range want {
		n := 0
		for _, img := range images {
			if img.present && img.platform.Matches(w) {
				n++
				if !slices.ContainsFunc(chosen, func(x indexImage) bool { return x.entry.Digest == img.entry.Digest }) {
					chosen = append(chosen, img)
				}
			}
		}
		switch {
		case n > 0:
		case slices.ContainsFunc(missing, func(p Platform) bool { return p.Matches(w) }):
			return nil, fmt.Errorf("--platform %s: image %s lists that platform, but the Docker daemon does not hold its content (present: %s): pull it, or choose among the present ones", w, top.digest, platformList(present))
		default:
			return nil, fmt.Errorf("--platform %s: image %s has no such platform; it is for %s", w, top.digest, platformList(append(slices.Clone(present), missing...)))
		}
	}
	if len(chosen) == len(images) && len(missing) == 0 {
		return wholeIndex(c, top, entries, attPresent, present)
	}
	return subsetIndex(c, top, chosen, entries, attPresent)
}

// wholeIndex plans the push of the index as it is: every manifest it
// lists, attestations included, which must all be present.
func wholeIndex(c *savedContent, top planned, entries []indexEntry, attPresent map[digest.Digest]bool, platforms []Platform) (*plan, error) {
	pl := &plan{platforms: platforms}
	for _, e := range entries {
		if e.attestation() && !attPresent[e.Digest] {
			return nil, fmt.Errorf("image %s lists attestation manifest %s, which the Docker daemon does not hold, so the index cannot be pushed whole: upload its platforms with --platform=%s", top.digest, e.Digest, platformFlag(platforms))
		}
		if _, err := pl.addImage(c, e.Digest, e.MediaType); err != nil {
			return nil, err
		}
	}
	pl.manifests = append(pl.manifests, top)
	return pl, nil
}

// subsetIndex plans the push of the images chosen: one alone, as its own
// manifest; several as a new index that lists them and the attestations
// about them, in the index's order.
func subsetIndex(c *savedContent, top planned, chosen []indexImage, entries []indexEntry, attPresent map[digest.Digest]bool) (*plan, error) {
	pl := &plan{}
	for _, img := range chosen {
		pl.platforms = append(pl.platforms, img.platform)
	}
	if len(chosen) == 1 {
		_, err := pl.addImage(c, chosen[0].entry.Digest, chosen[0].entry.MediaType)
		return pl, err
	}
	keep := map[digest.Digest]bool{}
	for _, img := range chosen {
		keep[img.entry.Digest] = true
	}
	for _, e := range entries {
		if e.attestation() && attPresent[e.Digest] && keep[digest.Digest(e.Annotations["vnd.docker.reference.digest"])] {
			keep[e.Digest] = true
		}
	}
	var doc map[string]json.RawMessage
	var list []json.RawMessage
	if err := json.Unmarshal(top.raw, &doc); err != nil {
		return nil, fmt.Errorf("reading index %s: %w", top.digest, err)
	}
	if err := json.Unmarshal(doc["manifests"], &list); err != nil {
		return nil, fmt.Errorf("reading index %s: %w", top.digest, err)
	}
	var kept []json.RawMessage
	for i, e := range entries {
		if keep[e.Digest] {
			if _, err := pl.addImage(c, e.Digest, e.MediaType); err != nil {
				return nil, err
			}
			kept = append(kept, list[i])
		}
	}
	var err error
	if doc["manifests"], err = json.Marshal(kept); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	pl.manifests = append(pl.manifests, planned{digest: digest.FromBytes(raw), mediaType: top.mediaType, raw: raw})
	return pl, nil
}
