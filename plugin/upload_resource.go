package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/command/completion"
	"github.com/spf13/cobra"
)

type uploadResourceOptions struct {
	charm, resource string
	filepath        string
	image           string
	format          string
	progress        string
	arch            string
	platforms       []string
	quiet           bool
}

func newUploadResourceCmd(dockerCli command.Cli) *cobra.Command {
	var opts uploadResourceOptions
	cmd := newCommand(dockerCli, []string{"CHARM", "RESOURCE"}, &cobra.Command{
		Use:   "upload-resource [OPTIONS] CHARM RESOURCE (--filepath=PATH | --image=DIGEST|ROCK)",
		Short: "Upload a file or an OCI image as a new revision of a charm resource",
		Long: `Upload a file (--filepath) or an OCI image (--image) as a new revision of
a charm resource. An image is named by its ID or digest (reused if
Canonical's registry holds it, else pushed from the local daemon), or by
the path of a rock or OCI layout, pushed as stored with no daemon.`,
		Example: `  docker charmcraft upload-resource my-charm my-file --filepath=./data.tar.gz
  docker charmcraft upload-resource my-charm my-file --filepath=./tool.tar.gz --arch=arm64
  docker charmcraft upload-resource my-charm my-image --image=70aa8983ec5c
  docker charmcraft upload-resource my-charm my-image --image=./my-rock_1.0_amd64.rock
  docker charmcraft upload-resource my-charm my-image --image=70aa8983ec5c -q --format=json`,
	}, func(ctx context.Context, env *cliEnv, args []string) error {
		opts.charm, opts.resource = args[0], args[1]
		return runUploadResource(ctx, env, opts)
	})
	cmd.Args = suggestFlag(cmd.Args)
	flags := cmd.Flags()
	flags.StringVar(&opts.filepath, "filepath", "", "Path of the file to upload as a file resource (not - : the upload needs its size first, and may read it again)")
	flags.StringVar(&opts.image, "image", "", "OCI image to upload: its digest (full sha256, or 12+ hex of a local image ID), or the path of a rock or OCI layout")
	addFormatFlag(cmd, &opts.format)
	addProgressFlag(cmd, &opts.progress)
	addArchFlag(cmd, &opts.arch)
	flags.StringSliceVar(&opts.platforms, "platform", nil, "Upload only these platforms of a multi-platform image, which is otherwise uploaded whole (os/arch[/variant], comma-separated or repeated, e.g. linux/amd64,linux/arm64)")
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Print only the result, warnings and errors: no progress, as --progress=quiet, and no line saying what is being done")
	_ = cmd.RegisterFlagCompletionFunc("filepath", completion.FileNames())
	_ = cmd.RegisterFlagCompletionFunc("image", completeLocalImages(dockerCli))
	_ = cmd.RegisterFlagCompletionFunc("platform", completePlatforms)
	cmd.ValidArgsFunction = completeCharmArgs(dockerCli, []string{"CHARM", "RESOURCE"}, uploadResourceType)
	return cmd
}

// validate checks everything that can be checked before any network call.
func (o *uploadResourceOptions) validate() error {
	switch {
	case o.filepath == "" && o.image == "":
		return errors.New("give exactly one of --filepath (for a file resource) or --image (for an OCI image resource)")
	case o.filepath != "" && o.image != "":
		return errors.New("give only one of --filepath or --image, not both")
	}
	if err := checkFormat(o.format); err != nil {
		return err
	}
	if err := checkProgress(o.progress); err != nil {
		return err
	}
	if o.quiet && o.progress != progressAuto && o.progress != progressQuiet {
		return fmt.Errorf("-q turns progress off, so it cannot be given with --progress=%s: give one or the other", o.progress)
	}
	if len(o.platforms) > 0 && o.image == "" {
		return errors.New("--platform chooses platforms of an image, so it cannot be used with --filepath: a file revision's architectures are given with --arch")
	}
	if _, err := parsePlatformFlag(o.platforms); err != nil {
		return err
	}
	if o.image != "" {
		if o.arch != "" {
			return fmt.Errorf("--arch cannot be used with --image: an image carries its own architecture, which the revision gets")
		}
		_, err := parseImageArg(o.image, os.Stat)
		return err
	}
	if _, err := parseArchFlag(o.arch); err != nil {
		return err
	}
	if o.filepath == "-" {
		return hint(errors.New("--filepath=- (standard input) is not supported: the upload needs the file's size before it starts, and reads the file again if a retry is needed"),
			"Save it to a file and give its path.")
	}
	return checkReadableFile("--filepath", o.filepath)
}

