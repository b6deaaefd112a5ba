package plugin

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
)

// The tests of issue 15's rows: what a charm author meets in the first
// hour, run in process through the root.

// complete asks the plugin to complete words, as `docker __complete
// charmcraft ...` does, and returns the candidates and the directive line.
func complete(t *testing.T, env map[string]string, words ...string) ([]string, string) {
	t.Helper()
	res := runPlugin(t, env, nil, append([]string{cobra.ShellCompRequestCmd, pluginName}, words...)...)
	if res.code != 0 {
		t.Fatalf("__complete %q: %s", words, res)
	}
	var values []string
	directive := ""
	for _, line := range strings.Split(strings.TrimSpace(res.stdout), "\n") {
		if strings.HasPrefix(line, ":") {
			directive = line
			continue
		}
		value, _, _ := strings.Cut(line, "\t")
		values = append(values, value)
	}
	return values, directive
}

func TestCompleteFileFlags(t *testing.T) {
	tests := []struct {
		name  string
		words []string
	}{
		{"--filepath", []string{"upload-resource", "my-charm", "my-file", "--filepath", ""}},
		{"--filepath=", []string{"upload-resource", "my-charm", "my-file", "--filepath="}},
		{"--with-credentials", []string{"login", "--with-credentials", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// :0 is cobra.ShellCompDirectiveDefault: the shell completes
			// file names, as for `docker build --file`.
			if _, directive := complete(t, nil, tt.words...); directive != ":0" {
				t.Errorf("directive %q, want :0 (file names)", directive)
			}
		})
	}
	// The arguments are names on Charmhub, not files.
	if _, directive := complete(t, nil, "upload-resource", ""); directive != ":4" {
		t.Errorf("CHARM completes with directive %q, want :4 (no file names)", directive)
	}
}

func TestCompleteImageIDs(t *testing.T) {
	const a = "sha256:70aa8983ec5c1f2e3d4c5b6a79880123456789abcdef0123456789abcdef01"
	const b = "sha256:52df5ce66513aabbccddeeff00112233445566778899aabbccddeeff00112233"
	d := newDaemonFake(t, fakeImage{id: a, tags: []string{"myimage:1.0"}}, fakeImage{id: b})
	env := map[string]string{"DOCKER_HOST": d.host()}
	got, directive := complete(t, env, "upload-resource", "my-charm", "my-image", "--image", "")
	if !slices.Equal(got, []string{"70aa8983ec5c", "52df5ce66513"}) || directive != ":4" {
		t.Errorf("--image offers %q (%s), want the two short IDs, no file names", got, directive)
	}
	got, _ = complete(t, env, "upload-resource", "my-charm", "my-image", "--image=52")
	if !slices.Equal(got, []string{"52df5ce66513"}) {
		t.Errorf("--image=52 offers %q", got)
	}

	// A path, or no image that matches: file names, for a rock.
	for _, word := range []string{"--image=./", "--image=my-r"} {
		if got, directive = complete(t, env, "upload-resource", "my-charm", "my-image", word); len(got) != 0 || directive != ":0" {
			t.Errorf("%s offers %q (%s), want file names (:0)", word, got, directive)
		}
	}

	// No daemon: file names alone, at once.
	start := time.Now()
	got, directive = complete(t, nil, "upload-resource", "my-charm", "my-image", "--image", "")
	if len(got) != 0 || directive != ":0" || time.Since(start) > 5*time.Second {
		t.Errorf("without a daemon --image offers %q (%s) after %s", got, directive, time.Since(start))
	}
}

func TestLoginHelpNamesTheFlagValue(t *testing.T) {
	res := run(t, nil, "login", "--help")
	if res.code != 0 || !regexp.MustCompile(`(?m)^\s+--with-credentials FILE\s+\S`).MatchString(res.stdout) {
		t.Errorf("login --help should show --with-credentials FILE: %s", res)
	}
}

