package plugin

import (
	"github.com/docker/cli/cli"
	cliplugin "github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// debugFlag is the root's --debug, which every command inherits; docker's
// own --debug (`docker --debug charmcraft ...`) does the same.
const debugFlag = "debug"

// NewRootCmd returns the `charmcraft` command with its subcommands.
func NewRootCmd(dockerCli command.Cli, pluginVersion string) *cobra.Command {
	version = pluginVersion
	cmd := &cobra.Command{
		Use:   pluginName, // docker's usage template adds " [OPTIONS] COMMAND"
		Short: "Publish charm resources (files and OCI images) to Charmhub",
		Long: `Publish charm resources to Charmhub from the Docker CLI.

Files are streamed to Charmhub's storage; OCI images are taken from the
local Docker daemon (or reused from Canonical's registry when already
there), pushed to Canonical's registry and attached to the charm as a new
resource revision. resources and resource-revisions show what a charm has,
and set-resource-architectures corrects what existing revisions are for;
login, logout and whoami manage the Charmhub credentials, kept in Docker's
credential store.`,
		Example: `  docker charmcraft login
  docker charmcraft upload-resource my-charm my-file --filepath=./data.tar.gz
  docker charmcraft upload-resource my-charm my-image --image=70aa8983ec5c
  docker charmcraft resources my-charm
  docker charmcraft resource-revisions my-charm my-image
  docker charmcraft set-resource-architectures my-charm my-file --revision=2 arm64`,
		Args:          cli.NoArgs, // docker's "unknown command" for a word that is not one
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       pluginVersion,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			cancelOnSignal(cmd)
			return cliplugin.PersistentPreRunE(cmd, args)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.PersistentFlags().Bool(debugFlag, false, "Log HTTP requests to stderr (credentials redacted)")
	// Before cobra adds its own "version for charmcraft".
	cmd.Flags().BoolP("version", "v", false, "Print version information and quit")
	cmd.SetVersionTemplate(versionLine() + "\n")
	cmd.AddCommand(
		newUploadResourceCmd(dockerCli),
		newResourcesCmd(dockerCli),
		newResourceRevisionsCmd(dockerCli),
		newSetResourceArchitecturesCmd(dockerCli),
		newLoginCmd(dockerCli),
		newLogoutCmd(dockerCli),
		newWhoamiCmd(dockerCli),
		newVersionCmd(dockerCli),
	)
	return cmd
}
