// Command charmhub-sandbox runs a stand-in Charmhub (charmhubtest) and a
// real registry with token auth on loopback, with one account and one
// charm, and prints the environment that points `docker charmcraft` at
// them. It is for trying the plugin and for the demo; tests start the same
// servers in-process.
package main

import (
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
)

func main() {
	envFile := flag.String("env-file", "", "also write the environment to this file, as shell exports")
	token := flag.String("token", "sandbox-macaroon", "the account's token (a stand-in for a macaroon)")
	flag.Parse()

	hub, reg, err := charmhubtest.StartWithRegistry()
	if err != nil {
		fmt.Fprintln(os.Stderr, "charmhub-sandbox:", err)
		os.Exit(1)
	}
	defer hub.Close()
	defer reg.Close()
	hub.AddAccount("charm-author", *token)
	hub.AddCharm(charmhubtest.Charm{
		Name: "my-charm", ID: "my-charm-id", Owner: "charm-author",
		Resources: []charmhubtest.ResourceSpec{
			{Name: "my-file", Type: charmhubtest.TypeFile},
			{Name: "my-image", Type: charmhubtest.TypeOCIImage},
		},
	})
	hub.SetReview(charmhubtest.ReviewConfig{ScanningPolls: 1})

	env := fmt.Sprintf("export CHARMCRAFT_STORE_API_URL=%s\nexport CHARMCRAFT_UPLOAD_URL=%s\nexport CHARMCRAFT_REGISTRY_URL=%s\nexport CHARMCRAFT_AUTH=%s\n",
		hub.APIURL(), hub.StorageURL(), reg.URL, base64.StdEncoding.EncodeToString([]byte(*token)))
	if *envFile != "" {
		if err := os.WriteFile(*envFile, []byte(env), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "charmhub-sandbox:", err)
			os.Exit(1)
		}
	}
	fmt.Print("# Charmhub sandbox running: charm 'my-charm' with resources 'my-file' (file) and 'my-image' (oci-image).\n" + env)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}