func TestImageNameHintsTheLocalID(t *testing.T) {
	const id = "sha256:70aa8983ec5c1f2e3d4c5b6a79880123456789abcdef0123456789abcdef01"
	hub := newHub(t)
	d := newDaemonFake(t, fakeImage{id: id, tags: []string{"myimage:1.0", "myimage:latest"}})
	tests := []struct {
		image, want string
	}{
		{"myimage:1.0", "includes a tag"},
		{"myimage", "is an image name"},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			env := hubEnv(hub, ownerToken)
			env["DOCKER_HOST"] = d.host()
			res := run(t, env, "upload-resource", "my-charm", "my-image", "--image="+tt.image)
			if res.code != 1 || !strings.Contains(res.stderr, tt.want) || !strings.Contains(res.stderr, "use --image=70aa8983ec5c") {
				t.Errorf("want the refusal and the exact ID to type: %s", res)
			}
		})
	}
	if n := len(hub.Requests()); n != 0 {
		t.Errorf("Charmhub got %d requests for refused values", n)
	}

	// A name the daemon does not know, and no daemon: the refusal alone.
	env := hubEnv(hub, ownerToken)
	env["DOCKER_HOST"] = d.host()
	res := run(t, env, "upload-resource", "my-charm", "my-image", "--image=other:2")
	if res.code != 1 || !strings.Contains(res.stderr, "includes a tag") || strings.Contains(res.stderr, "use --image=") {
		t.Errorf("unknown name: %s", res)
	}
	res = run(t, hubEnv(hub, ownerToken), "upload-resource", "my-charm", "my-image", "--image=myimage:1.0")
	if res.code != 1 || !strings.Contains(res.stderr, "includes a tag") || strings.Contains(res.stderr, "use --image=") || strings.Contains(res.stderr, "daemon") {
		t.Errorf("no daemon: %s", res)
	}

	// The daemon is not asked about a value accepted as a digest, before
	// Charmhub says the resource exists.
	before := len(d.imageCalls())
	res = run(t, env, "upload-resource", "my-charm", "nope", "--image=70aa8983ec5c")
	if res.code != 1 || len(d.imageCalls()) != before {
		t.Errorf("the daemon was asked %q for an upload Charmhub refuses: %s", d.imageCalls()[before:], res)
	}
}

func TestListingsSayWhatToCheckWhenUnreachable(t *testing.T) {
	shortGrace(t)
	env := map[string]string{apiURLEnv: "http://127.0.0.1:1", authEnv: exportToken(ownerToken)}
	for _, args := range [][]string{
		{"resources", "my-charm"},
		{"resource-revisions", "my-charm", "my-file"},
		{"set-resource-architectures", "my-charm", "my-file", "--revision=1", "amd64"},
		{"whoami"},
	} {
		t.Run(args[0], func(t *testing.T) {
			res := run(t, env, args...)
			if res.code != 1 || !strings.Contains(res.stderr, "Charmhub refused the connection while ") || !strings.Contains(res.stderr, "Check that the service runs at the address given ("+apiURLEnv) {
				t.Errorf("want the cause and what to check: %s", res)
			}
			if args[0] != "whoami" && (!strings.Contains(res.stderr, "'my-charm'") || strings.Contains(res.stderr, `"my-charm"`)) {
				t.Errorf("want the charm's name in single quotes: %s", res)
			}
		})
	}
}

func TestUnknownResourceNamesEachResourceOnce(t *testing.T) {
	hub := newHub(t)
	// A charm's resources come once per charm revision that declares
	// them.
	hub.AddCharm(charmhubtest.Charm{
		Name: "my-charm", Owner: "alice",
		Resources: []charmhubtest.ResourceSpec{
			{Name: "my-file", Type: charmhub.TypeFile},
			{Name: "my-image", Type: charmhub.TypeOCIImage},
			{Name: "my-file", Type: charmhub.TypeFile},
			{Name: "my-file", Type: charmhub.TypeFile},
		},
	})
	path := writeTestFile(t, "f", 10)
	res := run(t, hubEnv(hub, ownerToken), "upload-resource", "my-charm", "nope", "--filepath", path)
	if res.code != 1 || !strings.HasSuffix(res.stderr, "its resources are: 'my-file', 'my-image'\n") {
		t.Errorf("want each name once: %s", res)
	}
}

