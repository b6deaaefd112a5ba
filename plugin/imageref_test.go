package plugin

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseImageDigest(t *testing.T) {
	long := "c8f0dbc0d5a5e3aef7281a4d3941e97f204390b2cba9de6c117341361cbe84e4"
	tests := []struct {
		name    string
		in      string
		want    string // String() of the result
		full    bool
		wantErr string // a phrase the refusal must contain
	}{
		{name: "long", in: "sha256:" + long, want: "sha256:" + long, full: true},
		{name: "long bare hex", in: long, want: "sha256:" + long, full: true},
		{name: "long uppercase", in: "SHA256:" + strings.ToUpper(long), want: "sha256:" + long, full: true},
		{name: "short", in: "70aa8983ec5c", want: "sha256:70aa8983ec5c"},
		{name: "short prefixed", in: "sha256:70aa8983ec5c", want: "sha256:70aa8983ec5c"},
		{name: "short 63", in: long[:63], want: "sha256:" + long[:63]},
		{name: "empty", in: "", wantErr: "needs a value"},
		{name: "tag", in: "redis:latest", wantErr: "tag"},
		{name: "bare tag", in: ":v1", wantErr: "tag"},
		{name: "name with tag", in: "charm/app:v1", wantErr: "tag"},
		{name: "name at digest", in: "redis@sha256:" + long, wantErr: "image name"},
		{name: "name", in: "myimage", wantErr: "image name"},
		{name: "path name", in: "library/redis", wantErr: "image name"},
		{name: "registry digest", in: "docker.io/library/redis@sha256:" + long, wantErr: "registry"},
		{name: "registry port", in: "localhost:5000/redis", wantErr: "registry"},
		{name: "registry name", in: "ghcr.io/x/y", wantErr: "registry"},
		{name: "url", in: "https://registry.jujucharms.com/charm/x", wantErr: "URL"},
		{name: "other algorithm", in: "sha512:" + long + long, wantErr: "only sha256"},
		{name: "bad hex", in: "sha256:zz" + long[2:], wantErr: "only hex"},
		{name: "too long", in: "sha256:" + long + "00", wantErr: "64 hex"},
		{name: "too short", in: "70aa898", wantErr: "too short"},
		{name: "too short prefixed", in: "sha256:70aa", wantErr: "too short"},
		{name: "prefix only", in: "sha256:", wantErr: "only hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseImageDigest(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("parseImageDigest(%q) = %v, want an error containing %q", tt.in, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseImageDigest(%q) error = %q, want it to contain %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseImageDigest(%q): %v", tt.in, err)
			}
			if got.String() != tt.want || got.full != tt.full {
				t.Errorf("parseImageDigest(%q) = %s (full %v), want %s (full %v)", tt.in, got, got.full, tt.want, tt.full)
			}
		})
	}
}

func FuzzParseImageDigest(f *testing.F) {
	for _, s := range []string{"70aa8983ec5c", "sha256:70aa8983ec5c", "redis:latest", "a@b", "https://x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseImageDigest(s)
		if err != nil {
			return
		}
		if len(d.hex) < minShortDigest || len(d.hex) > 64 || d.full != (len(d.hex) == 64) || !hexRE.MatchString(d.hex) || strings.ToLower(d.hex) != d.hex {
			t.Fatalf("parseImageDigest(%q) accepted a bad digest %+v", s, d)
		}
	})
}

