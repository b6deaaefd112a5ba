package dockersave

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// file is one entry of a test archive.
type file struct {
	name string
	body []byte
	typ  byte   // tar.TypeReg when zero
	link string // target of a tar.TypeSymlink or tar.TypeLink
}

func tarOf(t testing.TB, files []file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, ModTime: time.Unix(0, 0), Typeflag: f.typ, Linkname: f.link}
		if f.typ == 0 {
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sorted returns files in name order, as docker save and containerd write them.
func sorted(files []file) []file {
	sort.SliceStable(files, func(i, j int) bool { return files[i].name < files[j].name })
	return files
}

func randomBytes(seed byte, n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}

// textBytes is n bytes of log-like text.
func textBytes(seed uint64, n int) []byte {
	words := strings.Fields("the layer image docker save manifest registry charm resource push config digest gzip tar " +
		"error warning info debug request response upload blob sha256 ubuntu jammy noble amd64 arm64 /usr/lib /etc")
	r := rand.New(rand.NewPCG(seed, seed)) //nolint:gosec // test data, reproducible on purpose
	var b bytes.Buffer
	for line := 0; b.Len() < n; line++ {
		fmt.Fprintf(&b, "2026-01-%02d %05d", 1+line%28, line)
		for range 4 + r.IntN(10) {
			b.WriteString(" " + words[r.IntN(len(words))])
		}
		b.WriteByte('\n')
	}
	return b.Bytes()[:n]
}

func randomLayer(t testing.TB) []byte {
	return tarOf(t, []file{{name: "bin/random", body: randomBytes(1, 1<<20)}})
}

func textLayer(t testing.TB) []byte {
	return tarOf(t, []file{
		{name: "etc/", typ: tar.TypeDir},
		{name: "etc/app.conf", body: textBytes(1, 300<<10)},
		{name: "var/log/app.log", body: textBytes(2, 200<<10)},
	})
}

func emptyLayer(t testing.TB) []byte { return tarOf(t, nil) }

func configFor(diffIDs []digest.Digest) []byte {
	b, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Cmd": []string{"/bin/app"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	return b
}

func digests(blobs [][]byte) []digest.Digest {
	var ds []digest.Digest
	for _, b := range blobs {
		ds = append(ds, digest.FromBytes(b))
	}
	return ds
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// fixture is a docker save stream and what it holds.
type fixture struct {
	save    []byte
	config  []byte
	imageID digest.Digest   // for WithImage
	diffIDs []digest.Digest // RootFS.Layers
	blobs   int             // distinct layer blobs
}

func gzipped(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// blobPath is where an OCI layout keeps the blob d.
func blobPath(d digest.Digest) string {
	return "blobs/" + d.Algorithm().String() + "/" + d.Encoded()
}

// setChecksum writes the checksum of the tar header at the start of b,
// after a test changed it.
func setChecksum(b []byte) {
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b[:512] {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
}
