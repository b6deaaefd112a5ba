package plugin

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/cli/cli"
	cliplugin "github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/debug"
	"github.com/spf13/cobra"

	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
	"github.com/canonical/docker-charmcraft/internal/testutil"
)

// The in-process command tests run the plugin's root as docker/cli's
// plugin.Run does, minus the process: the same top-level command around
// it (global flags, file completion off by default, no "[flags]" in usage
// lines), against charmhubtest, and against daemonFake where a daemon is
// asked something. What needs the docker CLI binary or a real daemon is
// in e2e/.

// Tokens of the accounts of newHub.
const (
	ownerToken    = "macaroon-alice-in-process"
	expiredToken  = "macaroon-alice-expired"
	collabToken   = "macaroon-bob-in-process"
	strangerToken = "macaroon-eve-in-process"
)

// newHub starts a test Charmhub where alice owns my-charm (a file and an
// image resource, bob collaborating) and bare-charm (no resource), and
// eve owns nothing; alice and bob can log in with Ubuntu One.
func newHub(t *testing.T) *charmhubtest.Server {
	t.Helper()
	mine := charmhubtest.MyCharm("charm-id-alice", "alice")
	mine.Collaborators = []string{"bob"}
	hub := charmhubtest.Start(t, charmhubtest.WorldConfig{
		NoRegistry: true,
		Accounts: []charmhubtest.Account{
			{Username: "alice", Token: ownerToken}, {Username: "alice", Token: expiredToken},
			{Username: "bob", Token: collabToken}, {Username: "eve", Token: strangerToken},
		},
		Charms:      []charmhubtest.Charm{mine, {Name: "bare-charm", ID: "charm-id-bare", Owner: "alice"}},
		SSOAccounts: []charmhubtest.SSOAccount{charmhubtest.Alice, charmhubtest.Bob},
	}).Hub
	hub.ExpireToken(expiredToken)
	return hub
}

// hubEnv points the plugin at hub, with token exported as
// CHARMCRAFT_AUTH ("" for none).
func hubEnv(hub *charmhubtest.Server, token string) map[string]string {
	env := map[string]string{
		apiURLEnv:        hub.APIURL(),
		uploadURLEnv:     hub.StorageURL(),
		reviewTimeoutEnv: "3s",
	}
	if token != "" {
		env[authEnv] = exportToken(token)
	}
	return env
}

func exportToken(token string) string {
	return base64.StdEncoding.EncodeToString([]byte(token))
}

// cmdResult is what one in-process run did.
type cmdResult struct {
	stdout, stderr string
	code           int
}

func (r cmdResult) String() string {
	return "exit " + strconv.Itoa(r.code) + "\nstdout:\n" + r.stdout + "\nstderr:\n" + r.stderr
}

// pluginEnv lists every variable the plugin reads, so that a run sees
// only what the test sets.
var pluginEnv = []string{apiURLEnv, uploadURLEnv, ssoURLEnv, registryURLEnv, authEnv, reviewTimeoutEnv,
	allowInsecureEnv, stallTimeoutEnv, retryTimeoutEnv, cacheDirEnv, "DOCKER_CONTEXT", "DOCKER_CLI_PLUGIN_SOCKET"}

// runPlugin runs `docker-charmcraft args...` in process: args start with
// "charmcraft" (or "__complete"), as docker passes them. env is set for
// the run; the Docker daemon is one that cannot be reached unless env
// sets DOCKER_HOST. The docker config is the first DOCKER_CONFIG of the
// process (docker/cli reads it once): a test that stores credentials
// gives its own directory with --config (see userConfig).
func runPlugin(t *testing.T, env map[string]string, stdin io.Reader, args ...string) cmdResult {
	t.Helper()
	return runPluginTo(t, env, stdin, nil, args...)
}

// runPluginTo is runPlugin with stderr going to errStream, when not nil
// (a terminal), instead of the result.
func runPluginTo(t *testing.T, env map[string]string, stdin io.Reader, errStream io.Writer, args ...string) cmdResult {
	t.Helper()
	for _, k := range pluginEnv {
		t.Setenv(k, "")
	}
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv(cacheDirEnv, t.TempDir())
	t.Setenv(retryTimeoutEnv, "3s") // a service out of reach fails fast
	t.Setenv("TERM", "xterm")
	for k, v := range env {
		t.Setenv(k, v)
	}
	t.Cleanup(debug.Disable)
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var stdout, stderr testutil.SyncBuffer
	if errStream == nil {
		errStream = &stderr
	}
	dockerCli, err := command.NewDockerCli(
		command.WithInputStream(io.NopCloser(stdin)),
		command.WithOutputStream(&stdout),
		command.WithErrorStream(errStream),
	)
	if err != nil {
		t.Fatal(err)
	}
	top := pluginTopCmd(dockerCli, NewRootCmd(dockerCli, "test"))
	top.SetArgs(args)
	top.SetOut(&stdout)
	top.SetErr(errStream)
	err = top.ExecuteContext(t.Context())
	res := cmdResult{}
	if err != nil {
		// What plugin.Run prints and exits with.
		res.code = 1
		if se, ok := errors.AsType[cli.StatusError](err); ok {
			if se.StatusCode != 0 {
				res.code = se.StatusCode
			}
			_, _ = io.WriteString(dockerCli.Err(), se.Error()+"\n")
		} else {
			_, _ = io.WriteString(dockerCli.Err(), err.Error()+"\n")
		}
	}
	res.stdout, res.stderr = stdout.String(), stderr.String()
	return res
}

