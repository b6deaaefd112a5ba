package plugin

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

type resourcesOptions struct {
	charm  string
	format string
}

func newResourcesCmd(dockerCli command.Cli) *cobra.Command {
	var opts resourcesOptions
	cmd := newCommand(dockerCli, []string{"CHARM"}, &cobra.Command{
		Use:   "resources [OPTIONS] CHARM",
		Short: "List the resources declared by a charm on Charmhub",
		Long: `List the resources declared by a charm on Charmhub, as charmcraft does:
grouped by revision, newest first, then by name. Only the charm's owner or
a collaborator may list them.`,
		Example: `  docker charmcraft resources my-charm
  docker charmcraft resources my-charm --format=json`,
	}, func(ctx context.Context, env *cliEnv, args []string) error {
		opts.charm = args[0]
		return runResources(ctx, env, opts)
	})
	addFormatFlag(cmd, &opts.format)
	return cmd
}

func runResources(ctx context.Context, env *cliEnv, opts resourcesOptions) error {
	ch, err := env.queryClient(opts.format)
	if err != nil {
		return err
	}
	list, err := ch.ListResources(ctx, opts.charm)
	if err != nil {
		return explainQuery(err, opts.charm, "")
	}
	return printResult(env.dockerCli.Out(), opts.format, resourcesJSON(list), func(out io.Writer) error {
		if len(list) == 0 {
			_, err := fmt.Fprintf(out, "No resources associated to %s.\n", opts.charm)
			return err
		}
		t := newTable(out)
		row(t, "Charm Rev", "Resource", "Type", "Optional")
		for _, group := range groupByRevision(list) {
			for i, r := range group {
				rev := ""
				if i == 0 {
					rev = revisionText(r.Revision)
				}
				row(t, rev, r.Name, r.Type, pythonBool(r.Optional))
			}
		}
		return t.Flush()
	})
}

// resourceJSON is a resource as charmcraft's --format=json lists it.
type resourceJSON struct {
	CharmRevision *int   `json:"charm_revision"`
	Name          string `json:"name"`
	Type          string `json:"type"`
	Optional      bool   `json:"optional"`
}

func resourcesJSON(list []charmhub.Resource) []resourceJSON {
	items := make([]resourceJSON, 0, len(list))
	for _, r := range list {
		items = append(items, resourceJSON{CharmRevision: revisionOrNil(r.Revision), Name: r.Name, Type: r.Type, Optional: r.Optional})
	}
	return items
}

// groupByRevision orders resources as charmcraft's table does: grouped
// by revision, newest first (those without one last), each group by name.
func groupByRevision(list []charmhub.Resource) [][]charmhub.Resource {
	sorted := slices.Clone(list)
	slices.SortStableFunc(sorted, func(a, b charmhub.Resource) int {
		if c := cmp.Compare(b.Revision, a.Revision); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	var groups [][]charmhub.Resource
	for i, r := range sorted {
		if i == 0 || r.Revision != sorted[i-1].Revision {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], r)
	}
	return groups
}

func revisionText(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

func revisionOrNil(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

// pythonBool is how charmcraft's tables print a boolean.
func pythonBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}
