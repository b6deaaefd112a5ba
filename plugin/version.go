package plugin

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// versionLine is what `docker charmcraft version` and --version print, in
// the shape of `docker --version`: the version, then the commit it was
// built from when the build recorded one.
func versionLine() string {
	line := "Docker Charmcraft version " + version
	if commit := buildCommit(); commit != "" && commit != version {
		line += ", build " + commit
	}
	return line
}

// buildCommit is the short commit the binary was built from, "" when the
// build did not record it; "-dirty" marks uncommitted changes.
func buildCommit() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(rev) > 7 {
		rev = rev[:7]
	}
	if rev != "" && dirty {
		rev += "-dirty"
	}
	return rev
}

func newVersionCmd(dockerCli command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "version [OPTIONS]",
		Short: "Show the plugin's version and the commit it was built from",
		Long: `Show the plugin's version, the commit it was built from, and the Go
version and platform of the build, as docker version does for docker.
--version prints the first part alone.`,
		Example: `  docker charmcraft version
  docker charmcraft --version`,
		Args: cli.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(dockerCli.Out(), "%s (%s, %s/%s)\n", versionLine(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
		ValidArgsFunction: cobra.NoFileCompletions,
	}
}
