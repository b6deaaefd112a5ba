package plugin

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"slices"
	"strings"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/imagepush"
	"github.com/spf13/cobra"
)

// Here errors become the sentences a user reads: what Charmhub, Ubuntu
// One and the network answered, and the arguments a command was given.
// Names of charms and resources are in single quotes, as charmcraft
// writes them.

// errNoCredentials says how to provide credentials when none were found.
var errNoCredentials = errors.New("no Charmhub credentials found\n" +
	"Log in with `docker charmcraft login` (kept in Docker's credential store), or set " + authEnv + " to what `charmcraft login --export=FILE` wrote.")

// credentialsError is Charmhub refusing the credentials. What to do
// depends on where they came from, which newCommand fills in: a login
// is refused while CHARMCRAFT_AUTH is set.
type credentialsError struct {
	details string
	fromEnv bool
}

func (e *credentialsError) Error() string {
	if e.fromEnv {
		return fmt.Sprintf("Charmhub did not accept the credentials in %s (%s): they are invalid or expired\n"+
			"Set %s to fresh ones from `charmcraft login --export=FILE`, or unset it and run `docker charmcraft login`.", authEnv, e.details, authEnv)
	}
	return fmt.Sprintf("Charmhub did not accept the credentials (%s): they are invalid or expired\n"+
		"Log in again with `docker charmcraft login`.", e.details)
}

// charmCall says what a Charmhub call was about, for its error: the
// charm, the resource ("" for the charm itself), the revisions (none
// for most calls), and what only the charm's owner or a collaborator
// may do ("upload its resources").
type charmCall struct {
	charm, resource string
	revisions       []int
	mayDo           string
}

// explain turns an error from Charmhub into a sentence for the user.
func (c charmCall) explain(err error) error {
	apiErr, ok := errors.AsType[*charmhub.APIError](err)
	if !ok {
		return unreachable(err)
	}
	switch {
	case errors.Is(err, charmhub.ErrUnauthorized):
		return &credentialsError{details: apiErr.Details()}
	case errors.Is(err, charmhub.ErrPermission):
		return fmt.Errorf("only the owner or a collaborator of charm '%s' may %s; Charmhub said: %s", c.charm, c.mayDo, apiErr.Details())
	case errors.Is(err, charmhub.ErrTemporary):
		again := ""
		if apiErr.Attempts > 1 {
			again = fmt.Sprintf(" and kept failing after %d attempts", apiErr.Attempts)
		}
		return hint(fmt.Errorf("Charmhub is temporarily unavailable (%s)%s", apiErr.Details(), again), "Try again later.")
	case errors.Is(err, charmhub.ErrNotFound) && c.resource == "":
		return hint(fmt.Errorf("charm '%s' was not found on Charmhub (%s)", c.charm, apiErr.Details()),
			"Check the name, and that the charm is registered.")
	case errors.Is(err, charmhub.ErrNotFound) && len(c.revisions) > 0:
		return hint(fmt.Errorf("charm '%s', its resource '%s' or %s was not found on Charmhub (%s)", c.charm, c.resource, revisionList(c.revisions), apiErr.Details()),
			fmt.Sprintf("Check them with `docker charmcraft resource-revisions %s %s`.", c.charm, c.resource))
	case errors.Is(err, charmhub.ErrNotFound):
		return hint(fmt.Errorf("charm '%s' or its resource '%s' was not found on Charmhub (%s)", c.charm, c.resource, apiErr.Details()),
			"Check the names, and that the charm is registered.")
	}
	return fmt.Errorf("Charmhub refused the request: %s", apiErr.Details())
}

// revisionList names revisions: "revision 3", "one of the revisions 3, 5".
func revisionList(revs []int) string {
	if len(revs) == 1 {
		return fmt.Sprintf("revision %d", revs[0])
	}
	s := make([]string, len(revs))
	for i, r := range revs {
		s[i] = fmt.Sprint(r)
	}
	return "one of the revisions " + strings.Join(s, ", ")
}

// explainUpload is explain for the calls of an upload.
func explainUpload(err error, charm, resource string) error {
	return charmCall{charm: charm, resource: resource, mayDo: "upload its resources"}.explain(err)
}

// explainQuery is explain for a listing; resource is "" for a question
// about the charm itself.
func explainQuery(err error, charm, resource string) error {
	return charmCall{charm: charm, resource: resource, mayDo: "see its resources"}.explain(err)
}

// explainVerify is explainUpload for the check of a file revision's
// content, which names the revision not to release when it differs.
func explainVerify(err error, charm, resource string, revision int) error {
	if errors.Is(err, charmhub.ErrContentMismatch) {
		return hint(fmt.Errorf("%w: the file changed on the way or on disk", err),
			fmt.Sprintf("Do not release revision %d; upload the file again.", revision))
	}
	return explainUpload(err, charm, resource)
}

// explainExported says what to do about exported credentials, read from
// source, that hold no token.
func explainExported(err error, source string) error {
	if errors.Is(err, charmhub.ErrNoCredentials) {
		return hint(fmt.Errorf("%s is empty", source), "Export the credentials with `charmcraft login --export=FILE`.")
	}
	return err
}