func TestArgumentErrorsReadAlike(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"resources"}, "'docker charmcraft resources' takes 1 argument, CHARM, but was given none"},
		{[]string{"resources", "a", "b"}, "'docker charmcraft resources' takes 1 argument, CHARM, but was given 2"},
		{[]string{"resource-revisions", "a"}, "'docker charmcraft resource-revisions' takes 2 arguments, CHARM RESOURCE, but was given 1"},
		{[]string{"upload-resource"}, "'docker charmcraft upload-resource' takes 2 arguments, CHARM RESOURCE, but was given none"},
		{[]string{"login", "x"}, "'docker charmcraft login' takes no arguments, but was given 1"},
		{[]string{"logout", "x", "y"}, "'docker charmcraft logout' takes no arguments, but was given 2"},
		{[]string{"whoami", "x"}, "'docker charmcraft whoami' takes no arguments, but was given 1"},
		{[]string{"set-resource-architectures", "a", "b"}, "'docker charmcraft set-resource-architectures' takes 3 arguments, CHARM RESOURCE ARCHS, but was given 2"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			res := run(t, nil, tt.args...)
			want := tt.want + "; see 'docker charmcraft " + tt.args[0] + " --help'\n"
			if res.code != 1 || res.stderr != want {
				t.Errorf("stderr %q, want %q (%s)", res.stderr, want, res)
			}
		})
	}
}

func TestBadEndpointNamesTheVariable(t *testing.T) {
	for _, e := range endpointEnvs {
		name := e.name
		t.Run(name, func(t *testing.T) {
			env := map[string]string{authEnv: exportToken(ownerToken), name: "not a url"}
			res := run(t, env, "whoami")
			want := name + "='not a url' is not a URL: give an https URL such as "
			if res.code != 1 || !strings.HasPrefix(res.stderr, want) {
				t.Errorf("stderr %q, want it to start with %q", res.stderr, want)
			}
		})
	}
	env := map[string]string{authEnv: exportToken(ownerToken), apiURLEnv: "ftp://example.com"}
	if res := run(t, env, "whoami"); res.code != 1 || !strings.HasPrefix(res.stderr, apiURLEnv+"='ftp://example.com' is not an http or https URL") {
		t.Errorf("ftp: %s", res)
	}
}

func TestLoginWithCredentialsDirectory(t *testing.T) {
	dir := t.TempDir()
	res := run(t, nil, "login", "--with-credentials", dir)
	if res.code != 1 || res.stderr != "--with-credentials "+quotePath(dir)+" is a directory: give the path of a regular file\n" {
		t.Errorf("%s", res)
	}
	res = run(t, nil, "login", "--with-credentials", dir+"/none")
	if res.code != 1 || res.stderr != "--with-credentials "+quotePath(dir+"/none")+": no such file\n" {
		t.Errorf("%s", res)
	}
}

func TestNamesQuotedOneWay(t *testing.T) {
	hub := newHub(t)
	unreachable := map[string]string{apiURLEnv: "http://127.0.0.1:1", authEnv: exportToken(ownerToken)}
	path := writeTestFile(t, "f", 10)
	tests := []struct {
		env  map[string]string
		args []string
	}{
		{unreachable, []string{"upload-resource", "my-charm", "my-file", "--filepath", path}}, // listings: above
		{hubEnv(hub, strangerToken), []string{"resources", "my-charm"}},
		{hubEnv(hub, ownerToken), []string{"resource-revisions", "my-charm", "nope"}},
		{hubEnv(hub, ownerToken), []string{"upload-resource", "my-charm", "my-image", "--filepath", path}},
		{hubEnv(hub, ownerToken), []string{"set-resource-architectures", "my-charm", "my-file", "--revision=7", "amd64"}},
	}
	// What Charmhub said is shown as it said it.
	serverText := regexp.MustCompile(`(not-found|permission-required): [^)\n]*`)
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:2], " "), func(t *testing.T) {
			res := run(t, tt.env, tt.args...)
			ours := serverText.ReplaceAllString(res.stderr, "")
			if res.code != 1 || !strings.Contains(ours, "'my-charm'") || strings.Contains(ours, `"my-charm"`) || strings.Contains(ours, `"my-file"`) {
				t.Errorf("want names in single quotes only: %s", res)
			}
		})
	}
}

