package windows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/faultproxy"
)

// TestCtrlC interrupts a file upload slowed down to 1 MB/s, as Ctrl-C in
// a console would: Wine turns SIGINT into a CTRL_C_EVENT. The program
// must stop at once, say it was cancelled, exit 130 and create no
// revision.
func TestCtrlC(t *testing.T) {
	w := newWorld(t)
	dir := workDir(t)
	writeFile(t, dir, "big file.bin", 32<<20, 0o644)
	w.hubProxy.Add(faultproxy.Rule{Path: "/storage/unscanned-upload/", Fault: faultproxy.Throttle(1 << 20)})
	temp := filepath.Join(profile(), "AppData", "Local", "Temp") // %TEMP%
	before := entries(t, temp)
	p := newPlugin(t, dir, w.env(true), "upload-resource", "my-charm", "my-file", "--filepath", "big file.bin")
	p.start(t)
	deadline := time.Now().Add(time.Minute)
	for w.hubProxy.Count("POST", "/storage/unscanned-upload/") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the upload did not start:\n%s", output(p.stderr))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	res, took := p.interrupt(t)
	t.Logf("stopped %s after SIGINT: exit %d, stderr %q", took.Round(time.Millisecond), res.code, res.stderr)
	if took > 3*time.Second {
		t.Errorf("took %s to stop, want at most 3s", took)
	}
	if res.code != 130 || res.stdout != "" || !strings.Contains(res.stderr, "cancelled") {
		t.Errorf("want exit 130 saying it was cancelled; got %s", res)
	}
	seen := len(w.hubProxy.Requests())
	time.Sleep(500 * time.Millisecond)
	if n := len(w.hubProxy.Requests()) - seen; n != 0 {
		t.Errorf("%d requests sent after the program ended", n)
	}
	if n := len(w.hub.Revisions("my-charm", "my-file")); n != 0 {
		t.Errorf("%d revisions created", n)
	}
	if n := len(w.hub.Uploads()); n != 0 {
		t.Errorf("storage received %d uploads in full", n)
	}
	for name := range entries(t, temp) {
		if !before[name] {
			t.Errorf(`left behind in %%TEMP%%: %s`, name)
		}
	}
	noTrace(t, res)
}

// entries are the names in dir.
func entries(t *testing.T, dir string) map[string]bool {
	t.Helper()
	list, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, e := range list {
		names[e.Name()] = true
	}
	return names
}
