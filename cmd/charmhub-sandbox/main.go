// Command charmhub-sandbox runs a stand-in Charmhub (charmhubtest), its
// login service and a real registry with token auth on loopback, with one
// account and one charm, and points `docker charmcraft` at them. It is
// for trying the plugin and for the demo; tests start the same servers
// in-process.
//
// Given a command, it runs it with the environment set, once every server
// answers, and stops when the command ends: nothing to wait for. Without
// one, it prints the environment and serves until interrupted; the
// environment file, when asked for, appears whole once every server
// answers (a script can wait for it as the ready signal), and is removed
// when the sandbox stops, so that a stale one is never read.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
)

// config is what the flags set.
type config struct {
	envFile              string
	token                string
	noAuth               bool
	email, password, otp string
	command              []string // run with the environment, then stop
}

func main() {
	var cfg config
	flag.Usage = func() {
		_, _ = fmt.Fprintf(flag.CommandLine.Output(), "Usage: charmhub-sandbox [OPTIONS] [COMMAND [ARG...]]\n\n"+
			"Runs a stand-in Charmhub and registry on loopback. With COMMAND (e.g. bash), runs it\n"+
			"with the environment that points docker charmcraft at them, and stops when it ends;\n"+
			"without, prints that environment and serves until interrupted.\n\n")
		flag.PrintDefaults()
	}
	flag.StringVar(&cfg.envFile, "env-file", "", "also write the environment to this file, as shell exports, once the servers are ready; removed when the sandbox stops")
	flag.StringVar(&cfg.token, "token", "sandbox-macaroon", "the account's token (a stand-in for a macaroon)")
	flag.BoolVar(&cfg.noAuth, "no-auth", false, "leave CHARMCRAFT_AUTH out of the environment, to try `docker charmcraft login` (refused while it is set)")
	flag.StringVar(&cfg.email, "email", "charm-author@example.com", "the Ubuntu One email address that logs in to the account")
	flag.StringVar(&cfg.password, "password", "sandbox-password", "its password")
	flag.StringVar(&cfg.otp, "otp", "", "its one-time password, when set (two-factor authentication)")
	flag.Parse()
	cfg.command = flag.Args()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code, err := run(ctx, cfg, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "charmhub-sandbox:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// run starts the servers and either runs cfg.command with their
// environment, returning its exit code, or serves until ctx ends.
func run(ctx context.Context, cfg config, out io.Writer) (int, error) {
	if cfg.envFile != "" {
		// A file from an earlier run names servers long gone.
		if err := os.Remove(cfg.envFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, err
		}
	}
	w, err := charmhubtest.NewWorld(charmhubtest.WorldConfig{
		Accounts: []charmhubtest.Account{{Username: "charm-author", Token: cfg.token}},
		Charms:   []charmhubtest.Charm{charmhubtest.MyCharm("my-charm-id", "charm-author")},
		Review:   &charmhubtest.ReviewConfig{ScanningPolls: 1},
	})
	if err != nil {
		return 0, err
	}
	defer w.Close()
	hub, reg := w.Hub, w.Registry
	hub.AddSSOAccount(cfg.email, cfg.password, cfg.otp, "charm-author")

	vars := [][2]string{
		{"CHARMCRAFT_STORE_API_URL", hub.APIURL()},
		{"CHARMCRAFT_UPLOAD_URL", hub.StorageURL()},
		{"CHARMCRAFT_REGISTRY_URL", reg.URL},
		{"CHARMCRAFT_STORE_SSO_URL", hub.SSOURL()},
	}
	if !cfg.noAuth {
		vars = append(vars, [2]string{"CHARMCRAFT_AUTH", base64.StdEncoding.EncodeToString([]byte(cfg.token))})
	}
	var exports strings.Builder
	for _, v := range vars {
		fmt.Fprintf(&exports, "export %s=%s\n", v[0], v[1])
	}
	if cfg.envFile != "" {
		if err := writeAtomically(cfg.envFile, []byte(exports.String())); err != nil {
			return 0, err
		}
		defer func() { _ = os.Remove(cfg.envFile) }()
	}
	login := fmt.Sprintf("# `docker charmcraft login` logs in as %s with the password %q", cfg.email, cfg.password)
	if cfg.otp != "" {
		login += fmt.Sprintf(" and the one-time password %q", cfg.otp)
	}
	if !cfg.noAuth {
		login += ",\n# once CHARMCRAFT_AUTH is unset (a login is refused while it is set; or start with -no-auth)"
	}
	_, _ = fmt.Fprintf(out, "# Charmhub sandbox running: charm 'my-charm' with resources 'my-file' (file) and 'my-image' (oci-image).\n%s.\n", login)

	if len(cfg.command) == 0 {
		_, _ = io.WriteString(out, exports.String())
		<-ctx.Done()
		return 0, nil
	}
	// Not ended by a Ctrl-C: the command (an interactive shell) has it too,
	// and decides.
	cmd := exec.CommandContext(context.WithoutCancel(ctx), cfg.command[0], cfg.command[1:]...) //nolint:gosec // the user names the command to run
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, out, os.Stderr
	cmd.Env = os.Environ()
	for _, v := range vars {
		cmd.Env = append(cmd.Env, v[0]+"="+v[1])
	}
	if cfg.noAuth {
		cmd.Env = append(cmd.Env, "CHARMCRAFT_AUTH=")
	}
	err = cmd.Run()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return ee.ExitCode(), nil
	}
	return 0, err
}

// writeAtomically writes data to a temporary file next to path and
// renames it, so that a reader never sees part of it.
func writeAtomically(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".charmhub-sandbox-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // gone once renamed
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
