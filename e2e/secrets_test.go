package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
	"github.com/canonical/docker-charmcraft/internal/faultproxy"
)

// secrets collects every secret a run may come across, to look for in
// its output.
type secrets struct {
	mu   sync.Mutex
	list []string
}

func (s *secrets) add(v ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, v...)
}

// registryPassword makes recognisable registry passwords, and remembers
// them.
func (s *secrets) registryPassword() string {
	p := "regpass-" + rand.Text()
	s.add(p)
	return p
}

// jwtRE matches a JSON Web Token, the registry's bearer tokens: its
// header is base64 of JSON, which starts with eyJ; and base64 of one.
var jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}|ZXlK[A-Za-z0-9+/]{8,}`)

// markers are strings only a printed macaroon or token of the test
// servers holds.
var markers = []string{"charmhubtest-token-", "charmhubtest-root-", "sso-caveat-"}

// find lists what out shows of the secrets, raw or in base64 at any
// alignment, of bearer tokens, macaroons and stack traces.
func (s *secrets) find(out string) []string {
	s.mu.Lock()
	list := append([]string(nil), s.list...)
	s.mu.Unlock()
	var found []string
	for _, secret := range list {
		for _, form := range leakForms(secret) {
			if strings.Contains(out, form) {
				found = append(found, fmt.Sprintf("a secret (%.6s..., as %q)", secret, form))
			}
		}
	}
	if m := jwtRE.FindString(out); m != "" {
		found = append(found, fmt.Sprintf("a bearer token (%.12s...)", m))
	}
	for _, m := range markers {
		if strings.Contains(out, m) {
			found = append(found, "a macaroon or token ("+m+")")
		}
	}
	if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic:") {
		found = append(found, "a stack trace")
	}
	return found
}

// leakForms is secret and the runs of base64 (standard and URL alphabets)
// that encode it whatever bytes come before and after it.
func leakForms(secret string) []string {
	forms := []string{secret}
	for pad := range 3 {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			e := enc.EncodeToString([]byte(strings.Repeat("\x00", pad) + secret))
			start, end := (pad*8+5)/6, len(e)-4
			if end-start >= 8 {
				forms = append(forms, e[start:end])
			}
		}
	}
	return forms
}

// TestNoSecretShows runs every command, on its success and error paths,
// with and without --debug, with known credentials, macaroons, registry
// passwords and tokens, and looks for them in everything printed.
func TestNoSecretShows(t *testing.T) {
	known := &secrets{}
	w := newWorld(t, charmhubtest.WithRegistryPasswords(known.registryPassword))
	known.add(ownerToken, collabToken, strangerToken, expiredToken, alicePassword, bobPassword,
		exportedAuth(ownerToken, false), exportedAuth(ownerToken, true))
	proxy, err := faultproxy.New(w.hub.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	regProxy := w.proxyRegistry(t)
	proxied := func(extra ...string) []string {
		return append([]string{"CHARMCRAFT_STORE_API_URL=" + proxy.URL + "/api", "CHARMCRAFT_UPLOAD_URL=" + proxy.URL + "/storage",
			"CHARMCRAFT_REGISTRY_URL=" + regProxy.URL, "CHARMCRAFT_STALL_TIMEOUT=2s",
			// What a failure that persists prints is the point, not how long
			// it is retried: the default budget made six runs wait 2 minutes each
			// (1 s bounds the first contact's grace too).
			"CHARMCRAFT_RETRY_TIMEOUT=1s"}, extra...)
	}
	path, _ := writeFile(t, "data.bin", 1000)
	image := ""
	if exec.CommandContext(t.Context(), "docker", "info").Run() == nil && !testing.Short() {
		image = buildImage(t, 707, layerSpec{size: 1000})
	}
	u := newUserConfig(t, w)
	credFile := filepath.Join(t.TempDir(), "creds")
	if err := os.WriteFile(credFile, []byte(exportedAuth(ownerToken, true)), 0o600); err != nil {
		t.Fatal(err)
	}
	badFile := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(badFile, []byte("not base64 at all: "+ownerToken), 0o600); err != nil {
		t.Fatal(err)
	}

	type run struct {
		name  string
		token string   // CHARMCRAFT_AUTH, "" for none
		env   []string // more environment
		hub   []faultproxy.Rule
		reg   []faultproxy.Rule
		args  []string // after "charmcraft"
		image bool     // needs the daemon
	}
	up := []string{"upload-resource", "my-charm", "my-file", "--filepath", path}
	upImage := []string{"upload-resource", "my-charm", "my-image", "--image", image}
	runs := []run{
		{name: "upload a file", token: ownerToken, args: up},
		{name: "upload a file, json", token: ownerToken, args: append(up, "--format", "json")},
		{name: "upload an image", token: ownerToken, args: upImage, image: true},
		{name: "upload an image again", token: ownerToken, args: upImage, image: true},
		{name: "resources", token: ownerToken, args: []string{"resources", "my-charm"}},
		{name: "resources, json", token: ownerToken, args: []string{"resources", "my-charm", "--format", "json"}},
		{name: "resource-revisions", token: ownerToken, args: []string{"resource-revisions", "my-charm", "my-file"}},
		{name: "set-resource-architectures", token: ownerToken, args: []string{"set-resource-architectures", "my-charm", "my-file", "--revision=1", "arm64"}},
		{name: "set-resource-architectures, json", token: ownerToken, args: []string{"set-resource-architectures", "my-charm", "my-file", "--revision=1", "all", "--format=json"}},
		{name: "set-resource-architectures, no such revision", token: ownerToken, args: []string{"set-resource-architectures", "my-charm", "my-file", "--revision=99", "arm64"}},
		{name: "set-resource-architectures, no permission", token: strangerToken, args: []string{"set-resource-architectures", "my-charm", "my-file", "--revision=1", "arm64"}},
		{name: "resource-revisions of an image", token: ownerToken, args: []string{"resource-revisions", "my-charm", "my-image"}},
		{name: "whoami", token: ownerToken, args: []string{"whoami"}},
		{name: "whoami, json", token: ownerToken, args: []string{"whoami", "--format", "json"}},
		{name: "version", token: ownerToken, args: []string{"version"}},
		{name: "version, an argument too many", token: ownerToken, args: []string{"version", "extra"}},
		{name: "invalid credentials", token: "nobody-0123456789", args: up},
		{name: "expired credentials", token: expiredToken, args: up},
		{name: "no permission", token: strangerToken, args: up},
		{name: "no permission to list", token: strangerToken, args: []string{"resources", "my-charm"}},
		{name: "whoami, invalid", token: "nobody-0123456789", args: []string{"whoami"}},
		{name: "unknown charm", token: ownerToken, args: []string{"upload-resource", "nope", "my-file", "--filepath", path}},
		{name: "unknown resource", token: ownerToken, args: []string{"upload-resource", "my-charm", "nope", "--filepath", path}},
		{name: "wrong type", token: ownerToken, args: []string{"upload-resource", "my-charm", "my-image", "--filepath", path}},
		{name: "bad input", token: ownerToken, args: []string{"upload-resource", "my-charm", "my-image", "--image", "redis:latest"}},
		{name: "malformed CHARMCRAFT_AUTH", env: []string{"CHARMCRAFT_AUTH=%%%" + ownerToken}, args: up},
		{name: "plain http elsewhere", token: ownerToken, env: []string{"CHARMCRAFT_REGISTRY_URL=http://registry.example.com"}, args: up},
		{name: "Charmhub keeps failing", token: ownerToken, hub: []faultproxy.Rule{{Path: apiResources, Fault: faultproxy.Fail(503)}}, args: up},
		{name: "storage keeps resetting", token: ownerToken, hub: []faultproxy.Rule{{Path: storageUpload, Fault: faultproxy.ResetAfter(10)}}, args: up},
		{name: "revision answer lost", token: ownerToken, hub: []faultproxy.Rule{{Method: "POST", Path: apiRevisions, Fault: faultproxy.Fault{Kind: faultproxy.TruncateAnswer}}}, args: up},
		{name: "registry denies", token: ownerToken, reg: []faultproxy.Rule{{Method: "POST", Fault: faultproxy.Fault{Kind: faultproxy.Status, Code: 403, Body: `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`}}}, args: upImage, image: true},
		{name: "registry keeps failing", token: ownerToken, reg: []faultproxy.Rule{{Method: "PATCH", Fault: faultproxy.ResetAfter(100)}}, args: upImage, image: true},
		{name: "registry lies about a digest", token: ownerToken, reg: []faultproxy.Rule{{Method: "PUT", Fault: faultproxy.Fault{Kind: faultproxy.SetHeader, Header: "Docker-Content-Digest", Value: "sha256:" + strings.Repeat("2", 64)}}}, args: upImage, image: true},
	}
	covered := map[string]bool{}
	check := func(t *testing.T, name string, res result) {
		t.Helper()
		if found := known.find(res.stdout + "\n" + res.stderr); len(found) > 0 {
			t.Errorf("%s shows %s:\n%s", name, strings.Join(found, ", "), res)
		}
	}
	for _, r := range runs {
		if r.image && image == "" {
			continue
		}
		covered[r.args[0]] = true
		for _, debug := range []string{"", "--debug", "global --debug"} {
			t.Run(r.name+" "+debug, func(t *testing.T) {
				proxy.Clear()
				regProxy.Clear()
				proxy.Add(r.hub...)
				regProxy.Add(r.reg...)
				args := append([]string{"charmcraft"}, r.args...)
				switch debug {
				case "--debug":
					args = append(args, "--debug")
				case "global --debug":
					args = append([]string{"--debug"}, args...)
				}
				res := dockerCmd(t, w.env(r.token, proxied(r.env...)...), args...)
				check(t, r.name, res)
			})
		}
	}

	// login, whoami and logout through Docker's credential store.
	sso := []string{"CHARMCRAFT_STORE_SSO_URL=" + w.hub.SSOURL()}
	for _, l := range []struct {
		name, stdin string
		args        []string
	}{
		{"login", aliceEmail + "\n" + alicePassword + "\n", []string{"login", "--debug"}},
		{"whoami stored", "", []string{"whoami", "--debug"}},
		{"logout", "", []string{"logout"}},
		{"login, two factor", bobEmail + "\n" + bobPassword + "\n" + bobOTP + "\n", []string{"login", "--debug"}},
		{"login, wrong password", aliceEmail + "\nwrong-" + alicePassword + "\n", []string{"login", "--debug"}},
		{"login from a file", "", []string{"login", "--with-credentials", credFile, "--debug"}},
		{"login from stdin", exportedAuth(collabToken, false), []string{"login", "--with-credentials", "-", "--debug"}},
		{"login from a bad file", "", []string{"login", "--with-credentials", badFile, "--debug"}},
		{"logout again", "", []string{"logout"}},
		{"logout, nothing stored", "", []string{"logout"}},
	} {
		t.Run(l.name, func(t *testing.T) {
			proxy.Clear()
			res := u.run(t, l.stdin, sso, l.args...)
			if _, macaroon := u.stored(t); macaroon != "" {
				known.add(macaroon)
			}
			check(t, l.name, res)
			covered[l.args[0]] = true
		})
	}

	help := dockerCmd(t, nil, "charmcraft", "--help")
	_, list, _ := strings.Cut(help.stdout, "Commands:\n")
	list, _, _ = strings.Cut(list, "\n\n")
	for _, line := range strings.Split(list, "\n") {
		if f := strings.Fields(line); len(f) > 0 && !covered[f[0]] {
			t.Errorf("command %q has no run here: add its success and error paths", f[0])
		}
	}
	t.Logf("looked for %d secrets in %d runs", len(known.list), len(runs)*3+10)
}

// TestLeakDetection checks the search finds secrets however they show.
func TestLeakDetection(t *testing.T) {
	known := &secrets{}
	pass := known.registryPassword()
	known.add(ownerToken)
	for _, out := range []string{
		"password " + pass,
		"Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("charm-user:"+pass)),
		"Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("u:"+pass)),
		"CHARMCRAFT_AUTH=" + exportedAuth(ownerToken, true),
		base64.URLEncoding.EncodeToString([]byte(`{"v":"` + ownerToken + `"}`)),
		"Authorization: Bearer eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.e30.sig",
		"token charmhubtest-token-ABC",
		"panic: boom\n\ngoroutine 1 [running]:",
	} {
		if len(known.find(out)) == 0 {
			t.Errorf("nothing found in %q", out)
		}
	}
	if found := known.find("Revision 1 created of resource 'my-file' for charm 'my-charm' (authorization: Bearer <redacted>)"); len(found) > 0 {
		t.Errorf("found %v in a clean line", found)
	}
}
