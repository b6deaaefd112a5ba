package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/faultproxy"
	"github.com/moby/moby/client"
)

// The tests of this file check that an upload leaves the user's images as
// the daemon lists them: IDs, tags and RepoDigests, in the image list and
// in the inspect, whatever names the image has.

// imageNames is what the daemon lists of one image.
type imageNames struct {
	Listed                  []string // RepoTags of its entries in the image list
	ListedDigests           []string // their RepoDigests
	Tags, Digests           []string // RepoTags and RepoDigests of its inspect
	Entries                 int      // entries in the list
	InspectErr, InspectedID string
}

// namesOf reads what the daemon of the tests lists of image id.
func namesOf(t *testing.T, id string) imageNames {
	t.Helper()
	c, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	list, err := c.ImageList(ctx, client.ImageListOptions{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var n imageNames
	for _, s := range list.Items {
		if s.ID == id {
			n.Entries++
			n.Listed = append(n.Listed, s.RepoTags...)
			n.ListedDigests = append(n.ListedDigests, s.RepoDigests...)
		}
	}
	if insp, err := c.ImageInspect(ctx, id); err != nil {
		n.InspectErr = err.Error()
	} else {
		n.Tags, n.Digests, n.InspectedID = insp.RepoTags, insp.RepoDigests, insp.ID
	}
	for _, s := range [][]string{n.Listed, n.ListedDigests, n.Tags, n.Digests} {
		slices.Sort(s)
	}
	return n
}

func (n imageNames) String() string {
	b, _ := json.Marshal(n)
	return string(b)
}

// docker runs the docker CLI of the tests, failing the test on an error.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// loadRock loads an OCI archive as rockcraft writes one, whose only name
// is org.opencontainers.image.ref.name, the rock's version: "3.0". Only
// the containerd store loads it (the classic one wants a manifest.json).
func loadRock(t *testing.T, seed uint64) string {
	t.Helper()
	l := newOCILayout()
	m := l.platformImage("amd64", seed, 1<<20)
	path := l.tarballNamed(t, m, map[string]string{"org.opencontainers.image.ref.name": "3.0"})
	docker(t, "load", "-i", path)
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", m.Digest).Run() })
	return m.Digest
}

// TestImageNamesKept uploads images with every kind of names, on the
// daemon of the tests: after the upload, the daemon lists each as before.
func TestImageNamesKept(t *testing.T) {
	needDocker(t)
	containerd := containerdStore(t)
	type image struct {
		name string
		id   func(t *testing.T) string
		// daemonPush: the daemon pushes it (containerd store), rather than
		// the plugin from its export; either: it may.
		daemonPush, either bool
	}
	images := []image{
		{name: "untagged", id: func(t *testing.T) string { return buildImage(t, 2101, layerSpec{size: 1 << 20, random: true}) }},
		{name: "several tags", daemonPush: containerd, id: func(t *testing.T) string {
			id := buildImage(t, 2102, layerSpec{size: 1 << 20, random: true})
			for _, tag := range []string{"names-e2e-a:1", "names-e2e-a:2", "names-e2e-b:latest"} {
				docker(t, "tag", id, tag)
				t.Cleanup(func() { _ = exec.Command("docker", "rmi", tag).Run() })
			}
			return id
		}},
		// Docker 28's inspect lists a name pulled by digest among the
		// RepoTags, and its daemon pushes it; Docker 26's does not.
		{name: "known only by RepoDigest", either: containerd, id: func(t *testing.T) string {
			id := buildImage(t, 2103, layerSpec{size: 1 << 20, random: true})
			ref := startPlainRegistry(t) + "/names/d:1"
			docker(t, "tag", id, ref)
			docker(t, "push", ref)
			var repoDigest string
			for _, rd := range namesOf(t, id).Digests {
				if strings.HasPrefix(rd, strings.TrimSuffix(ref, ":1")+"@") {
					repoDigest = rd
				}
			}
			if repoDigest == "" {
				t.Fatalf("no RepoDigest after docker push: %s", namesOf(t, id))
			}
			docker(t, "rmi", ref)
			docker(t, "pull", repoDigest)
			t.Cleanup(func() { _ = exec.Command("docker", "rmi", repoDigest).Run() })
			return id
		}},
	}
	if containerd {
		images = append(images,
			image{name: "rock named 3.0", id: func(t *testing.T) string { return loadRock(t, 2104) }},
			image{name: "rock named 3.0 and tagged", id: func(t *testing.T) string {
				id := loadRock(t, 2105)
				docker(t, "tag", id, "names-e2e-rock:3.0")
				t.Cleanup(func() { _ = exec.Command("docker", "rmi", "names-e2e-rock:3.0").Run() })
				return id
			}},
			image{name: "multi-platform index", daemonPush: true, id: func(t *testing.T) string {
				return loadMulti(t, 2106, "multi-e2e-names:1", false).id
			}},
		)
	}
	for _, im := range images {
		t.Run(im.name, func(t *testing.T) {
			w := newWorld(t)
			id := im.id(t)
			// On the containerd store, a tagged image pulled by digest
			// lists the name it was pulled as; on the classic, a digest.
			before := namesOf(t, id)
			t.Logf("before: %s", before)
			if before.InspectErr != "" || before.Entries == 0 {
				t.Fatalf("the image is not there before the upload: %s", before)
			}
			res := dockerCmd(t, w.env(ownerToken), "charmcraft", "upload-resource", "my-charm", "my-image", "--image", id, "--debug")
			if res.code != 0 || w.remoteOf(t, res) == "" {
				t.Fatalf("upload: %s", res)
			}
			if after := namesOf(t, id); after.String() != before.String() {
				t.Errorf("the daemon lists the image differently after the upload:\nbefore %s\nafter  %s\n%s", before, after, res.stderr)
			}
			pushed := strings.Contains(res.stderr, "image pushed by daemon push\n")
			if pushed != im.daemonPush && !im.either {
				t.Errorf("pushed by the daemon: %v, want %v:\n%s", pushed, im.daemonPush, res.stderr)
			}
			if strings.Contains(res.stderr, "not what they were") || strings.Contains(res.stderr, "could not be removed") {
				t.Errorf("the upload warns about the image's names:\n%s", res.stderr)
			}
		})
	}
}

// TestImageNamesKeptAfterKill interrupts a run in the middle of the
// daemon's push (the registry slowed down to 1 MB/s): after Ctrl-C the
// image is listed as before at once; after SIGKILL, the next run removes
// the temporary name the killed one left.
func TestImageNamesKeptAfterKill(t *testing.T) {
	needDocker(t)
	id := buildImage(t, 2110, layerSpec{size: 16 << 20, random: true})
	docker(t, "tag", id, "names-e2e-kill:1")
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "names-e2e-kill:1").Run() })
	before := namesOf(t, id)
	plugin := []string{"upload-resource", "my-charm", "my-image", "--image", id}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			f := newFaulty(t)
			f.regProxy.Add(faultproxy.Rule{Method: "PATCH", Fault: faultproxy.Throttle(1 << 20)},
				faultproxy.Rule{Method: "PUT", Path: regSession, Fault: faultproxy.Throttle(1 << 20)})
			r := start(t, f.proxiedEnv(), filepath.Join(configDir, "cli-plugins", "docker-charmcraft"), plugin...)
			waitFor(t, r, "the push", func() bool { return f.regProxy.Count("PATCH", "")+f.regProxy.Count("PUT", regSession) > 0 })
			if containerdStore(t) {
				waitFor(t, r, "the temporary name", func() bool { return len(namesOf(t, id).Tags) > len(before.Tags) })
			}
			stopped, _ := r.interrupt(t, sig)
			t.Logf("stopped: %s", stopped)
			left := namesOf(t, id)
			if sig != syscall.SIGKILL {
				if left.String() != before.String() {
					t.Errorf("the daemon lists the image differently after %v:\nbefore %s\nafter  %s", sig, before, left)
				}
				return
			}
			t.Logf("left: %s", left)
			// Again to the same registry, the proxy's: a temporary name is
			// the registry's host's when the daemon pushed to it directly.
			f.regProxy.Clear()
			res := dockerCmd(t, f.proxiedEnv(), append([]string{"charmcraft"}, append(plugin, "--debug")...)...)
			if res.code != 0 {
				t.Fatalf("the run after the kill: %s", res)
			}
			if after := namesOf(t, id); after.String() != before.String() {
				t.Errorf("the daemon lists the image differently after the kill and a run again:\nbefore %s\nleft   %s\nafter  %s\n%s", before, left, after, res.stderr)
			}
		})
	}
}

