package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnvNamesHaveOneHome keeps every environment variable's name in
// env.go, where a reader looks for what the plugin reads: the other files
// of plugin/ name none, and the libraries read none.
func TestEnvNamesHaveOneHome(t *testing.T) {
	var files []string
	for _, dir := range []string{".", "../charmhub", "../registry", "../imagepush", "../dockersave", "../layercache", "../internal/transport"} {
		fs, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, fs...)
	}
	for _, f := range files {
		if f == "env.go" || strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			if strings.Contains(line, `"CHARMCRAFT_`) {
				t.Errorf("%s:%d names a variable outside env.go: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}

// TestEnvRefusals checks the sentences that refuse a variable's value,
// before any request.
func TestEnvRefusals(t *testing.T) {
	hub := newHub(t)
	path := writeTestFile(t, "data.bin", 10)
	tests := []struct {
		name, value, want string
	}{
		{reviewTimeoutEnv, "soon", reviewTimeoutEnv + `="soon" is not a positive duration such as 60s or 2m`},
		{reviewTimeoutEnv, "-1s", reviewTimeoutEnv + `="-1s" is not a positive duration such as 60s or 2m`},
		{stallTimeoutEnv, "0", stallTimeoutEnv + `="0" is not a positive duration such as 30s or 2m`},
		{apiURLEnv, "https://user:hunter2@api.example.com", apiURLEnv + "='https://user:xxxxx@api.example.com' holds credentials, which are never sent this way: give an https URL such as https://api.charmhub.io, or unset it"},
		{uploadURLEnv, "https://storage.example.com/?x=1", uploadURLEnv + "='https://storage.example.com/?x=1' has a query, which a base URL cannot have"},
		{registryURLEnv, "ftp://registry.example.com", registryURLEnv + "='ftp://registry.example.com' is not an http or https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			env := hubEnv(hub, ownerToken)
			env[tt.name] = tt.value
			before := len(hub.Requests())
			res := run(t, env, "upload-resource", "my-charm", "my-file", "--filepath", path)
			if res.code != 1 || !strings.HasPrefix(res.stderr, tt.want) || strings.Contains(res.stderr, "hunter2") {
				t.Errorf("want %q: %s", tt.want, res)
			}
			if n := len(hub.Requests()) - before; n != 0 {
				t.Errorf("%d requests before the refusal", n)
			}
		})
	}
}
