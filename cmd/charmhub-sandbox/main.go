// Command charmhub-sandbox runs a stand-in Charmhub (charmhubtest), its
// login service and a real registry with token auth on loopback, with one
// account and one charm, and prints the environment that points
// `docker charmcraft` at them. It is for trying the plugin and for the
// demo; tests start the same servers in-process.
//
// The environment file, when asked for, appears whole once every server
// answers: a script can wait for it as the ready signal.
package main

import (
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
)

func main() {
	envFile := flag.String("env-file", "", "also write the environment to this file, as shell exports, once the servers are ready")
	token := flag.String("token", "sandbox-macaroon", "the account's token (a stand-in for a macaroon)")
	noAuth := flag.Bool("no-auth", false, "leave CHARMCRAFT_AUTH out of the environment, to try `docker charmcraft login`")
	email := flag.String("email", "charm-author@example.com", "the Ubuntu One email address that logs in to the account")
	password := flag.String("password", "sandbox-password", "its password")
	otp := flag.String("otp", "", "its one-time password, when set (two-factor authentication)")
	flag.Parse()
	if err := run(*envFile, *token, *noAuth, *email, *password, *otp); err != nil {
		fmt.Fprintln(os.Stderr, "charmhub-sandbox:", err)
		os.Exit(1)
	}
}

func run(envFile, token string, noAuth bool, email, password, otp string) error {
	w, err := charmhubtest.NewWorld(charmhubtest.WorldConfig{
		Accounts: []charmhubtest.Account{{Username: "charm-author", Token: token}},
		Charms:   []charmhubtest.Charm{charmhubtest.MyCharm("my-charm-id", "charm-author")},
		Review:   &charmhubtest.ReviewConfig{ScanningPolls: 1},
	})
	if err != nil {
		return err
	}
	defer w.Close()
	hub, reg := w.Hub, w.Registry
	hub.AddSSOAccount(email, password, otp, "charm-author")

	env := fmt.Sprintf("export CHARMCRAFT_STORE_API_URL=%s\nexport CHARMCRAFT_UPLOAD_URL=%s\nexport CHARMCRAFT_REGISTRY_URL=%s\nexport CHARMCRAFT_STORE_SSO_URL=%s\n",
		hub.APIURL(), hub.StorageURL(), reg.URL, hub.SSOURL())
	if !noAuth {
		env += "export CHARMCRAFT_AUTH=" + base64.StdEncoding.EncodeToString([]byte(token)) + "\n"
	}
	if envFile != "" {
		if err := writeAtomically(envFile, []byte(env)); err != nil {
			return err
		}
	}
	fmt.Printf("# Charmhub sandbox running: charm 'my-charm' with resources 'my-file' (file) and 'my-image' (oci-image).\n"+
		"# `docker charmcraft login` works with %s and the password given by -password.\n%s", email, env)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return nil
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
