// Command docker-charmcraft is the `docker charmcraft` CLI plugin: it
// publishes charm resources, files and OCI images, to Charmhub.
package main

import (
	"os"
	"runtime/debug"

	"github.com/canonical/docker-charmcraft/plugin"
	"github.com/docker/cli/cli-plugins/metadata"
	cliplugin "github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

// memoryLimit is the heap the plugin aims to stay under, unless GOMEMLIMIT
// says otherwise: pushes stream through bounded buffers (about 25 MB live
// on two cores), so collecting a little earlier keeps the RSS flat at any
// image size.
const memoryLimit = 48 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
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