// suggestFlag wraps upload-resource's argument check: a third argument
// is most likely the file or image meant for --filepath or --image, so
// the refusal says which.
func suggestFlag(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		err := check(cmd, args)
		if err == nil || len(args) != 3 || cmd.Flags().Changed("filepath") || cmd.Flags().Changed("image") {
			return err
		}
		extra := args[2]
		flag := "--filepath"
		if _, statErr := os.Stat(extra); statErr != nil && isImageLike(extra) {
			flag = "--image"
		}
		return fmt.Errorf("%w\ndid you mean %s=%s?", err, flag, extra)
	}
}

// isImageLike reports whether s looks like an image ID or digest: 12 or
// more hex digits, maybe after "sha256:".
func isImageLike(s string) bool {
	s = strings.TrimPrefix(s, "sha256:")
	return len(s) >= 12 && strings.Trim(s, "0123456789abcdef") == ""
}

// checkReadableFile makes sure path, given with flag, names a regular
// file that can be read.
func checkReadableFile(flag, path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%s %s: no such file%s", flag, quotePath(path), tildeHint(flag, path))
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%s %s: permission denied", flag, quotePath(path))
	case err != nil:
		return fmt.Errorf("%s %s: %w", flag, quotePath(path), errors.Unwrap(err))
	case fi.IsDir():
		return fmt.Errorf("%s %s is a directory: give the path of a regular file", flag, quotePath(path))
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s %s is not a regular file", flag, quotePath(path))
	}
	f, err := os.Open(path) //nolint:gosec // the user names the file to read
	switch {
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%s %s cannot be read: permission denied", flag, quotePath(path))
	case err != nil:
		return fmt.Errorf("%s %s cannot be read: %w", flag, quotePath(path), errors.Unwrap(err))
	}
	return f.Close()
}

// tildeHint explains a path that starts with ~: shells expand it only at
// the start of a word, so `--filepath=~/x` reaches the plugin as typed.
func tildeHint(flag, path string) string {
	if !strings.HasPrefix(path, "~") {
		return ""
	}
	hint := fmt.Sprintf("; the shell does not expand ~ after =: write %s %s (with a space)", flag, path)
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		hint += fmt.Sprintf(", or %s=$HOME/%s", flag, rest)
	}
	return hint
}

func runUploadResource(ctx context.Context, env *cliEnv, opts uploadResourceOptions) error {
	if err := opts.validate(); err != nil {
		return withLocalImageID(ctx, env, err)
	}
	if opts.quiet {
		env.progress = progressQuiet
	} else {
		env.progress = opts.progress
	}
	ch, err := env.charmhub()
	if err != nil {
		return err
	}
	out := newResultWriter(env, opts.format)
	out.quiet = opts.quiet
	wantType := charmhub.TypeFile
	var creds func() (*charmhub.RegistryCredentials, error)
	var challenge func() *registry.Challenge
	if opts.image != "" {
		wantType = charmhub.TypeOCIImage
		creds = askCredentials(ctx, ch, opts.charm, opts.resource) // meanwhile
		challenge = pingRegistry(ctx, env)                         // meanwhile
	}
	if err := checkResource(ctx, ch, opts.charm, opts.resource, wantType); err != nil {
		return explainUpload(err, opts.charm, opts.resource)
	}
	var uploadID string
	var bases []charmhub.Base
	if opts.image != "" {
		uploadID, bases, err = uploadImage(ctx, env, ch, out, opts, creds, challenge)
	} else {
		archs, _ := parseArchFlag(opts.arch) // checked by validate
		bases = basesFor(archs)
		uploadID, err = uploadFile(ctx, env, ch, opts.filepath)
	}
	if err != nil {
		return explainUpload(err, opts.charm, opts.resource)
	}
	return createRevision(ctx, ch, out, opts.charm, opts.resource, charmhub.RevisionRequest{UploadID: uploadID, Type: wantType, Bases: bases})
}

