// Command docker-charmcraft is the `docker charmcraft` CLI plugin: it
// publishes charm resources, files and OCI images, to Charmhub.
package main

import (
	"os"
	"runtime/debug"

	"github.com/canonical/docker-charmcraft/internal/membudget"
	"github.com/canonical/docker-charmcraft/plugin"
	"github.com/docker/cli/cli-plugins/metadata"
	cliplugin "github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	// Uploads stream through buffers of a fixed budget, whatever the
	// image's size and the number of cores: collecting once the heap
	// nears the budget and the rest of the process keeps the RSS flat.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(membudget.MemoryLimit)
	}
	if cliplugin.RunningStandalone() {
		os.Args = plugin.StandaloneArgs(os.Args)
	}
	cliplugin.Run(func(dockerCli command.Cli) *cobra.Command {
		return plugin.NewRootCmd(dockerCli, pluginVersion())
	}, metadata.Metadata{
		SchemaVersion:    "0.1.0",
		Vendor:           "Canonical Ltd.",
		Version:          pluginVersion(),
		ShortDescription: "Publish charm resources (files and OCI images) to Charmhub",
		URL:              "https://github.com/canonical/docker-charmcraft",
	})
}

func pluginVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
