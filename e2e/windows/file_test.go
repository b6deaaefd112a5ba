package windows

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// writeFile writes size random bytes at dir/rel, with its directories,
// readable by the Wine user unless mode says otherwise.
func writeFile(t *testing.T, dir, rel string, size int, mode os.FileMode) []byte {
	t.Helper()
	data := make([]byte, size)
	_, _ = rand.Read(data)
	path := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(path) })
	return data
}

// TestUploadFilePaths uploads files named the ways a Windows user names
// them: each upload must read the file meant and create one revision.
func TestUploadFilePaths(t *testing.T) {
	w := newWorld(t)
	dir := workDir(t)
	files := map[string][]byte{
		"data.bin":   writeFile(t, dir, "data.bin", 300<<10, 0o644),
		"nested.bin": writeFile(t, dir, "sub/nested.bin", 1000, 0o644),
		"spaces":     writeFile(t, dir, "my files/data file.bin", 2000, 0o644),
		"profile":    writeFile(t, profile(), "data.bin", 3000, 0o644),
	}
	win := winPath(t, dir)
	tests := []struct {
		name, cwd, path string
		file, base      string // which of files it names, and its base name
	}{
		{"drive letter", "", win + `\data.bin`, "data.bin", "data.bin"},
		{"drive letter, forward slashes", "", strings.ReplaceAll(win, `\`, "/") + "/data.bin", "data.bin", "data.bin"},
		{"drive C:, the user's profile", "", `C:\users\` + wine.user + `\data.bin`, "profile", "data.bin"},
		{"relative", dir, "data.bin", "data.bin", "data.bin"},
		{"relative, dot", dir, `.\sub\nested.bin`, "nested.bin", "nested.bin"},
		{"relative, parent", filepath.Join(dir, "sub"), `..\data.bin`, "data.bin", "data.bin"},
		{"relative, spaces", dir, `my files\data file.bin`, "spaces", "data file.bin"},
		{"relative, other case", dir, `DATA.BIN`, "data.bin", "DATA.BIN"},
		{"rooted, on the current drive", dir, strings.TrimPrefix(win, "Z:") + `\data.bin`, "data.bin", "data.bin"},
		{"spaces", "", win + `\my files\data file.bin`, "spaces", "data file.bin"},
		{`extended-length \\?\`, "", `\\?\` + win + `\sub\nested.bin`, "nested.bin", "nested.bin"},
		{`device \\.\`, "", `\\.\` + win + `\data.bin`, "data.bin", "data.bin"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runPlugin(t, tt.cwd, w.env(true), "upload-resource", "my-charm", "my-file", "--filepath", tt.path)
			want := "Revision " + strconv.Itoa(i+1) + " created of resource 'my-file' for charm 'my-charm'\n"
			if res.code != 0 || res.stdout != want {
				t.Fatalf("--filepath %s: want %q; got %s", tt.path, want, res)
			}
			revs := w.hub.Revisions("my-charm", "my-file")
			if len(revs) != i+1 || !bytes.Equal(revs[i].Content, files[tt.file]) {
				t.Fatalf("%d revisions; want %d, the last holding the %d bytes of %s", len(revs), i+1, len(files[tt.file]), tt.file)
			}
			for _, up := range w.hub.Uploads() {
				if up.ID == revs[i].UploadID && up.Filename != tt.base {
					t.Errorf("uploaded as %q, want %q", up.Filename, tt.base)
				}
			}
			noTrace(t, res)
		})
	}
}

// TestUploadFileRefused gives files that cannot be uploaded: one sentence
// naming the path as typed, exit 1, and nothing sent to Charmhub.
func TestUploadFileRefused(t *testing.T) {
	w := newWorld(t)
	dir := workDir(t)
	writeFile(t, dir, "secret.bin", 100, 0o600) // the Wine user is not root
	win := winPath(t, dir)
	tests := []struct {
		name, cwd, path, stderr string
	}{
		{"missing", "", win + `\nope.bin`, "--filepath '" + win + `\nope.bin': no such file`},
		{"missing, relative", dir, `nope.bin`, "--filepath 'nope.bin': no such file"},
		{"missing directory", "", win + `\no such dir\x.bin`, "--filepath '" + win + `\no such dir\x.bin': no such file`},
		{"missing drive", "", `Q:\data.bin`, `--filepath 'Q:\data.bin': no such file`},
		{"unreadable", "", win + `\secret.bin`, "--filepath '" + win + `\secret.bin' cannot be read: permission denied`},
		{"directory", "", win, "--filepath '" + win + "' is a directory"},
		// Wine serves no network shares: a UNC path to one is not there.
		{"network share", "", `\\localhost\share\data.bin`, `--filepath '\\localhost\share\data.bin': no such file`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(w.hubProxy.Requests())
			res := runPlugin(t, tt.cwd, w.env(true), "upload-resource", "my-charm", "my-file", "--filepath", tt.path)
			if res.code != 1 || res.stdout != "" || !strings.Contains(res.stderr, tt.stderr) {
				t.Errorf("want exit 1 and %q; got %s", tt.stderr, res)
			}
			if lines := strings.Count(strings.TrimSpace(res.stderr), "\n") + 1; lines != 1 {
				t.Errorf("want one sentence, got %d lines:\n%s", lines, res.stderr)
			}
			if n := len(w.hubProxy.Requests()) - before; n != 0 {
				t.Errorf("%d requests sent to Charmhub", n)
			}
			noTrace(t, res)
		})
	}
	if n := len(w.hub.Revisions("my-charm", "my-file")); n != 0 {
		t.Errorf("%d revisions created", n)
	}
}