// checkResource makes sure charm declares resource with the wanted type.
// It is the first call: it also proves the credentials and the rights.
func checkResource(ctx context.Context, ch *charmhub.Client, charm, resource, wantType string) error {
	resources, err := ch.ListResources(ctx, charm)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(resources))
	for _, r := range resources {
		if r.Name != resource {
			names = append(names, r.Name)
			continue
		}
		switch {
		case r.Type == wantType:
			return nil
		case r.Type == charmhub.TypeOCIImage:
			return fmt.Errorf("resource '%s' of charm '%s' is an OCI image resource: upload it with --image, not --filepath", resource, charm)
		case r.Type == charmhub.TypeFile:
			return fmt.Errorf("resource '%s' of charm '%s' is a file resource: upload it with --filepath, not --image", resource, charm)
		default:
			return fmt.Errorf("resource '%s' of charm '%s' has type %q, which this plugin cannot upload", resource, charm, r.Type)
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("charm '%s' declares no resources, so it has no resource '%s': declare it in charmcraft.yaml (or metadata.yaml) and upload the charm first", charm, resource)
	}
	return fmt.Errorf("charm '%s' has no resource '%s'; its resources are: %s", charm, resource, joinQuoted(names))
}

func uploadFile(ctx context.Context, env *cliEnv, ch *charmhub.Client, path string) (string, error) {
	fi, err := os.Stat(path) // opened for reading by Upload, on each attempt
	if err != nil {
		return "", fmt.Errorf("reading --filepath %q: %w", path, errors.Unwrap(err))
	}
	bar := env.fileProgress(filepath.Base(path), fi.Size())
	file := &unchangedFile{path: path, first: fi}
	id, err := ch.Upload(ctx, filepath.Base(path), fi.Size(), file.open, bar.set)
	bar.done(err == nil)
	return id, err
}

// createRevision attaches an uploaded blob to the resource, waits for
// Charmhub's review and reports the outcome.
func createRevision(ctx context.Context, ch *charmhub.Client, out *resultWriter, charm, resource string, req charmhub.RevisionRequest) error {
	statusURL, err := ch.CreateRevision(ctx, charm, resource, req)
	if err != nil {
		return explainUpload(err, charm, resource)
	}
	st, err := waitForReview(ctx, ch, out, statusURL)
	if nr, ok := errors.AsType[*charmhub.NoRevisionError](err); ok {
		return fmt.Errorf("Charmhub approved the upload to resource '%s' of charm '%s' but gave no revision number (\"revision\": %s), so none is known to exist: list the resource's revisions with `docker charmcraft resource-revisions %s %s` before uploading again",
			resource, charm, nr.Answered, charm, resource)
	}
	if err != nil {
		return explainUpload(err, charm, resource)
	}
	if st.Status != charmhub.StatusApproved {
		return out.rejected(st)
	}
	if req.Type == charmhub.TypeFile {
		if err := ch.VerifyRevision(ctx, charm, resource, st.Revision, req.UploadID); err != nil {
			return explainVerify(err, charm, resource, st.Revision)
		}
	}
	return out.revision(st.Revision, charm, resource)
}

// reviewNotice is how long Charmhub's review may take before the user is
// told the command is waiting for it.
const reviewNotice = 2 * time.Second

// waitForReview waits for Charmhub's review at statusURL, saying so in
// one line once it lasts longer than reviewNotice.
func waitForReview(ctx context.Context, ch *charmhub.Client, out *resultWriter, statusURL string) (*charmhub.RevisionStatus, error) {
	done := make(chan struct{})
	told := make(chan struct{})
	go func() {
		defer close(told)
		t := time.NewTimer(reviewNotice)
		defer t.Stop()
		select {
		case <-t.C:
			out.info("Waiting for Charmhub's review of the upload (up to %s, %s)", ch.ReviewTimeout().Round(time.Second), reviewTimeoutEnv)
		case <-done:
		}
	}()
	st, err := ch.WaitForRevision(ctx, statusURL)
	close(done)
	<-told
	return st, err
}
