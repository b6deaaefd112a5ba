package plugin

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

type resourceRevisionsOptions struct {
	charm, resource string
	format          string
}

func newResourceRevisionsCmd(dockerCli command.Cli) *cobra.Command {
	var opts resourceRevisionsOptions
	cmd := newCommand(dockerCli, []string{"CHARM", "RESOURCE"}, &cobra.Command{
		Use:   "resource-revisions [OPTIONS] CHARM RESOURCE",
		Short: "List the revisions of a charm's resource on Charmhub",
		Long: `List the revisions of a charm's resource on Charmhub, newest first: when
each was created, its size and the architectures it is for. For an image
resource, the digest of each revision's image (what juju attach-resource
takes) instead of a size: Charmhub stores the image in its registry and
knows only the size of the small JSON text that names it.`,
		Example: `  docker charmcraft resource-revisions my-charm my-file
  docker charmcraft resource-revisions my-charm my-image --format=json`,
	}, func(ctx context.Context, env *cliEnv, args []string) error {
		opts.charm, opts.resource = args[0], args[1]
		return runResourceRevisions(ctx, env, opts)
	})
	addFormatFlag(cmd, &opts.format)
	return cmd
}

func runResourceRevisions(ctx context.Context, env *cliEnv, opts resourceRevisionsOptions) error {
	ch, err := env.queryClient(opts.format)
	if err != nil {
		return err
	}
	revs, err := ch.ListResourceRevisions(ctx, opts.charm, opts.resource)
	if err != nil {
		return explainQuery(err, opts.charm, opts.resource)
	}
	var digests map[int]string
	isImage := slices.ContainsFunc(revs, func(r charmhub.ResourceRevision) bool { return r.Type == charmhub.TypeOCIImage })
	if isImage {
		digests, err = ch.ImageDigests(ctx, opts.charm, opts.resource)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			_, _ = fmt.Fprintf(env.dockerCli.Err(), "Warning: the image digests could not be read (%v); they show as -\n", err)
		}
	}
	return printResult(env.dockerCli.Out(), opts.format, revisionsJSON(revs, digests), func(out io.Writer) error {
		if len(revs) == 0 {
			_, err := fmt.Fprintln(out, "No revisions found.")
			return err
		}
		revs = newestFirst(slices.Clone(revs))
		t := newTable(out)
		if isImage {
			row(t, "Revision", "Created at", "Size", "Digest", "Architectures")
			for _, r := range revs {
				row(t, strconv.Itoa(r.Revision), formatTimestamp(r.CreatedAt), revisionSize(r), cmp.Or(digests[r.Revision], "-"), strings.Join(architectures(r.Bases), ","))
			}
			return t.Flush()
		}
		sizes := []string{"Size"}
		for _, r := range revs {
			sizes = append(sizes, humanSize(r.Size))
		}
		sizes = alignRight(sizes)
		row(t, "Revision", "Created at", sizes[0], "Architectures")
		for i, r := range revs {
			row(t, strconv.Itoa(r.Revision), formatTimestamp(r.CreatedAt), sizes[i+1], strings.Join(architectures(r.Bases), ","))
		}
		return t.Flush()
	})
}

// revisionSize is a revision's size as the table shows it: "-" for an
// image, whose stored size is that of the JSON text naming it.
func revisionSize(r charmhub.ResourceRevision) string {
	if r.Type == charmhub.TypeOCIImage {
		return "-"
	}
	return humanSize(r.Size)
}

// revisionJSON is a revision as charmcraft's --format=json lists it, in
// the order Charmhub gave. An image's revision has a digest ("" when its
// blob could not be read) and a null size: the size Charmhub stores is
// that of the JSON text naming the image.
type revisionJSON struct {
	Revision  int             `json:"revision"`
	CreatedAt string          `json:"created at"`
	Size      *int64          `json:"size"`
	Digest    *string         `json:"digest,omitempty"`
	Bases     []charmhub.Base `json:"bases"`
}

func revisionsJSON(revs []charmhub.ResourceRevision, digests map[int]string) []revisionJSON {
	items := make([]revisionJSON, 0, len(revs))
	for _, r := range revs {
		bases := r.Bases
		if bases == nil {
			bases = []charmhub.Base{}
		}
		item := revisionJSON{Revision: r.Revision, CreatedAt: isoTimestamp(r.CreatedAt), Bases: bases}
		if r.Type == charmhub.TypeOCIImage {
			d := digests[r.Revision]
			item.Digest = &d
		} else {
			item.Size = &r.Size
		}
		items = append(items, item)
	}
	return items
}

// newestFirst sorts revisions by number, highest first, as charmcraft
// lists them, and returns them.
func newestFirst(revs []charmhub.ResourceRevision) []charmhub.ResourceRevision {
	slices.SortStableFunc(revs, func(a, b charmhub.ResourceRevision) int { return cmp.Compare(b.Revision, a.Revision) })
	return revs
}

// architectures lists the architectures of bases, sorted and without
// repeats, as charmcraft shows them.
func architectures(bases []charmhub.Base) []string {
	var archs []string
	for _, b := range bases {
		archs = append(archs, b.Architectures...)
	}
	slices.Sort(archs)
	return slices.Compact(archs)
}