// explainLogin turns a failed login, or a failed check of credentials,
// into a sentence.
func explainLogin(err error) error {
	var le *charmhub.LoginError
	var apiErr *charmhub.APIError
	switch {
	case errors.As(err, &le) && errors.Is(err, charmhub.ErrTwoFactorRequired):
		return fmt.Errorf("Ubuntu One asks for a one-time password, and none was given (%w)", le)
	case errors.As(err, &le) && strings.Contains(strings.ToLower(le.Code), "twofactor"):
		return hint(fmt.Errorf("Ubuntu One did not accept the one-time password (%w)", le), "Try again with a fresh one.")
	case errors.As(err, &le) && le.StatusCode == 401:
		return fmt.Errorf("Ubuntu One did not accept the email address and password (%w)", le)
	case errors.As(err, &le):
		return fmt.Errorf("Ubuntu One refused the login (%w)", le)
	case errors.Is(err, charmhub.ErrUnauthorized) && errors.As(err, &apiErr):
		return &credentialsError{details: apiErr.Details()}
	case errors.As(err, &apiErr):
		return fmt.Errorf("Charmhub refused the login: %s", apiErr.Details())
	}
	return unreachable(err)
}

// unreachable adds what to check to an error that never reached a
// server: a refused connection, an unknown host, a timeout.
func unreachable(err error) error {
	if errors.Is(err, imagepush.ErrDaemonUnreachable) {
		return err // its message already says what to do
	}
	var opErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &opErr) || errors.As(err, &dnsErr) {
		return hint(err, fmt.Sprintf("Check the network connection, and %s, %s and %s if you set them.", apiURLEnv, uploadURLEnv, registryURLEnv))
	}
	return err
}

// exactArgs is cobra.ExactArgs with a sentence naming the arguments:
// exactArgs("CHARM", "RESOURCE"); none for a command that takes none.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == len(names) {
			return nil
		}
		takes := "no arguments"
		switch len(names) {
		case 0:
		case 1:
			takes = "1 argument, " + names[0]
		default:
			takes = fmt.Sprintf("%d arguments, %s", len(names), strings.Join(names, " "))
		}
		given := "none"
		if len(args) > 0 {
			given = fmt.Sprint(len(args))
		}
		return fmt.Errorf("'%s' takes %s, but was given %s; see '%s --help'", cmd.CommandPath(), takes, given, cmd.CommandPath())
	}
}

// joinQuoted lists names once each, in the order first seen, in single
// quotes.
func joinQuoted(names []string) string {
	var q []string
	for _, n := range names {
		if s := "'" + n + "'"; !slices.Contains(q, s) {
			q = append(q, s)
		}
	}
	return strings.Join(q, ", ")
}

// socketDenied says whether err is the Docker daemon's socket refusing
// this user.
func socketDenied(err error) bool {
	return errors.Is(err, fs.ErrPermission) || strings.Contains(err.Error(), "permission denied")
}

// imageError says what to do about an image found nowhere, or named
// ambiguously.
func imageError(err error, charm string) error {
	var lookup *imagepush.LookupError
	var ambiguous *imagepush.AmbiguousError
	var stall *imagepush.DaemonStallError
	switch {
	case errors.As(err, &stall):
		return fmt.Errorf("%w; check that it is not stuck (`docker info`), or give it longer with %s", err, stallTimeoutEnv)
	case errors.As(err, &ambiguous):
		return fmt.Errorf("--image %s matches %d local images; give more hex characters to choose one of:\n%s", ambiguous.Ref.Hex, len(ambiguous.Images), ambiguous.List())
	case !errors.As(err, &lookup):
		return err
	}
	want := lookup.Ref
	switch {
	case errors.Is(err, imagepush.ErrDaemonUnreachable) && socketDenied(err):
		return fmt.Errorf("the local Docker daemon cannot be reached: permission denied on its socket, needed to look up image %s\nAdd your user to the docker group (then log in again), or give the full sha256 digest of an image already in Canonical's registry", want)
	case errors.Is(err, imagepush.ErrDaemonUnreachable) && want.Full:
		return hint(fmt.Errorf("image %s is not in Canonical's registry for charm '%s', and the local Docker daemon cannot be reached to take it from there (%w)", want, charm, lookup.Err),
			"Start Docker, or give the digest of an image already in the registry.")
	case errors.Is(err, imagepush.ErrDaemonUnreachable):
		return hint(fmt.Errorf("a short digest must be looked up in the local Docker daemon, which cannot be reached (%w)", lookup.Err),
			"Start Docker, or give the full sha256 digest of an image already in Canonical's registry.")
	case want.Full:
		return fmt.Errorf("image %s was found neither in Canonical's registry for charm '%s' nor in the local Docker daemon; check the digest with `docker images --digests --no-trunc`", want, charm)
	default:
		return fmt.Errorf("no local image ID starts with %s; check it with `docker images`, or give the full sha256 digest of an image already in Canonical's registry", want.Hex)
	}
}
