package e2e

import (
	"encoding/json"
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
