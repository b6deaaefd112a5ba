package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func defaults() config {
	return config{token: "sandbox-macaroon", email: "charm-author@example.com", password: "sandbox-password"}
}

// TestCommandRunsWhenReady checks the quick start without a race: a
// command given to the sandbox runs with the environment set and the
// servers answering, and its exit code is the sandbox's.
func TestCommandRunsWhenReady(t *testing.T) {
	cfg := defaults()
	cfg.command = []string{"sh", "-c", `curl -fsS -H "Authorization: Macaroon $(echo "$CHARMCRAFT_AUTH" | base64 -d)" "$CHARMCRAFT_STORE_API_URL/v1/tokens/whoami" && exit 3`}
	var out bytes.Buffer
	code, err := run(t.Context(), cfg, &out)
	if err != nil || code != 3 || !strings.Contains(out.String(), `"username":"charm-author"`) {
		t.Fatalf("code %d, err %v, output:\n%s", code, err, out.String())
	}
}

// TestBanner checks that the banner gives the password it mentions, and
// says that a login needs CHARMCRAFT_AUTH unset when it is exported.
func TestBanner(t *testing.T) {
	for _, noAuth := range []bool{false, true} {
		cfg := defaults()
		cfg.noAuth, cfg.password = noAuth, "pw-given"
		cfg.command = []string{"true"}
		var out bytes.Buffer
		if _, err := run(t.Context(), cfg, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), `password "pw-given"`) {
			t.Errorf("the banner does not give the password:\n%s", out.String())
		}
		if hint := strings.Contains(out.String(), "once CHARMCRAFT_AUTH is unset"); hint == noAuth {
			t.Errorf("-no-auth=%v: unset hint %v:\n%s", noAuth, hint, out.String())
		}
	}
}

// TestEnvFile checks the environment file: a stale one is removed at
// once, the new one appears whole once the servers answer, and it is
// removed when the sandbox stops.
func TestEnvFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox.env")
	if err := os.WriteFile(path, []byte("export CHARMCRAFT_STORE_API_URL=http://127.0.0.1:1/stale\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := defaults()
	cfg.envFile = path
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := run(ctx, cfg, &bytes.Buffer{})
		done <- err
	}()
	var data []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(path)
		if err == nil && !strings.Contains(string(b), "stale") {
			data = b
			break
		}
	}
	if strings.Count(string(data), "export ") != 5 || !strings.HasSuffix(string(data), "\n") {
		t.Fatalf("env file: %q", data)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the env file outlived the sandbox: %v", err)
	}
}
