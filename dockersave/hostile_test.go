package dockersave

import (
	"archive/tar"
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// hostile builds an archive for one bad case.
type hostile struct {
	name string
	save func(t *testing.T) ([]byte, []Option)
	kind error
	msg  string // the error message contains it
}

func files(fs ...file) func(*testing.T) ([]byte, []Option) {
	return func(t *testing.T) ([]byte, []Option) { return tarOf(t, fs), nil }
}

// legacyEdit is a legacy save of 3 layers after edit changed its entries.
func legacyEdit(edit func(fx fixture, fs []file) []file) func(*testing.T) ([]byte, []Option) {
	return func(t *testing.T) ([]byte, []Option) {
		layers := [][]byte{randomLayer(t), textLayer(t), emptyLayer(t)}
		fx, fs := legacyWith(layers, digests(layers))
		return tarOf(t, edit(fx, fs)), nil
	}
}

// imageOf is an archive with manifest.json naming config and layers.
func imageOf(config string, layers []string, more ...file) []file {
	return append(more, file{name: "manifest.json", body: mustJSON([]saveItem{{Config: config, Layers: layers}})})
}

var emptyConfig = configFor(nil)

var hostiles = []hostile{
	{"path traversal", files(file{name: "a/../../evil", body: []byte("x")}), ErrInvalidArchive, `"a/../../evil" contains ".."`},
	{"absolute name", files(file{name: "/etc/passwd", body: []byte("x")}), ErrInvalidArchive, `absolute name "/etc/passwd"`},
	{"long name", files(file{name: strings.Repeat("a/", 600) + "x", body: []byte("x")}), ErrLimit, "longer than 1024 bytes"},
	{"symlink out of the archive", files(file{name: "a/layer.tar", typ: tar.TypeSymlink, link: "../../etc/shadow"}),
		ErrInvalidArchive, `target "../../etc/shadow" leads out of the archive`},
	{"absolute symlink", files(file{name: "a/layer.tar", typ: tar.TypeSymlink, link: "/etc/shadow"}), ErrInvalidArchive, "absolute target"},
	{"hard link out of the archive", files(file{name: "x", typ: tar.TypeLink, link: "../x"}), ErrInvalidArchive, "leads out of the archive"},
	{"symlink loop", files(imageOf("c.json", []string{"a/layer.tar"},
		file{name: "a/layer.tar", typ: tar.TypeSymlink, link: "../b/layer.tar"},
		file{name: "b/layer.tar", typ: tar.TypeSymlink, link: "../a/layer.tar"},
		file{name: "c.json", body: configFor([]digest.Digest{digest.FromString("x")})})...),
		ErrInvalidArchive, `layer 1 of 1 "a/layer.tar": link loop`},
	{"hard link to itself", files(imageOf("c.json", nil, file{name: "c.json", typ: tar.TypeLink, link: "c.json"})...),
		ErrInvalidArchive, "link loop"},
	{"duplicate manifest.json", legacyEdit(func(_ fixture, fs []file) []file {
		return append(fs, file{name: "manifest.json", body: []byte("[]")})
	}), ErrInvalidArchive, `entry "manifest.json" appears twice`},
	{"missing manifest.json", legacyEdit(func(_ fixture, fs []file) []file {
		return fs[:len(fs)-2]
	}), ErrInvalidArchive, "no manifest.json"},
	{"fewer layers than diff IDs", legacyEdit(func(fx fixture, fs []file) []file {
		return append(fs[:len(fs)-2], imageOf(fx.imageID.Encoded()+".json", []string{fs[3].name, fs[7].name})...)
	}), ErrDiffIDMismatch, "manifest.json lists 2 layers, but the image config has 3 diff IDs"},
	{"layer not matching its diff ID", func(t *testing.T) ([]byte, []Option) {
		layers := [][]byte{randomLayer(t), textLayer(t), emptyLayer(t)}
		diffIDs := digests(layers)
		diffIDs[1] = digest.FromString("another layer")
		_, fs := legacyWith(layers, diffIDs)
		return tarOf(t, fs), nil
	}, ErrDiffIDMismatch, "layer 2 of 3: diff ID " + digest.FromBytes(textLayer(&testing.T{})).String() +
		" does not match the image config's " + digest.FromString("another layer").String()},
	{"image inspect disagrees", func(t *testing.T) ([]byte, []Option) {
		fx := legacyFixture(t)
		return fx.save, []Option{WithImage(fx.imageID, fx.diffIDs[:2])}
	}, ErrDiffIDMismatch, "image inspect lists 2 layers, but the image config has 3"},
	{"another image", func(t *testing.T) ([]byte, []Option) {
		return legacyFixture(t).save, []Option{WithImage(digest.FromString("other"), nil)}
	}, ErrImageNotFound, "the stream holds no image " + digest.FromString("other").String()},
	{"two images, none named", files(file{name: "c.json", body: emptyConfig},
		file{name: "manifest.json", body: mustJSON([]saveItem{{Config: "c.json"}, {Config: "c.json"}})}),
		ErrImageNotFound, "manifest.json lists 2 images"},
	{"truncated in a layer", func(t *testing.T) ([]byte, []Option) {
		save := legacyFixture(t).save
		return save[:len(save)/2], nil
	}, ErrInvalidArchive, "layer.tar\": the stream was cut short: unexpected EOF"},
	{"truncated in a header", func(t *testing.T) ([]byte, []Option) {
		return legacyFixture(t).save[:1200], nil
	}, ErrInvalidArchive, ".json\": the stream was cut short"},
	{"not a tar", func(*testing.T) ([]byte, []Option) { return randomBytes(3, 4096), nil }, ErrInvalidArchive, "at the start: not a valid tar archive"},
	{"empty stream", func(*testing.T) ([]byte, []Option) { return nil, nil }, ErrInvalidArchive, "no manifest.json"},
	{"huge manifest.json", files(file{name: "manifest.json", body: append([]byte("["), bytes.Repeat([]byte(" "), 5<<20)...)}),
		ErrLimit, "manifest.json is 5242881 bytes, more than the limit of 4194304"},
	{"huge config", files(imageOf("c.json", nil, file{name: "c.json", body: append([]byte("{"), bytes.Repeat([]byte(" "), 5<<20)...)})...),
		ErrLimit, `image config "c.json" is 5242881 bytes`},
	{"manifest.json not a list", files(file{name: "manifest.json", body: []byte(`{"Config":"c.json"}`)}), ErrInvalidArchive, "parsing manifest.json"},
	{"config not JSON", files(imageOf("l.tar", nil, file{name: "l.tar", body: tarOf(&testing.T{}, nil)})...),
		ErrInvalidArchive, `image config "l.tar" is not a JSON document`},
	{"layer not a tar", files(imageOf("c.json", []string{"c.json"}, file{name: "c.json", body: configFor([]digest.Digest{digest.FromString("x")})})...),
		ErrInvalidArchive, `layer 1 of 1: "c.json" is not a layer tar`},
	{"config named for another digest", files(imageOf(digest.FromString("x").Encoded()+".json", nil,
		file{name: digest.FromString("x").Encoded() + ".json", body: emptyConfig})...), ErrDigestMismatch, "hashes to " + digest.FromBytes(emptyConfig).String() + ", not to its name"},
	{"JSON blob not matching its name", files(file{name: blobPath(digest.FromString("x")), body: emptyConfig}),
		ErrDigestMismatch, "hashes to " + digest.FromBytes(emptyConfig).String() + ", not to its name"},
	{"layer blob not matching its name", files(file{name: blobPath(digest.FromString("x")), body: tarOf(&testing.T{}, nil)}),
		ErrDigestMismatch, "hashes to sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef, not to its name"},
	// docker save writes its layers uncompressed; other tools' archives
	// are not read.
	{"compressed layers", func(t *testing.T) ([]byte, []Option) { return legacyGzipFixture(t).save, nil },
		ErrInvalidArchive, `layer 1 of 3: "c78164a03bc6c8223468cb3486cff966a63f1a4d9a83c72e3584c890f0e7a918/layer.tar" is not a layer tar`},
	{"sparse file of 1 TiB", func(t *testing.T) ([]byte, []Option) { return sparseTar(t), nil },
		ErrInvalidArchive, `entry "big" is a sparse file`},
	{"too many entries", func(t *testing.T) ([]byte, []Option) {
		return legacyFixture(t).save, []Option{withLimits(func(l *limits) { l.entries = 5 })}
	}, ErrLimit, "more than 5 entries"},
	{"too much JSON", func(t *testing.T) ([]byte, []Option) {
		return legacyFixture(t).save, []Option{withLimits(func(l *limits) { l.jsonTotal = 100 })}
	}, ErrLimit, "JSON documents add up to more than 100 bytes"},
}

func TestBuildHostile(t *testing.T) {
	for _, tc := range hostiles {
		t.Run(tc.name, func(t *testing.T) {
			save, opts := tc.save(t)
			res, err := Build(t.Context(), bytes.NewReader(save), newMemStore(), opts...)
			if err == nil {
				t.Fatalf("no error; manifest %s", res.Manifest)
			}
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v\nwant %v containing %q", err, tc.kind, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "reading docker save stream: ") {
				t.Errorf("%q does not say it was reading the stream", err)
			}
		})
	}
}

// sparseTar is a tar of one PAX sparse file: 512 bytes of data standing
// for 1 TiB. archive/tar cannot write one, so the PAX header is patched in.
func sparseTar(t *testing.T) []byte {
	record := func(k, v string) string {
		s := " " + k + "=" + v + "\n"
		n := len(s) + 1
		for len(strconv.Itoa(n))+len(s) != n {
			n++
		}
		return strconv.Itoa(n) + s
	}
	pax := record("GNU.sparse.map", "0,512") + record("GNU.sparse.numblocks", "1") + record("GNU.sparse.size", "1099511627776")
	b := tarOf(t, []file{{name: "pax", body: []byte(pax)}, {name: "big", body: make([]byte, 512)}})
	b[156] = tar.TypeXHeader
	setChecksum(b)
	return b
}
