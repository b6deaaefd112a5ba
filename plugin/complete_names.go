package plugin

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// charmhubHintTimeout bounds a completion's request to Charmhub: a shell
// waiting on a Tab must not hang on a slow network.
const charmhubHintTimeout = 3 * time.Second

// completeCharmArgs completes the positional arguments a usage line
// names: CHARM with the user's charms, RESOURCE with that charm's
// resources, each one authenticated request to Charmhub. Without
// credentials, or an answer in time, nothing is offered.
func completeCharmArgs(dockerCli command.Cli, names []string, resourceType func(*cobra.Command) string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) >= len(names) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, charmhubHintTimeout)
		defer cancel()
		var out []cobra.Completion
		switch names[len(args)] {
		case "CHARM":
			ch, err := completionClient(cmd, dockerCli)
			if err != nil {
				break
			}
			list, err := ch.ListNames(ctx)
			if err != nil {
				break
			}
			for _, n := range list {
				if n.Type == "charm" && strings.HasPrefix(n.Name, toComplete) {
					out = append(out, n.Name)
				}
			}
		case "RESOURCE":
			ch, err := completionClient(cmd, dockerCli)
			if err != nil {
				break
			}
			list, err := ch.ListResources(ctx, args[0])
			if err != nil {
				break
			}
			want := ""
			if resourceType != nil {
				want = resourceType(cmd)
			}
			for _, r := range list {
				if strings.HasPrefix(r.Name, toComplete) && (want == "" || r.Type == want) {
					out = append(out, cobra.CompletionWithDesc(r.Name, r.Type))
				}
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completionClient is the Charmhub client with the user's credentials;
// a completion never asks for any.
func completionClient(cmd *cobra.Command, dockerCli command.Cli) (*charmhub.Client, error) {
	return newEnv(cmd, dockerCli).charmhub()
}

// uploadResourceType is the type of resource upload-resource's flags
// upload: oci-image with --image, file with --filepath, else any.
func uploadResourceType(cmd *cobra.Command) string {
	switch {
	case cmd.Flags().Changed("image"):
		return charmhub.TypeOCIImage
	case cmd.Flags().Changed("filepath"):
		return charmhub.TypeFile
	}
	return ""
}

// ociPlatforms are the platforms of the architectures Charmhub knows, as
// docker's --platform names them.
var ociPlatforms = []string{"linux/amd64", "linux/arm64", "linux/arm/v7", "linux/ppc64le", "linux/riscv64", "linux/s390x"}

// completePlatforms completes the last item of a comma-separated list of
// platforms, offering those not listed yet.
func completePlatforms(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	i := strings.LastIndex(toComplete, ",")
	prefix, listed := toComplete[:i+1], strings.Split(toComplete[:max(i, 0)], ",")
	var out []cobra.Completion
	for _, p := range ociPlatforms {
		if !slices.Contains(listed, p) {
			out = append(out, prefix+p)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}
