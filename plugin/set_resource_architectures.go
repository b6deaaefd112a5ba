package plugin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

type setResourceArchitecturesOptions struct {
	charm, resource string
	archs           string
	revisions       []string // --revision, as given
	format          string
}

func newSetResourceArchitecturesCmd(dockerCli command.Cli) *cobra.Command {
	var opts setResourceArchitecturesOptions
	cmd := newCommand(dockerCli, []string{"CHARM", "RESOURCE", "ARCHS"}, &cobra.Command{
		Use:   "set-resource-architectures [OPTIONS] CHARM RESOURCE ARCHS",
		Short: "Set the architectures existing revisions of a charm's resource are for",
		Long: `Set the architectures existing revisions of a charm's resource are for, as
charmcraft 3+ does, without uploading them again: ARCHS is "all", or a
comma-separated list of ` + strings.Join(charmhubArchs, ", ") + `, checked
before anything is sent. Name each revision with --revision, as many times
as needed. The revisions updated are then listed, newest first.`,
		Example: `  docker charmcraft set-resource-architectures my-charm my-file --revision=2 arm64
  docker charmcraft set-resource-architectures my-charm my-file --revision=1 --revision=3 amd64,arm64
  docker charmcraft set-resource-architectures my-charm my-file --revision=4 all --format=json`,
	}, func(ctx context.Context, env *cliEnv, args []string) error {
		opts.charm, opts.resource, opts.archs = args[0], args[1], args[2]
		return runSetResourceArchitectures(ctx, env, opts)
	})
	charmArgs := completeCharmArgs(dockerCli, []string{"CHARM", "RESOURCE"}, nil)
	cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) == 2 {
			return completeArchs(cmd, args, toComplete)
		}
		return charmArgs(cmd, args, toComplete)
	}
	cmd.Flags().StringArrayVar(&opts.revisions, "revision", nil, "Revision `N` to update; repeat the flag for more")
	_ = cmd.RegisterFlagCompletionFunc("revision", cobra.NoFileCompletions)
	addFormatFlag(cmd, &opts.format)
	return cmd
}

// validate checks the request before any network call, and returns the
// revisions (sorted, each once) and the architectures.
func (o *setResourceArchitecturesOptions) validate() ([]int, []string, error) {
	if err := checkFormat(o.format); err != nil {
		return nil, nil, err
	}
	if len(o.revisions) == 0 {
		return nil, nil, errors.New("give the revisions to update with --revision=N, once for each; `docker charmcraft resource-revisions CHARM RESOURCE` lists them")
	}
	var revs []int
	for _, s := range o.revisions {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return nil, nil, fmt.Errorf("--revision %s is not a revision number: give a whole number from 1, as `docker charmcraft resource-revisions` lists them", quotePath(s))
		}
		if !slices.Contains(revs, n) {
			revs = append(revs, n)
		}
	}
	slices.Sort(revs)
	if strings.TrimSpace(o.archs) == "" {
		return nil, nil, fmt.Errorf("ARCHS is empty: give \"all\", or architectures separated by commas among %s", strings.Join(charmhubArchs, ", "))
	}
	archs, err := parseArchList("ARCHS %q", "", o.archs)
	return revs, archs, err
}

func runSetResourceArchitectures(ctx context.Context, env *cliEnv, opts setResourceArchitecturesOptions) error {
	revs, archs, err := opts.validate()
	if err != nil {
		return err
	}
	ch, err := env.charmhub()
	if err != nil {
		return err
	}
	call := charmCall{charm: opts.charm, resource: opts.resource, revisions: revs, mayDo: "change its resources"}
	// What the revisions were for, to warn about an image's (below).
	before, err := ch.ListResourceRevisions(ctx, opts.charm, opts.resource)
	if err != nil {
		return call.explain(err)
	}
	updates := make([]charmhub.RevisionUpdate, len(revs))
	for i, r := range revs {
		updates[i] = charmhub.RevisionUpdate{Revision: r, Bases: basesFor(archs)}
	}
	n, err := ch.UpdateResourceRevisions(ctx, opts.charm, opts.resource, updates)
	if err != nil {
		return call.explain(err)
	}
	out := newResultWriter(env, opts.format)
	out.info("%d revision(s) updated.", n)
	warnImageArchs(out, opts, before, revs, archs)
	var updated []charmhub.ResourceRevision
	if n > 0 {
		list, err := ch.ListResourceRevisions(ctx, opts.charm, opts.resource)
		if err != nil {
			return call.explain(err)
		}
		for _, r := range list {
			if slices.Contains(revs, r.Revision) {
				updated = append(updated, r)
			}
		}
	}
	return writeUpdatedRevisions(out, newestFirst(updated))
}

// warnImageArchs warns when the architectures of an image revision are
// changed. Like charmcraft, the change is made (it is how a revision
// tagged wrongly is corrected), but an image carries its own architecture,
// which upload-resource gave its revision, and Juju deploys a revision on
// the machines it names, where the image may not run. What the image
// declares is not known here (it is in the registry), so the warning
// names what the revision had, to set back.
func warnImageArchs(out *resultWriter, opts setResourceArchitecturesOptions, before []charmhub.ResourceRevision, revs []int, archs []string) {
	archs = slices.Sorted(slices.Values(archs))
	for _, r := range before {
		if r.Type != charmhub.TypeOCIImage || !slices.Contains(revs, r.Revision) {
			continue
		}
		had := architectures(r.Bases)
		if slices.Equal(had, archs) {
			continue
		}
		out.warn("Warning: revision %d is an OCI image, which carries its own architecture: make sure it runs on %s (the revision was for %s; to set that back: docker charmcraft set-resource-architectures %s %s --revision=%d %s)",
			r.Revision, strings.Join(archs, ","), strings.Join(had, ","), opts.charm, opts.resource, r.Revision, strings.Join(had, ","))
	}
}

// writeUpdatedRevisions shows the revisions updated, as charmcraft does:
// a table of revision, update time and architectures, or JSON.
func writeUpdatedRevisions(out *resultWriter, revs []charmhub.ResourceRevision) error {
	if out.json {
		type item struct {
			Revision      int      `json:"revision"`
			UpdatedAt     *string  `json:"updated_at"`
			Architectures []string `json:"architectures"`
		}
		items := make([]item, 0, len(revs))
		for _, r := range revs {
			it := item{Revision: r.Revision, Architectures: architectures(r.Bases)}
			if !r.UpdatedAt.IsZero() {
				at := isoTimestamp(r.UpdatedAt)
				it.UpdatedAt = &at
			}
			if it.Architectures == nil {
				it.Architectures = []string{}
			}
			items = append(items, it)
		}
		return writeJSON(out.out, items)
	}
	if len(revs) == 0 {
		_, err := fmt.Fprintln(out.out, "No revisions updated.")
		return err
	}
	t := newTable(out.out)
	row(t, "Revision", "Updated At", "Architectures")
	for _, r := range revs {
		at := "--"
		if !r.UpdatedAt.IsZero() {
			at = formatTimestamp(r.UpdatedAt)
		}
		row(t, strconv.Itoa(r.Revision), at, strings.Join(architectures(r.Bases), ","))
	}
	return t.Flush()
}