// offLoopback is an IPv4 address of this machine off the loopback, ""
// when the matrix made none.
func offLoopback() string {
	// Only an address of the test network the matrix made (the host end
	// of its namespace's veth pair): test traffic stays on this machine's
	// own test hosts, never on the machine's other interfaces.
	host := os.Getenv("CHARMCRAFT_TEST_TLS_HOST")
	if host == "" {
		return ""
	}
	addrs, _ := net.LookupHost(host)
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip != nil && ip.To4() != nil && !ip.IsLoopback() {
			return ip.String()
		}
	}
	return ""
}

// TestImagePlainDaemonGetsNoCredentials reaches the daemon of the tests
// over plain TCP at an address off the loopback, as a daemon on another
// host: the plugin does not hand it the charm's registry credentials
// (X-Registry-Auth), and exports the image instead, saying why.
func TestImagePlainDaemonGetsNoCredentials(t *testing.T) {
	needContainerdStore(t)
	addr := offLoopback()
	if addr == "" {
		t.Skip("needs the matrix's test network (CHARMCRAFT_TEST_TLS_HOST, scripts/matrix.sh)")
	}
	ln, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	target := cmp.Or(os.Getenv("DOCKER_HOST"), "unix:///var/run/docker.sock")
	p, err := faultproxy.New(target, faultproxy.OnListener(ln))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	w := newWorld(t)
	// The registry too is off the loopback, where a daemon on another host
	// would push to it directly: a TLS registry is there already, by its
	// name; a plain one is reached through a proxy there.
	regURL := w.reg.URL
	if strings.HasPrefix(regURL, "http://") {
		regLn, err := net.Listen("tcp", addr+":0")
		if err != nil {
			t.Fatal(err)
		}
		reg, err := faultproxy.New(w.reg.URL, faultproxy.OnListener(regLn))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(reg.Close)
		regURL = reg.URL
	}
	m := loadMulti(t, 2120, "multi-e2e-plain:1", false)
	before := namesOf(t, m.id)
	env := w.env(ownerToken, "DOCKER_HOST=tcp://"+ln.Addr().String(), "CHARMCRAFT_REGISTRY_URL="+regURL, "CHARMCRAFT_ALLOW_INSECURE=1")
	res := dockerCmd(t, env, "charmcraft", "upload-resource", "my-charm", "my-image", "--image", m.id, "--debug")
	if res.code != 0 || w.remoteOf(t, res) != m.id {
		t.Fatalf("upload: %s", res)
	}
	if !strings.Contains(res.stderr, "image pushed by export (daemon push not used: the Docker daemon at tcp://"+ln.Addr().String()+" is reached over plain TCP, without TLS") {
		t.Errorf("--debug does not say why the daemon did not push:\n%s", res.stderr)
	}
	for _, r := range p.Requests() {
		if r.Header.Get("X-Registry-Auth") != "" || strings.HasSuffix(r.Path, "/push") {
			t.Errorf("the daemon was sent %s %s (with X-Registry-Auth: %v)", r.Method, r.Path, r.Header.Get("X-Registry-Auth") != "")
		}
	}
	w.checkWhole(t, m)
	if after := namesOf(t, m.id); after.String() != before.String() {
		t.Errorf("the daemon lists the image differently after the upload:\nbefore %s\nafter  %s", before, after)
	}
}