func TestQuietFlag(t *testing.T) {
	hub := newHub(t)
	path := writeTestFile(t, "data.bin", 1<<20)
	for _, flag := range []string{"-q", "--quiet"} {
		res := uploadAsOwner(t, hub, path, flag)
		if res.code != 0 || res.stderr != "" || !strings.HasPrefix(res.stdout, "Revision ") {
			t.Errorf("%s: want the result alone: %s", flag, res)
		}
	}
	res := uploadAsOwner(t, hub, path, "-q", "--progress=tty")
	if res.code != 1 || res.stderr != "-q turns progress off, so it cannot be given with --progress=tty: give one or the other\n" {
		t.Errorf("-q with --progress=tty: %s", res)
	}
}

func TestUsageLinesShowOptions(t *testing.T) {
	// docker's usage template writes the usage line of a command with
	// subcommands itself, with [OPTIONS]; the others are as their Use.
	for _, c := range NewRootCmd(nil, "test").Commands() {
		options := false
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.InheritedFlags()} {
			fs.VisitAll(func(f *pflag.Flag) { options = options || f.Name != "help" })
		}
		if got := strings.Contains(c.Use, "[OPTIONS]"); got != options {
			t.Errorf("%s: usage %q, yet it has options: %v", c.CommandPath(), c.Use, options)
		}
	}
	for _, c := range []string{"resources", "logout"} {
		res := run(t, nil, c, "--help")
		if !strings.Contains(res.stdout, "Usage:  docker charmcraft "+c+" [OPTIONS]") {
			t.Errorf("%s --help: %s", c, res)
		}
	}
}

func TestFilepathTildeHint(t *testing.T) {
	hub := newHub(t)
	res := run(t, hubEnv(hub, ownerToken), "upload-resource", "my-charm", "my-file", "--filepath=~/data.tar.gz")
	if res.code != 1 || !strings.Contains(res.stderr, "no such file") || !strings.Contains(res.stderr, "the shell does not expand ~ after =: write --filepath ~/data.tar.gz") {
		t.Errorf("%s", res)
	}
	if n := len(hub.Requests()); n != 0 {
		t.Errorf("%d requests to Charmhub", n)
	}
}

// TestDebugIsTheRoots checks that --debug, declared once on the root,
// logs the requests of every command, after the command or before it.
func TestDebugIsTheRoots(t *testing.T) {
	hub := newHub(t)
	uploadRevisions(t, hubEnv(hub, ownerToken), 1)
	for _, args := range [][]string{
		{"whoami", "--debug"},
		{"--debug", "whoami"},
		{"resources", "my-charm", "--debug"},
		{"resource-revisions", "my-charm", "my-file", "--debug"},
		{"set-resource-architectures", "my-charm", "my-file", "--revision=1", "all", "--debug"},
		{"upload-resource", "my-charm", "my-file", "--filepath", writeTestFile(t, "f", 10), "--debug"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			res := run(t, hubEnv(hub, ownerToken), args...)
			if res.code != 0 || !strings.Contains(res.stderr, "/api/v1/") || strings.Contains(res.stderr, ownerToken) {
				t.Errorf("want the requests logged, the token not: %s", res)
			}
			if quiet := run(t, hubEnv(hub, ownerToken), slices.DeleteFunc(slices.Clone(args), func(a string) bool { return a == "--debug" })...); strings.Contains(quiet.stderr, "/api/v1/") {
				t.Errorf("without --debug, requests are logged: %s", quiet)
			}
		})
	}
}