// uploadAsOwner uploads the file at path to the stand-in's my-file as
// the charm's owner, with flags.
func uploadAsOwner(t *testing.T, hub *charmhubtest.Server, path string, flags ...string) cmdResult {
	t.Helper()
	return run(t, hubEnv(hub, ownerToken), append([]string{"upload-resource", "my-charm", "my-file", "--filepath", path}, flags...)...)
}

// run is runPlugin of `charmcraft args...` with no input.
func run(t *testing.T, env map[string]string, args ...string) cmdResult {
	t.Helper()
	return runPlugin(t, env, nil, append([]string{pluginName}, args...)...)
}

var preRunMu sync.Mutex

// pluginTopCmd wraps the plugin's root as docker/cli v29's
// newPluginCommand does (cli-plugins/plugin/plugin.go): the plugin
// protocol's top-level command, with docker's global flags, file
// completion off unless a flag asks for it, and no "[flags]" appended to
// usage lines. Its PersistentPreRunE initialises the CLI as RunPlugin's
// does, without the plugin socket.
func pluginTopCmd(dockerCli *command.DockerCli, plugin *cobra.Command) *cobra.Command {
	top := &cobra.Command{
		Use:           "docker [OPTIONS] " + plugin.Name() + " [ARG...]",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return cliplugin.PersistentPreRunE(cmd, args)
		},
		TraverseChildren:      true,
		DisableFlagsInUseLine: true,
		CompletionOptions:     cobra.CompletionOptions{HiddenDefaultCmd: true},
	}
	top.CompletionOptions.SetDefaultShellCompDirective(cobra.ShellCompDirectiveNoFileComp)
	opts, flags := cli.SetupPluginRootCommand(top)
	top.AddCommand(plugin)
	var visit func(*cobra.Command)
	visit = func(c *cobra.Command) {
		c.DisableFlagsInUseLine = true
		for _, sub := range c.Commands() {
			visit(sub)
		}
	}
	visit(top)
	preRunMu.Lock()
	defer preRunMu.Unlock()
	cliplugin.PersistentPreRunE = func(*cobra.Command, []string) error {
		opts.SetDefaultOptions(flags)
		return dockerCli.Initialize(opts)
	}
	return top
}

// daemonFake answers the few Docker API calls the plugin makes outside
// an image push: the ping, the image list and image inspect. It counts
// the image calls.
type daemonFake struct {
	srv    *httptest.Server
	mu     sync.Mutex
	calls  []string
	images []fakeImage
}

type fakeImage struct {
	id      string // sha256:<64 hex>
	tags    []string
	created int64 // Unix seconds
}

func newDaemonFake(t *testing.T, images ...fakeImage) *daemonFake {
	t.Helper()
	d := &daemonFake{images: images}
	d.srv = httptest.NewServer(http.HandlerFunc(d.serve))
	t.Cleanup(d.srv.Close)
	return d
}

// host is the DOCKER_HOST that reaches the fake.
func (d *daemonFake) host() string { return "tcp://" + strings.TrimPrefix(d.srv.URL, "http://") }

func (d *daemonFake) imageCalls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...)
}

func (d *daemonFake) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Api-Version", "1.41")
	w.Header().Set("Content-Type", "application/json")
	p := r.URL.Path
	if i := strings.Index(p, "/images/"); i >= 0 {
		p = p[i:]
		d.mu.Lock()
		d.calls = append(d.calls, r.Method+" "+p)
		d.mu.Unlock()
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/_ping"):
		_, _ = io.WriteString(w, "OK")
	case p == "/images/json":
		var filters map[string]map[string]bool
		_ = json.Unmarshal([]byte(r.URL.Query().Get("filters")), &filters)
		list := []map[string]any{}
		for _, img := range d.images {
			if refs := filters["reference"]; len(refs) > 0 && !slices.ContainsFunc(img.tags, func(tag string) bool {
				repo, _, _ := strings.Cut(tag, ":") // as the daemon matches a name alone: any of its tags
				return refs[repo]
			}) {
				continue
			}
			list = append(list, map[string]any{"Id": img.id, "RepoTags": img.tags, "RepoDigests": []string{}, "Created": img.created})
		}
		_ = json.NewEncoder(w).Encode(list)
	case strings.HasPrefix(p, "/images/") && strings.HasSuffix(p, "/json"):
		ref := strings.TrimSuffix(strings.TrimPrefix(p, "/images/"), "/json")
		if !strings.Contains(ref, ":") {
			ref += ":latest" // as the daemon reads a name without a tag
		}
		for _, img := range d.images {
			if slices.Contains(img.tags, ref) || ref == img.id+":latest" {
				_ = json.NewEncoder(w).Encode(map[string]any{"Id": img.id, "RepoTags": img.tags, "Architecture": "amd64",
					"RootFS": map[string]any{"Type": "layers", "Layers": []string{}}})
				return
			}
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"message": "No such image: `+ref+`"}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"message": "page not found"}`)
	}
}

// writeTestFile writes a file of n bytes in a fresh directory.
func writeTestFile(t *testing.T, name string, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(strings.Repeat("x", n)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// shortGrace shortens the retries of a failed first contact for the
// length of t, for a test that does not time them.
func shortGrace(t *testing.T) {
	old := firstContactGrace
	firstContactGrace = 100 * time.Millisecond
	t.Cleanup(func() { firstContactGrace = old })
}