func TestStandaloneArgs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"docker-charmcraft upload-resource a b", "docker-charmcraft charmcraft upload-resource a b"},
		{"docker-charmcraft --context x upload-resource", "docker-charmcraft --context x charmcraft upload-resource"},
		{"docker-charmcraft -H unix:///s --debug upload-resource", "docker-charmcraft -H unix:///s --debug charmcraft upload-resource"},
		{"docker-charmcraft --config=/d upload-resource", "docker-charmcraft --config=/d charmcraft upload-resource"},
		{"docker-charmcraft charmcraft upload-resource", "docker-charmcraft charmcraft upload-resource"},
		{"docker-charmcraft", "docker-charmcraft charmcraft"},
		{"docker-charmcraft --help", "docker-charmcraft --help charmcraft"},
	}
	for _, tt := range tests {
		got := strings.Join(StandaloneArgs(strings.Fields(tt.in)), " ")
		if got != tt.want {
			t.Errorf("StandaloneArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// fakeStat is os.Stat over a made-up file system: files and dirs.
func fakeStat(files, dirs []string) func(string) (fs.FileInfo, error) {
	return func(p string) (fs.FileInfo, error) {
		switch {
		case slices.Contains(files, p):
			return fakeInfo{name: p}, nil
		case slices.Contains(dirs, p):
			return fakeInfo{name: p, dir: true}, nil
		}
		return nil, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
	}
}

type fakeInfo struct {
	name string
	dir  bool
}

func (i fakeInfo) Name() string       { return i.name }
func (i fakeInfo) Size() int64        { return 0 }
func (i fakeInfo) ModTime() time.Time { return time.Time{} }
func (i fakeInfo) IsDir() bool        { return i.dir }
func (i fakeInfo) Sys() any           { return nil }
func (i fakeInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir
	}
	return 0
}

func TestParseImageArg(t *testing.T) {
	files := []string{"./x.rock", "x.rock", "my rock.rock", "/tmp/x.rock", `C:\rocks\x.rock`, `.\x.rock`, `\\server\share\x.rock`, "D:/x.rock", "70aa8983ec5c", "saved.tar"}
	dirs := []string{"./layout", "layout", `C:\layouts\x`, "/tmp/layout"}
	stat := fakeStat(files, dirs)
	tests := []struct {
		in      string
		archive string // the path of the archive or layout; "" for a digest
		layout  bool
		digest  string
		wantErr string
	}{
		{in: "./x.rock", archive: "./x.rock"},
		{in: "x.rock", archive: "x.rock"},
		{in: "my rock.rock", archive: "my rock.rock"},
		{in: "/tmp/x.rock", archive: "/tmp/x.rock"},
		{in: "saved.tar", archive: "saved.tar"},
		{in: `C:\rocks\x.rock`, archive: `C:\rocks\x.rock`},
		{in: "D:/x.rock", archive: "D:/x.rock"},
		{in: `.\x.rock`, archive: `.\x.rock`},
		{in: `\\server\share\x.rock`, archive: `\\server\share\x.rock`},
		{in: "./layout", archive: "./layout", layout: true},
		{in: "layout", archive: "layout", layout: true},
		{in: `C:\layouts\x`, archive: `C:\layouts\x`, layout: true},
		{in: "oci-archive:x.rock", archive: "x.rock"},
		{in: `oci-archive:C:\rocks\x.rock`, archive: `C:\rocks\x.rock`},
		{in: "oci:layout", archive: "layout", layout: true},
		{in: "oci:/tmp/layout", archive: "/tmp/layout", layout: true},
		{in: "oci:x.rock", wantErr: "is a file, not an OCI layout directory"},
		{in: "oci-archive:layout", wantErr: "is a directory, not an OCI archive"},
		{in: "oci-archive:", wantErr: "names no path"},
		{in: "oci-archive:gone.rock", wantErr: `no such file or directory "gone.rock"`},
		{in: "./gone.rock", wantErr: `no such file or directory "./gone.rock"`},
		{in: "../gone", wantErr: "no such file or directory"},
		{in: "/nowhere", wantErr: "no such file or directory"},
		{in: `E:\gone.rock`, wantErr: "no such file or directory"},
		{in: `.\gone.rock`, wantErr: "no such file or directory"},
		{in: "gone.rock", wantErr: "no such file in this directory"},
		{in: "myrock_1.0_amd64.rock", wantErr: "\nGive the path of the rock"},
		{in: "70aa8983ec5c", wantErr: "both an image ID and the name of a file"},
		{in: "5ce4e53e997b", digest: "sha256:5ce4e53e997b"},
		{in: " 5ce4e53e997b", digest: "sha256:5ce4e53e997b"},
		{in: "5ce4e53e997b\t", digest: "sha256:5ce4e53e997b"},
		{in: "ux-app", wantErr: "image name"},
		{in: "ux-app:1.0", wantErr: "tag"},
		{in: "sha512:5ce4e53e997b", wantErr: "uses the sha512 algorithm"},
		{in: "sha512:…", wantErr: "uses the sha512 algorithm"},
		{in: "localhost:5000/x.rock", wantErr: "registry"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseImageArg(tt.in, stat)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseImageArg(%q) = %+v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseImageArg(%q): %v", tt.in, err)
			}
			switch {
			case tt.archive != "" && (got.archive == nil || got.archive.Path != tt.archive || got.archive.Layout != tt.layout):
				t.Errorf("parseImageArg(%q) = %+v, want the archive %q (layout %v)", tt.in, got.archive, tt.archive, tt.layout)
			case tt.digest != "" && (got.archive != nil || got.digest.String() != tt.digest):
				t.Errorf("parseImageArg(%q) = %+v, want the digest %s", tt.in, got, tt.digest)
			}
		})
	}
}

func FuzzParseImageArg(f *testing.F) {
	for _, s := range []string{"./x.rock", "oci-archive:x.rock", "oci:dir", `C:\x.rock`, `.\x`, " 70aa8983ec5c", "sha512:ab", "x.rock", "~/x.rock", ".", "70aa8983ec5c"} {
		f.Add(s)
	}
	stat := fakeStat([]string{"./x.rock", "x.rock", "70aa8983ec5c"}, []string{"dir", "."})
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseImageArg(s, stat)
		if err != nil {
			return
		}
		if got.archive != nil {
			if _, serr := stat(got.archive.Path); serr != nil && !strings.HasPrefix(s, "~") {
				t.Fatalf("parseImageArg(%q) accepted %q, which does not exist", s, got.archive.Path)
			}
			return
		}
		if d := got.digest; len(d.hex) < minShortDigest || !hexRE.MatchString(d.hex) {
			t.Fatalf("parseImageArg(%q) accepted a bad digest %+v", s, d)
		}
	})
}
