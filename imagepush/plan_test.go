package imagepush

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// testContent is the export of a containerd-store image, written blob by
// blob: what readSaved would have kept of it.
type testContent struct {
	c *savedContent
}

func newTestContent() *testContent {
	return &testContent{&savedContent{json: map[digest.Digest][]byte{}, sizes: map[digest.Digest]int64{}}}
}

func (tc *testContent) addJSON(v any) (digest.Digest, int) {
	raw, _ := json.Marshal(v)
	d := digest.FromBytes(raw)
	tc.c.json[d], tc.c.sizes[d] = raw, int64(len(raw))
	return d, len(raw)
}

// image adds an image for os/arch (variant) and returns its index entry.
func (tc *testContent) image(osName, arch, variant string) map[string]any {
	layer := digest.FromString("layer " + osName + arch + variant)
	tc.c.sizes[layer] = 100
	cfg, cfgSize := tc.addJSON(map[string]any{"os": osName, "architecture": arch, "variant": variant})
	m, size := tc.addJSON(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"digest": cfg, "size": cfgSize},
		"layers": []any{map[string]any{"digest": layer, "size": 100}},
	})
	p := map[string]any{"os": osName, "architecture": arch}
	if variant != "" {
		p["variant"] = variant
	}
	return map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": m, "size": size, "platform": p}
}

// attestation adds a buildx attestation manifest about entry of.
func (tc *testContent) attestation(of map[string]any) map[string]any {
	e := tc.image("unknown", "unknown", "")
	e["annotations"] = map[string]string{"vnd.docker.reference.digest": of["digest"].(digest.Digest).String(), "vnd.docker.reference.type": "attestation-manifest"}
	return e
}

func (tc *testContent) index(entries ...map[string]any) digest.Digest {
	d, _ := tc.addJSON(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries})
	return d
}

// drop removes an image's manifest from the export, as a pull of other
// platforms leaves it.
func (tc *testContent) drop(entry map[string]any) {
	d := entry["digest"].(digest.Digest)
	delete(tc.c.json, d)
	delete(tc.c.sizes, d)
}

func platforms(t *testing.T, ss ...string) []Platform {
	t.Helper()
	var out []Platform
	for _, s := range ss {
		p, err := ParsePlatform(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestPlanPush(t *testing.T) {
	tc := newTestContent()
	amd, arm, armv7 := tc.image("linux", "amd64", ""), tc.image("linux", "arm64", "v8"), tc.image("linux", "arm", "v7")
	attAmd, attArm := tc.attestation(amd), tc.attestation(arm)
	id := tc.index(amd, arm, armv7, attAmd, attArm)
	digestOf := func(e map[string]any) digest.Digest { return e["digest"].(digest.Digest) }

	for _, tt := range []struct {
		name      string
		want      []string
		top       digest.Digest // "" for a new index
		manifests int
		platforms string
	}{
		{name: "whole", top: id, manifests: 6, platforms: "linux/amd64, linux/arm/v7 and linux/arm64/v8"},
		{name: "all named", want: []string{"linux/amd64", "linux/arm64", "linux/arm"}, top: id, manifests: 6},
		{name: "one", want: []string{"linux/arm64"}, top: digestOf(arm), manifests: 1, platforms: "linux/arm64/v8"},
		{name: "one by variant", want: []string{"linux/arm/v7"}, top: digestOf(armv7), manifests: 1},
		{name: "two, with their attestations", want: []string{"linux/amd64", "linux/arm64/v8"}, manifests: 5, platforms: "linux/amd64 and linux/arm64/v8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pl, err := planPush(tc.c, id, platforms(t, tt.want...))
			if err != nil {
				t.Fatal(err)
			}
			top := pl.top()
			if tt.top != "" && top.digest != tt.top {
				t.Errorf("remote manifest %s, want %s", top.digest, tt.top)
			}
			if top.digest != digest.FromBytes(top.raw) {
				t.Errorf("the remote manifest's bytes do not hash to %s", top.digest)
			}
			if len(pl.manifests) != tt.manifests {
				t.Errorf("%d manifests pushed, want %d", len(pl.manifests), tt.manifests)
			}
			if tt.platforms != "" && platformList(pl.platforms) != tt.platforms {
				t.Errorf("platforms %s, want %s", platformList(pl.platforms), tt.platforms)
			}
			for _, m := range pl.manifests[:len(pl.manifests)-1] {
				if m.digest == top.digest {
					t.Errorf("the remote manifest is pushed before it is last")
				}
			}
		})
	}
}

func TestPlanPushRefuses(t *testing.T) {
	tc := newTestContent()
	amd, arm := tc.image("linux", "amd64", ""), tc.image("linux", "arm64", "")
	id := tc.index(amd, arm, tc.attestation(amd))
	tc.drop(arm)

	_, err := planPush(tc.c, id, nil)
	var inc *IncompleteError
	if !errors.As(err, &inc) || platformList(inc.Present) != "linux/amd64" || platformList(inc.Missing) != "linux/arm64" {
		t.Fatalf("an incomplete index: %v, want an IncompleteError (linux/amd64 present, linux/arm64 missing)", err)
	}
	if !strings.Contains(err.Error(), "--platform=linux/amd64") {
		t.Errorf("the refusal does not say how to choose the present platform: %v", err)
	}
	if _, err := planPush(tc.c, id, platforms(t, "linux/arm64")); err == nil || !strings.Contains(err.Error(), "does not hold its content") {
		t.Errorf("--platform of a missing platform: %v", err)
	}
	if _, err := planPush(tc.c, id, platforms(t, "linux/s390x")); err == nil || !strings.Contains(err.Error(), "has no such platform") {
		t.Errorf("--platform of a platform the index lacks: %v", err)
	}
	pl, err := planPush(tc.c, id, platforms(t, "linux/amd64"))
	if err != nil || pl.top().digest != amd["digest"] {
		t.Errorf("--platform of the present platform: %v", err)
	}

	single := newTestContent()
	m := single.image("linux", "arm64", "")
	if _, err := planPush(single.c, m["digest"].(digest.Digest), platforms(t, "linux/amd64")); err == nil || !strings.Contains(err.Error(), "is for linux/arm64 only") {
		t.Errorf("--platform of another platform than a single image's: %v", err)
	}
}

func TestParsePlatform(t *testing.T) {
	for _, tt := range []struct {
		in, want, err string
	}{
		{in: "linux/arm64", want: "linux/arm64"},
		{in: " Linux/ARM/v7 ", want: "linux/arm/v7"},
		{in: "arm64", err: "linux/arm64"},
		{in: "linux/", err: "os/architecture"},
		{in: "a/b/c/d", err: "os/architecture"},
	} {
		p, err := ParsePlatform(tt.in)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParsePlatform(%q) = %v, %v; want an error mentioning %s", tt.in, p, err, tt.err)
		case tt.err == "" && (err != nil || p.String() != tt.want):
			t.Errorf("ParsePlatform(%q) = %v, %v; want %s", tt.in, p, err, tt.want)
		}
	}
	arm64 := Platform{OS: "linux", Architecture: "arm64"}
	if !arm64.Matches(Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}) || arm64.Matches(Platform{OS: "linux", Architecture: "amd64"}) {
		t.Error("arm64 matches its v8 variant, and not amd64")
	}
}
