//go:build linux

package e2e

import (
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/internal/testutil"
)

// TestLoginOnATerminalHidesThePassword types the answers on a real
// terminal: the email is echoed, the password is not, and the terminal
// echoes again afterwards.
func TestLoginOnATerminalHidesThePassword(t *testing.T) {
	w := newWorld(t)
	u := newUserConfig(t, w)
	controller, terminal := testutil.OpenPTY(t)

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "--config", u.dir, "charmcraft", "login")
	cmd.Env = append(baseEnv(), w.env("", "CHARMCRAFT_STORE_SSO_URL="+w.hub.SSOURL())...)
	var stdout, stderr testutil.SyncBuffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = terminal, &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var echo testutil.SyncBuffer
	go func() { _, _ = io.Copy(&echo, controller) }()

	waitFor := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !strings.Contains(stderr.String(), what); {
			if time.Now().After(deadline) {
				t.Fatalf("no %q on stderr; stderr so far: %q", what, stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("Email address: ")
	_, _ = controller.WriteString(aliceEmail + "\n")
	waitFor("Password: ")
	_, _ = controller.WriteString(alicePassword + "\n")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("login: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "Login Succeeded") {
		t.Fatalf("stdout: %s", stdout.String())
	}
	// Echo is on again: what is typed now shows.
	_, _ = controller.WriteString("after\n")
	time.Sleep(200 * time.Millisecond)
	got := echo.String()
	if !strings.Contains(got, aliceEmail) || !strings.Contains(got, "after") {
		t.Errorf("the terminal did not echo the email, or not after the login: %q", got)
	}
	if strings.Contains(got, alicePassword) || strings.Contains(stdout.String()+stderr.String(), alicePassword) {
		t.Errorf("the password was echoed or printed: %q", got)
	}
}
