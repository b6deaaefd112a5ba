package registrytest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Kind names a registry implementation.
type Kind string

// The registries Start can run.
const (
	// Embedded is CNCF distribution 3, in the test process.
	Embedded Kind = "embedded"
	// Distribution2 is Debian's docker-registry package (CNCF distribution
	// 2.8) as a process of its own. It answers some requests differently
	// from distribution 3: a HEAD of a manifest by the digest of a blob of
	// the repository (an image config) is a 500 there, not a 404.
	Distribution2 Kind = "distribution2"
)

// Environment variables that choose the registry the tests run against.
const (
	// KindEnv names the Kind of every registry Start runs without one:
	// "embedded" (the default) or "distribution2".
	KindEnv = "CHARMCRAFT_TEST_REGISTRY"
	// Distribution2Env is the path of distribution 2's binary; the default
	// is /usr/bin/docker-registry, where Debian's package puts it.
	Distribution2Env = "CHARMCRAFT_TEST_REGISTRY2"
)

// KindFromEnv is the registry CHARMCRAFT_TEST_REGISTRY asks for.
func KindFromEnv() (Kind, error) {
	switch k := Kind(os.Getenv(KindEnv)); k {
	case "":
		return Embedded, nil
	case Embedded, Distribution2:
		return k, nil
	default:
		return "", fmt.Errorf("%s=%q: want %q or %q", KindEnv, k, Embedded, Distribution2)
	}
}

// Distribution2Binary is where distribution 2's binary is, or an error
// saying how to install it.
func Distribution2Binary() (string, error) {
	bin := os.Getenv(Distribution2Env)
	if bin == "" {
		bin = "/usr/bin/docker-registry"
	}
	if _, err := os.Stat(bin); err != nil { //nolint:gosec // the test's own choice of binary
		return "", fmt.Errorf("distribution 2 registry not found (%w): apt-get install docker-registry, or set %s", err, Distribution2Env)
	}
	return bin, nil
}

// process is a registry running as a child process.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *process) stop() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// listening is the line distribution 2 logs once it accepts connections
// ("listening on 127.0.0.1:5000", with ", tls" after it when it serves
// HTTPS).
var listening = regexp.MustCompile(`msg="listening on ([^",]+)`)

func startDistribution2(cfg Config) (*Registry, error) {
	bin, err := Distribution2Binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "registrytest-")
	if err != nil {
		return nil, err
	}
	r := &Registry{Kind: Distribution2, tmpDir: dir, listen: "127.0.0.1:0"}
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(dir, "storage")
	}
	if err := r.startTLS(&cfg); err != nil {
		r.Close()
		return nil, err
	}
	conf, err := distribution2Config(cfg, dir, r.listen, r.tls)
	if err != nil {
		r.Close()
		return nil, err
	}
	confPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		r.Close()
		return nil, err
	}
	addr, err := r.run(bin, confPath, cfg.Log)
	if err != nil {
		r.Close()
		return nil, err
	}
	// Started again, it listens where it did.
	r.bin, r.conf2 = bin, confPath
	conf = strings.Replace(conf, "addr: "+r.listen, "addr: "+addr, 1)
	r.listen = addr
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		r.Close()
		return nil, err
	}
	if err := r.named(addr); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// distribution2Config is distribution 2's YAML configuration for cfg: a
// port of the system's choosing on addr's host, filesystem storage, token
// auth, and TLS if t is set.
func distribution2Config(cfg Config, dir, addr string, t *tlsServer) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: %t\n", cfg.Log == nil)
	fmt.Fprintf(&b, "storage:\n  filesystem:\n    rootdirectory: %q\n  delete:\n    enabled: true\n", cfg.Dir)
	b.WriteString("  maintenance:\n    uploadpurging:\n      enabled: false\n")
	fmt.Fprintf(&b, "http:\n  addr: %s\n  secret: %q\n", addr, newSecret())
	if t != nil {
		fmt.Fprintf(&b, "  tls:\n    certificate: %q\n    key: %q\n", t.certFile, t.keyFile)
	}
	if cfg.Issuer != nil {
		bundle := filepath.Join(dir, "root.pem")
		if err := os.WriteFile(bundle, cfg.Issuer.CertPEM(), 0o600); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "auth:\n  token:\n    realm: %q\n    service: %q\n    issuer: %q\n    rootcertbundle: %q\n",
			cfg.Realm, cfg.Issuer.Service, cfg.Issuer.Issuer, bundle)
	}
	return b.String(), nil
}

// run starts the registry and returns the address it listens on, read
// from its log; the rest of the log goes to logw.
func (r *Registry) run(bin, confPath string, logw io.Writer) (string, error) {
	if logw == nil {
		logw = io.Discard
	}
	cmd := exec.CommandContext(context.Background(), bin, "serve", confPath) //nolint:gosec // the test's own choice of binary
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.StderrPipe()
	if err != nil {
		return "", err
	}
	cmd.Stdout = logw
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting %s: %w", bin, err)
	}
	r.proc = &process{cmd: cmd, done: make(chan struct{})}
	addrc := make(chan string, 1)
	var tail tailBuffer
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
			tail.add(line)
			_, _ = fmt.Fprintln(logw, line)
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		close(r.proc.done)
	}()
	select {
	case addr := <-addrc:
		return addr, nil
	case <-r.proc.done:
		return "", fmt.Errorf("%s exited before listening:\n%s", bin, tail.String())
	case <-time.After(30 * time.Second):
		return "", errors.New(bin + " did not listen within 30s:\n" + tail.String())
	}
}

// tailBuffer keeps the last lines of a log, to show why a start failed.
type tailBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (t *tailBuffer) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lines = append(t.lines, line); len(t.lines) > 20 {
		t.lines = t.lines[1:]
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}
