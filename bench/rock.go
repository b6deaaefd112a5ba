//go:build linux

package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/canonical/docker-charmcraft/internal/ocitest"
)

// The rows of a rock (issue 24): an OCI archive uploaded with no daemon,
// beside skopeo copying the same archive to the same registry.
const (
	scRockSkopeo = "rock: skopeo copy oci-archive:, cold"
	scRockCold   = "rock: docker charmcraft --image=X.rock, cold"
	scRockAgain  = "rock: docker charmcraft, the same rock again"
)

// rockLimit is issue 24's target: the plugin's cold upload of a rock
// against skopeo's copy of it.
const rockLimit = 0.80

// rockSteps measure a rock of the bench's image size, in 4 layers of
// random bytes (a rock's layers are compressed already).
func (b *bench) rockSteps() []step {
	return []step{{"rock, skopeo copy", b.rockSkopeo}, {"rock, docker charmcraft", b.rockPlugin}}
}

// rock writes the rock once (not timed).
func (b *bench) rock() (string, error) {
	if b.rockPath != "" {
		return b.rockPath, nil
	}
	path := filepath.Join(b.dir, "bench_1.0_amd64.rock")
	layer := b.cfg.size / layerCount
	logf("writing a rock of %s in %d layers", b.cfg.sizeText, layerCount)
	var sizes []int64
	for range layerCount {
		sizes = append(sizes, layer)
	}
	if _, err := ocitest.WriteArchive(path, ocitest.Spec{Images: []ocitest.Image{{Platform: "linux/amd64", Layers: sizes, Seed: 24, RefName: "1.0"}}}); err != nil {
		return "", fmt.Errorf("writing the rock: %w", err)
	}
	b.rockPath = path
	return path, nil
}

// rockSkopeo copies the rock to a fresh repository with skopeo.
func (b *bench) rockSkopeo(ctx context.Context) error {
	rock, err := b.rock()
	if err != nil {
		return err
	}
	creds, err := b.freshRepo(ctx)
	if err != nil {
		return err
	}
	return b.measureAs(scRockSkopeo, command(ctx, nil, b.peers.skopeo, "--insecure-policy", "copy", "-q",
		"--dest-tls-verify=false", "--dest-creds", creds.Username+":"+creds.Password,
		"oci-archive:"+rock, "docker://"+creds.ImageName+":bench"))
}

// rockPlugin uploads the rock to a fresh repository with no daemon, then
// again.
func (b *bench) rockPlugin(ctx context.Context) error {
	rock, err := b.rock()
	if err != nil {
		return err
	}
	noDaemon := []string{"DOCKER_HOST=unix://" + filepath.Join(b.dir, "no-docker.sock")}
	args := []string{"upload-resource", b.world.newCharm(), imageRes, "--image=" + rock}
	if err := b.measureAs(scRockCold, b.plugin(ctx, noDaemon, args...)); err != nil {
		return err
	}
	return b.measureAs(scRockAgain, b.plugin(ctx, noDaemon, args...))
}

// rockRatios are issue 24's targets.
func rockRatios(get lookup) []ratio {
	var out []ratio
	cold, ok := get(scRockCold)
	if !ok {
		return nil
	}
	if sk, ok := get(scRockSkopeo); ok && sk.Wall > 0 {
		v := cold.Wall.Seconds() / sk.Wall.Seconds()
		out = append(out, ratio{Name: "rock cold / " + scRockSkopeo + " (wall)", Value: v,
			Display: fmt.Sprintf("%.2f", v), Target: fmt.Sprintf("≤ %.2f", rockLimit), Met: ptr(v <= rockLimit)})
	}
	out = append(out, ratio{Name: "rock cold: peak RSS", Value: float64(cold.MaxRSS), Display: mib(cold.MaxRSS),
		Target: "≤ 64 MiB", Met: ptr(cold.MaxRSS > 0 && cold.MaxRSS <= rssLimit)})
	if again, ok := get(scRockAgain); ok {
		out = append(out, zeroBytes("rock again: blob bytes sent", again.BlobBytes))
	}
	return out
}
