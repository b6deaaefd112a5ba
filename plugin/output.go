package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/imagepush"
	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"
)

// resultWriter prints results: human lines on stdout, or, with
// --format=json, a single JSON document on stdout and nothing else.
type resultWriter struct {
	out, err io.Writer
	json     bool
}

func newResultWriter(env *cliEnv, format string) *resultWriter {
	return &resultWriter{out: env.dockerCli.Out(), err: env.dockerCli.Err(), json: format == "json"}
}

// info prints a progress line on stderr, so that stdout holds only the
// result.
func (w *resultWriter) info(format string, a ...any) {
	_, _ = fmt.Fprintf(w.err, format+"\n", a...)
}

func (w *resultWriter) revision(n int, charm, resource string) error {
	if w.json {
		return json.NewEncoder(w.out).Encode(map[string]int{"revision": n})
	}
	_, err := fmt.Fprintf(w.out, "Revision %d created of resource '%s' for charm '%s'\n", n, resource, charm)
	return err
}

// rejected reports a review that did not approve the upload; the command
// then exits 1.
func (w *resultWriter) rejected(st *charmhub.RevisionStatus) error {
	if w.json {
		errs := st.Errors
		if errs == nil {
			errs = []charmhub.ErrorItem{}
		}
		if err := json.NewEncoder(w.out).Encode(map[string]any{"errors": errs}); err != nil {
			return err
		}
		return cli.StatusError{StatusCode: 1, Status: fmt.Sprintf("Upload failed with status '%s'", st.Status)}
	}
	lines := []string{fmt.Sprintf("Upload failed with status '%s':", st.Status)}
	for _, e := range st.Errors {
		lines = append(lines, fmt.Sprintf("- %s: %s", e.Code, e.Message))
	}
	return cli.StatusError{StatusCode: 1, Status: strings.Join(lines, "\n")}
}

// explain turns an error from Charmhub into a sentence for the user.
func explain(err error, charm, resource string) error {
	var apiErr *charmhub.APIError
	if !errors.As(err, &apiErr) {
		return unreachable(err)
	}
	switch {
	case errors.Is(err, charmhub.ErrUnauthorized):
		return fmt.Errorf("Charmhub did not accept the credentials (%s): they are invalid or expired; export fresh ones with `charmcraft login --export=FILE` and set CHARMCRAFT_AUTH, or run `docker charmcraft login`", apiErr.Details())
	case errors.Is(err, charmhub.ErrPermission):
		return fmt.Errorf("only the owner or a collaborator of charm '%s' may upload its resources; Charmhub said: %s", charm, apiErr.Details())
	case errors.Is(err, charmhub.ErrTemporary):
		again := ""
		if apiErr.Attempts > 1 {
			again = fmt.Sprintf(" and kept failing after %d attempts", apiErr.Attempts)
		}
		return fmt.Errorf("Charmhub is temporarily unavailable (%s)%s; try again later", apiErr.Details(), again)
	case errors.Is(err, charmhub.ErrNotFound):
		return fmt.Errorf("charm '%s' or its resource '%s' was not found on Charmhub (%s): check the names, and that the charm is registered", charm, resource, apiErr.Details())
	}
	return fmt.Errorf("Charmhub refused the request: %s", apiErr.Details())
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
		return fmt.Errorf("%w; check the network connection, and CHARMCRAFT_STORE_API_URL, CHARMCRAFT_UPLOAD_URL and CHARMCRAFT_REGISTRY_URL if you set them", err)
	}
	return err
}

// exactArgs is cobra.ExactArgs with a sentence naming the arguments.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return fmt.Errorf("%q takes %d arguments, %s, but got %d; see '%s --help'", cmd.CommandPath(), n, names, len(args), cmd.CommandPath())
	}
}

func joinQuoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	return strings.Join(q, ", ")
}
