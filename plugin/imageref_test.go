package plugin

import (
	"strings"
	"testing"
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
