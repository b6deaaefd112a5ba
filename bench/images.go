//go:build linux

package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The test image has four layers of equal size, random (incompressible)
// and text-like in turn. The variant differs from it in changedLayer
// only.
const (
	layerCount   = 4
	changedLayer = 2
)

// fileTime is the modification time of every file put in an image, so
// that an unchanged file gives an unchanged layer.
var fileTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// The image of many small layers (issue 17): what latency costs most.
const (
	smallLayers    = 60
	smallLayerSize = 200 << 10
)

// images are the test images on the daemon.
type images struct {
	base, variant       string // image IDs
	baseDiffs, varDiffs []string
	layerSize           int64
	small               string // of smallLayers random layers; "" when not built
}

func randomLayer(i int) bool { return i%2 == 0 }

// buildImages writes the layers' files into dir and builds both images.
func buildImages(ctx context.Context, dir string, size int64) (*images, error) {
	img := &images{layerSize: size / layerCount}
	if err := writeContext(dir, img.layerSize); err != nil {
		return nil, err
	}
	var err error
	if img.base, img.baseDiffs, err = dockerBuild(ctx, dir); err != nil {
		return img, err
	}
	// A fresh random file, same name, same time: only its layer changes.
	if err := writeLayerFile(dir, changedLayer, img.layerSize); err != nil {
		return img, err
	}
	if img.variant, img.varDiffs, err = dockerBuild(ctx, dir); err != nil {
		return img, err
	}
	return img, img.checkDiffIDs()
}

func writeContext(dir string, layerSize int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var df strings.Builder
	df.WriteString("FROM scratch\n")
	for i := range layerCount {
		if err := writeLayerFile(dir, i, layerSize); err != nil {
			return err
		}
		fmt.Fprintf(&df, "COPY %s /%s\n", layerFile(i), layerFile(i))
	}
	return os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df.String()), 0o644)
}

func layerFile(i int) string { return fmt.Sprintf("layer%d.bin", i) }

func writeLayerFile(dir string, i int, size int64) error {
	path := filepath.Join(dir, layerFile(i))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if randomLayer(i) {
		_, err = io.CopyN(f, rand.Reader, size)
	} else {
		err = writeText(f, size, uint64(i))
	}
	if err == nil {
		err = f.Truncate(size)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return os.Chtimes(path, fileTime, fileTime)
}

// writeText writes at least size bytes of text-like data: lines of words
// from a seeded vocabulary, drawn with a Zipf law as in prose. The same
// seed gives the same bytes.
func writeText(w io.Writer, size int64, seed uint64) error {
	rng := mrand.New(mrand.NewPCG(seed, 0x62656e6368))
	vocab := make([]string, 8192)
	for i := range vocab {
		b := make([]byte, 2+rng.IntN(9))
		for j := range b {
			b[j] = byte('a' + rng.IntN(26))
		}
		vocab[i] = string(b)
	}
	zipf := mrand.NewZipf(rng, 1.07, 2, uint64(len(vocab)-1))
	bw := bufio.NewWriterSize(w, 1<<20)
	var n, col int64
	for n < size {
		word := vocab[zipf.Uint64()]
		sep := byte(' ')
		if col += int64(len(word)) + 1; col > 72 {
			sep, col = '\n', 0
		}
		k, _ := bw.WriteString(word)
		_ = bw.WriteByte(sep)
		n += int64(k) + 1
	}
	return bw.Flush()
}

// dockerBuild builds dir with the classic builder and returns the image
// ID and its layers' diff IDs.
func dockerBuild(ctx context.Context, dir string) (string, []string, error) {
	cmd := exec.CommandContext(ctx, "docker", "build", "-q", dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	out, err := cmd.Output()
	if err != nil {
		return "", nil, fmt.Errorf("docker build: %w%s", err, stderrOf(err))
	}
	id := strings.TrimSpace(string(out))
	out, err = exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}", id).Output()
	if err != nil {
		return id, nil, fmt.Errorf("docker image inspect %s: %w%s", id, err, stderrOf(err))
	}
	var diffs []string
	err = json.Unmarshal(out, &diffs)
	return id, diffs, err
}

// checkDiffIDs makes sure the variant shares every layer with the base
// but the changed one.
func (img *images) checkDiffIDs() error {
	if len(img.baseDiffs) != layerCount || len(img.varDiffs) != layerCount {
		return fmt.Errorf("the test images have %d and %d layers, not %d", len(img.baseDiffs), len(img.varDiffs), layerCount)
	}
	for i := range layerCount {
		if same := img.baseDiffs[i] == img.varDiffs[i]; same == (i == changedLayer) {
			return fmt.Errorf("layer %d of the variant image: diff ID %s, base %s; want only layer %d to differ",
				i, img.varDiffs[i], img.baseDiffs[i], changedLayer)
		}
	}
	return nil
}

// buildSmallImage builds, FROM scratch, the image of smallLayers random
// layers of smallLayerSize.
func (img *images) buildSmallImage(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var df strings.Builder
	df.WriteString("FROM scratch\n")
	for i := range smallLayers {
		name := fmt.Sprintf("small%02d.bin", i)
		if err := writeRandomFile(filepath.Join(dir, name), smallLayerSize); err != nil {
			return err
		}
		fmt.Fprintf(&df, "COPY %s /%s\n", name, name)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df.String()), 0o644); err != nil {
		return err
	}
	id, diffs, err := dockerBuild(ctx, dir)
	img.small = id
	if err == nil && len(diffs) != smallLayers {
		err = fmt.Errorf("the image of small layers has %d layers, not %d", len(diffs), smallLayers)
	}
	return err
}

// remove deletes the images and every tag given to them.
func (img *images) remove() {
	for _, id := range []string{img.base, img.variant, img.small} {
		if id != "" {
			_ = exec.Command("docker", "rmi", "-f", id).Run()
		}
	}
}

// stderrOf is the end of an exec.ExitError's stderr, for messages.
func stderrOf(err error) string {
	var ee *exec.ExitError
	if !errors.As(err, &ee) || len(ee.Stderr) == 0 {
		return ""
	}
	return ":\n" + tail(string(ee.Stderr), 2000)
}
