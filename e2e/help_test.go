package e2e

import (
	"slices"
	"strings"
	"testing"
)

var commands = []string{"upload-resource", "resources", "resource-revisions", "set-resource-architectures", "login", "logout", "whoami", "version"}

// TestEveryCommandIsDocumented checks each command's help: its one-line
// summary in the list, a longer description and examples.
func TestEveryCommandIsDocumented(t *testing.T) {
	res := dockerCmd(t, nil, "charmcraft", "--help")
	if res.code != 0 || !strings.Contains(res.stdout, "Examples:") {
		t.Fatalf("charmcraft --help: %s", res)
	}
	for _, c := range commands {
		t.Run(c, func(t *testing.T) {
			var summary string
			for _, line := range strings.Split(res.stdout, "\n") {
				if f := strings.Fields(line); len(f) > 1 && f[0] == c {
					summary = strings.Join(f[1:], " ")
				}
			}
			if len(summary) < 20 {
				t.Errorf("charmcraft --help lists %s with summary %q", c, summary)
			}
			help := dockerCmd(t, nil, "charmcraft", c, "--help")
			if help.code != 0 || !strings.Contains(help.stdout, "Examples:\n  docker charmcraft "+c) {
				t.Fatalf("%s --help lacks examples: %s", c, help)
			}
			usage, _, _ := strings.Cut(help.stdout, "Examples:")
			if n := len(strings.Split(strings.TrimSpace(usage), "\n")); n < 4 {
				t.Errorf("%s --help has no long description:\n%s", c, help.stdout)
			}
		})
	}
}

// complete asks the docker CLI to complete a command line, as the shell
// scripts of `docker completion` do, and returns the candidates.
func complete(t *testing.T, words ...string) []string {
	t.Helper()
	res := dockerCmd(t, nil, append([]string{"__complete"}, words...)...)
	if res.code != 0 {
		t.Fatalf("__complete %q: %s", words, res)
	}
	var out []string
	for _, line := range strings.Split(res.stdout, "\n") {
		if line == "" || strings.HasPrefix(line, ":") {
			continue
		}
		value, _, _ := strings.Cut(line, "\t")
		out = append(out, value)
	}
	return out
}

func TestCompletion(t *testing.T) {
	tests := []struct {
		name  string
		words []string
		want  []string // all must be offered
		not   []string // none may be
	}{
		{name: "commands", words: []string{"charmcraft", ""}, want: commands},
		{name: "plugin name", words: []string{"charm"}, want: []string{"charmcraft"}},
		{name: "upload flags", words: []string{"charmcraft", "upload-resource", "--"},
			want: []string{"--filepath", "--image", "--format", "--progress", "--arch", "--debug"}},
		{name: "progress values", words: []string{"charmcraft", "upload-resource", "--progress", ""}, want: []string{"auto", "tty", "plain", "quiet"}},
		{name: "progress value after =", words: []string{"charmcraft", "upload-resource", "--progress=p"}, want: []string{"plain"}},
		{name: "format values", words: []string{"charmcraft", "upload-resource", "--format", ""}, want: []string{"json"}},
		{name: "format of resources", words: []string{"charmcraft", "resources", "--format", ""}, want: []string{"json"}},
		{name: "arch values", words: []string{"charmcraft", "upload-resource", "--arch", ""},
			want: []string{"all", "amd64", "arm64", "armhf", "ppc64el", "riscv64", "s390x"}},
		{name: "arch list", words: []string{"charmcraft", "upload-resource", "--arch", "amd64,"},
			want: []string{"amd64,arm64", "amd64,s390x"}, not: []string{"amd64,amd64", "amd64,all"}},
		{name: "login flags", words: []string{"charmcraft", "login", "--"}, want: []string{"--with-credentials"}},
		{name: "architectures to set", words: []string{"charmcraft", "set-resource-architectures", "my-charm", "my-file", "arm64,"},
			want: []string{"arm64,amd64", "arm64,s390x"}, not: []string{"arm64,arm64", "arm64,all"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := complete(t, tt.words...)
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("%q not offered; got %q", w, got)
				}
			}
			for _, w := range tt.not {
				if slices.Contains(got, w) {
					t.Errorf("%q offered; got %q", w, got)
				}
			}
		})
	}
}

// TestFileCompletion checks that the flags that take a path let the shell
// complete file names, as `docker build --file` does, though docker
// turns file completion off for plugins unless a flag asks for it.
func TestFileCompletion(t *testing.T) {
	for _, words := range [][]string{
		{"build", "--file", ""},
		{"charmcraft", "upload-resource", "my-charm", "my-file", "--filepath", ""},
		{"charmcraft", "login", "--with-credentials", ""},
	} {
		res := dockerCmd(t, nil, append([]string{"__complete"}, words...)...)
		if lines := strings.Split(strings.TrimSpace(res.stdout), "\n"); res.code != 0 || lines[len(lines)-1] != ":0" {
			t.Errorf("__complete %q: want :0 (file names): %s", words, res)
		}
	}
}

// TestCompletionScript checks that the shell scripts `docker completion`
// writes get their candidates from `docker __complete`, tested above.
func TestCompletionScript(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		res := dockerCmd(t, nil, "completion", shell)
		if res.code != 0 || !strings.Contains(res.stdout, "__complete") {
			t.Errorf("docker completion %s does not ask `docker __complete`: %s", shell, res.stderr)
		}
	}
}
