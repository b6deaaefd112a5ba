package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPluginIsListedAndDescribed(t *testing.T) {
	res := dockerCmd(t, nil, "--help")
	if res.code != 0 || !strings.Contains(res.stdout, "charmcraft") {
		t.Fatalf("docker --help does not list the plugin:\n%s", res)
	}
	var line string
	for _, l := range strings.Split(res.stdout, "\n") {
		if strings.Contains(l, "charmcraft") {
			line = l
		}
	}
	if !strings.Contains(line, "Charmhub") {
		t.Errorf("docker --help line for the plugin lacks its description: %q", line)
	}

	res = pluginCmd(t, nil, "docker-cli-plugin-metadata")
	var meta struct{ SchemaVersion, Vendor, Version, ShortDescription string }
	if err := json.Unmarshal([]byte(res.stdout), &meta); err != nil {
		t.Fatalf("metadata is not JSON: %v\n%s", err, res)
	}
	if meta.SchemaVersion != "0.1.0" || meta.Vendor == "" || meta.Version != "e2e-test" || meta.ShortDescription == "" {
		t.Errorf("metadata = %+v", meta)
	}
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		name     string
		direct   bool // run the binary, not through docker
		args     []string
		wantCode int
		stdout   string // substring wanted on stdout
		stderr   string // substring wanted on stderr
	}{
		{name: "help", args: []string{"charmcraft", "--help"}, stdout: "upload-resource"},
		{name: "no args shows help", args: []string{"charmcraft"}, stdout: "upload-resource"},
		{name: "unknown command", args: []string{"charmcraft", "bogus"}, wantCode: 1, stderr: "bogus"},
		{name: "upload help", args: []string{"charmcraft", "upload-resource", "--help"}, stdout: "--filepath"},
		{name: "direct help", direct: true, args: []string{"upload-resource", "--help"}, stdout: "--image"},
		{name: "direct unknown", direct: true, args: []string{"bogus"}, wantCode: 1, stderr: "bogus"},
		{name: "direct with global flag", direct: true, args: []string{"--config", configDir, "upload-resource", "--help"}, stdout: "--filepath"},
		{name: "version", args: []string{"charmcraft", "--version"}, stdout: "e2e-test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res result
			if tt.direct {
				res = pluginCmd(t, nil, tt.args...)
			} else {
				res = dockerCmd(t, nil, tt.args...)
			}
			if res.code != tt.wantCode || !strings.Contains(res.stdout, tt.stdout) || !strings.Contains(res.stderr, tt.stderr) {
				t.Fatalf("want exit %d, stdout with %q, stderr with %q; got %s", tt.wantCode, tt.stdout, tt.stderr, res)
			}
		})
	}
}

// TestBadInputFailsBeforeAnyNetworkCall points every service at an address
// nothing listens on: each refusal must come from the checks made before
// any call, as one sentence, with no usage dump.
func TestBadInputFailsBeforeAnyNetworkCall(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "data.bin")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	unreadable := filepath.Join(dir, "secret.bin")
	if err := os.WriteFile(unreadable, []byte("x"), 0o000); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	_ = mkfifo(fifo)
	env := []string{
		"CHARMCRAFT_AUTH=" + exportedAuth("tok", false),
		"CHARMCRAFT_STORE_API_URL=http://127.0.0.1:1",
		"CHARMCRAFT_UPLOAD_URL=http://127.0.0.1:1",
		"CHARMCRAFT_REGISTRY_URL=http://127.0.0.1:1",
		"DOCKER_HOST=unix:///nonexistent/docker.sock",
	}
	up := []string{"charmcraft", "upload-resource", "my-charm", "my-res"}
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"neither option", nil, "exactly one of --filepath"},
		{"both options", []string{"--filepath", file, "--image", "70aa8983ec5c"}, "--filepath"},
		{"missing file", []string{"--filepath", filepath.Join(dir, "nope")}, "no such file"},
		{"directory", []string{"--filepath", dir}, "is a directory"},
		{"not regular", []string{"--filepath", fifo}, "not a regular file"},
		{"bad format", []string{"--filepath", file, "--format", "yaml"}, "--format"},
		{"one argument", []string{"--filepath", file, "extra", "args"}, "takes 2 arguments"},
		{"tag", []string{"--image", "redis:latest"}, "tag"},
		{"name", []string{"--image", "myimage"}, "image name"},
		{"name and digest", []string{"--image", "redis@sha256:" + strings.Repeat("a", 64)}, "image name"},
		{"registry", []string{"--image", "docker.io/library/redis@sha256:" + strings.Repeat("a", 64)}, "registry"},
		{"url", []string{"--image", "https://registry.jujucharms.com/x"}, "URL"},
		{"algorithm", []string{"--image", "sha512:" + strings.Repeat("a", 128)}, "sha256"},
		{"bad hex", []string{"--image", "sha256:" + strings.Repeat("g", 64)}, "hex"},
		{"too short", []string{"--image", "70aa89"}, "too short"},
	}
	if os.Geteuid() != 0 { // root reads anything
		tests = append(tests, struct {
			name   string
			args   []string
			stderr string
		}{"unreadable", []string{"--filepath", unreadable}, "permission denied"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "not regular" && !haveFifo {
				t.Skip("no named pipe can be made in a directory on this OS")
			}
			args := append(append([]string{}, up...), tt.args...)
			if tt.name == "one argument" {
				args = append([]string{"charmcraft", "upload-resource", "my-charm"}, tt.args...)
			}
			res := dockerCmd(t, env, args...)
			if res.code == 0 || !strings.Contains(res.stderr, tt.stderr) {
				t.Fatalf("want a failure mentioning %q; got %s", tt.stderr, res)
			}
			if strings.Contains(res.stderr, "Usage:") || strings.Contains(res.stderr, "goroutine ") || strings.Contains(res.stderr, "127.0.0.1:1") {
				t.Errorf("the refusal shows usage, a stack or a network error:\n%s", res)
			}
			if n := strings.Count(strings.TrimSpace(res.stderr), "\n"); n > 0 {
				t.Errorf("the refusal is %d lines, want one sentence:\n%s", n+1, res.stderr)
			}
		})
	}
}
