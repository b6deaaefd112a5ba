package plugin

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/docker/cli/cli/command"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"
)

// Flags shared by several commands, each with the completion of its
// values (through `docker completion`, which asks the plugin with
// `docker __complete charmcraft ...`).

func addFormatFlag(cmd *cobra.Command, format *string) {
	cmd.Flags().StringVar(format, "format", "", `Output format: "json" prints only the result as JSON on stdout`)
	_ = cmd.RegisterFlagCompletionFunc("format", fixedValues("json\tthe result as JSON on stdout"))
}

func addProgressFlag(cmd *cobra.Command, progress *string) {
	cmd.Flags().StringVar(progress, "progress", progressAuto, `Progress on stderr: "auto" (tty on a terminal, unless TERM=dumb, else plain), "tty" (redrawn in place), "plain" (one line per change), "quiet" (none)`)
	_ = cmd.RegisterFlagCompletionFunc("progress", fixedValues(
		progressAuto+"\ttty on a terminal, else plain",
		progressTTY+"\tlines redrawn in place, with bars",
		progressPlain+"\tone line per change of state",
		progressQuiet+"\tno progress",
	))
}

func addArchFlag(cmd *cobra.Command, arch *string) {
	cmd.Flags().StringVar(arch, "arch", "", `Architectures of a file revision, comma-separated (`+strings.Join(charmhubArchs, ", ")+`), or "all" (the default)`)
	_ = cmd.RegisterFlagCompletionFunc("arch", completeArchs)
}

func fixedValues(values ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
}

// completeArchs completes the last item of a comma-separated list of
// architectures, offering those not listed yet; "all" only alone.
func completeArchs(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	i := strings.LastIndex(toComplete, ",")
	prefix, listed := toComplete[:i+1], strings.Split(toComplete[:max(i, 0)], ",")
	var out []cobra.Completion
	if prefix == "" {
		out = append(out, "all")
	}
	for _, a := range charmhubArchs {
		if !slices.Contains(listed, a) {
			out = append(out, prefix+a)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// completeLocalImages offers the IDs of the local images, newest first,
// as `docker images` shows them (12 hex digits, their tags as the
// description), or in full after "sha256:"; file names (a rock's) for a
// path, or when no image matches or the daemon does not answer at once.
func completeLocalImages(dockerCli command.Cli) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		if pathShaped(toComplete) {
			return nil, cobra.ShellCompDirectiveDefault // a rock's path
		}
		ctx, cancel := context.WithTimeout(ctx, daemonHintTimeout)
		defer cancel()
		list, err := dockerCli.Client().ImageList(ctx, client.ImageListOptions{})
		if err != nil {
			return nil, cobra.ShellCompDirectiveDefault
		}
		// Newest first, as docker images lists them: the one just built
		// comes first.
		items := slices.SortedStableFunc(slices.Values(list.Items), func(a, b image.Summary) int { return cmp.Compare(b.Created, a.Created) })
		var out []cobra.Completion
		for _, img := range items {
			id := shortImageID(img.ID)
			if strings.HasPrefix(toComplete, "sha256:") {
				id = img.ID
			}
			if !strings.HasPrefix(id, toComplete) || slices.ContainsFunc(out, func(c cobra.Completion) bool { return c == id || strings.HasPrefix(c, id+"\t") }) {
				continue
			}
			tags := slices.DeleteFunc(slices.Clone(img.RepoTags), func(t string) bool { return t == "<none>:<none>" })
			if len(tags) > 0 {
				id = cobra.CompletionWithDesc(id, strings.Join(tags, ", "))
			}
			out = append(out, id)
		}
		if len(out) == 0 {
			return nil, cobra.ShellCompDirectiveDefault // no image: a rock's path
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
