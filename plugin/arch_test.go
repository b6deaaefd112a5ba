package plugin

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestParseArchFlag(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "", want: []string{"all"}},
		{in: "all", want: []string{"all"}},
		{in: "amd64", want: []string{"amd64"}},
		{in: " arm64 , amd64 ", want: []string{"arm64", "amd64"}},
		{in: "amd64,amd64", want: []string{"amd64"}},
		{in: "all,amd64", wantErr: "stands alone"},
		{in: "amd64,all", wantErr: "stands alone"},
		{in: "amd64,", wantErr: "empty item"},
		{in: "x86_64", wantErr: `unknown architecture "x86_64"`},
		{in: "ppc64le", wantErr: `Charmhub calls ppc64le "ppc64el"`},
		{in: "AMD64", wantErr: "unknown architecture"},
	}
	for _, tt := range tests {
		got, err := parseArchFlag(tt.in)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("parseArchFlag(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || !slices.Equal(got, tt.want)):
			t.Errorf("parseArchFlag(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestImageArchs(t *testing.T) {
	tests := []struct {
		in       []string
		want     []string
		warnWith string
	}{
		{in: []string{"amd64"}, want: []string{"amd64"}},
		{in: []string{"arm"}, want: []string{"armhf"}},
		{in: []string{"ppc64le"}, want: []string{"ppc64el"}},
		{in: []string{"arm64", "amd64", "unknown", "arm64"}, want: []string{"arm64", "amd64"}}, // an index with an attestation
		{in: []string{""}, want: []string{"all"}},
		{in: nil, want: []string{"all"}},
		{in: []string{"amd64", "386"}, want: []string{"all"}, warnWith: `"386"`},
	}
	for _, tt := range tests {
		var w bytes.Buffer
		got := imageArchs(&w, tt.in)
		if !slices.Equal(got, tt.want) || !strings.Contains(w.String(), tt.warnWith) || (tt.warnWith == "" && w.Len() > 0) {
			t.Errorf("imageArchs(%q) = %q, warning %q; want %q, warning with %q", tt.in, got, w.String(), tt.want, tt.warnWith)
		}
	}
}

func TestCompleteArchs(t *testing.T) {
	got, _ := completeArchs(nil, nil, "")
	if !slices.Equal(got, append([]string{"all"}, charmhubArchs...)) {
		t.Errorf("completing \"\" = %q", got)
	}
	got, _ = completeArchs(nil, nil, "arm64,amd64,r")
	if slices.Contains(got, "arm64,amd64,arm64") || slices.Contains(got, "arm64,amd64,all") || !slices.Contains(got, "arm64,amd64,riscv64") {
		t.Errorf("completing a list = %q", got)
	}
}
