package plugin

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/docker/cli/cli"
	"github.com/opencontainers/go-digest"
)

// resultWriter prints results: human lines on stdout, or, with
// --format=json, a single JSON document on stdout and nothing else.
type resultWriter struct {
	env      *cliEnv
	out, err io.Writer
	json     bool
	// quiet (-q) leaves out the lines that say what is being done.
	quiet bool
	// imageDigest is the remote digest of the image uploaded, if one was.
	imageDigest digest.Digest
}

func newResultWriter(env *cliEnv, format string) *resultWriter {
	return &resultWriter{env: env, out: env.dockerCli.Out(), err: env.dockerCli.Err(), json: format == "json"}
}

// info prints a progress line on stderr, so that stdout holds only the
// result.
func (w *resultWriter) info(format string, a ...any) {
	if !w.quiet {
		_, _ = fmt.Fprintf(w.err, format+"\n", a...)
	}
}

// warn prints a warning on stderr, even with -q.
func (w *resultWriter) warn(format string, a ...any) {
	_, _ = fmt.Fprintf(w.err, format+"\n", a...)
}

// revision reports the revision created: with --format=json, charmcraft's
// {"revision": N}, and for an image the remote digest a script can reuse
// with --image.
func (w *resultWriter) revision(n int, charm, resource string) error {
	if w.json {
		v := struct {
			Revision int           `json:"revision"`
			Digest   digest.Digest `json:"digest,omitempty"`
		}{n, w.imageDigest}
		return writeJSON(w.out, v)
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
		if err := writeJSON(w.out, map[string]any{"errors": errs}); err != nil {
			return err
		}
		w.env.reported = true
		return cli.StatusError{StatusCode: 1, Status: fmt.Sprintf("Upload failed with status '%s'", st.Status)}
	}
	lines := []string{fmt.Sprintf("Upload failed with status '%s':", st.Status)}
	for _, e := range st.Errors {
		lines = append(lines, fmt.Sprintf("- %s: %s", e.Code, e.Message))
	}
	return cli.StatusError{StatusCode: 1, Status: strings.Join(lines, "\n")}
}

// reportJSON prints a failed run's error on stdout as JSON, in the shape
// of a rejected review's ({"errors": [{"code", "message"}]}), for a
// command run with --format=json: a script reads stdout alone. The
// error still goes to stderr, and the exit code stays.
func reportJSON(w io.Writer, err error) {
	code := "error"
	switch {
	case errors.Is(err, errCancelled):
		code = "cancelled"
	case errors.As(err, new(*credentialsError)):
		code = "invalid-credentials"
	}
	msg := err.Error()
	if se, ok := errors.AsType[cli.StatusError](err); ok {
		msg = se.Status
	}
	_ = writeJSON(w, map[string][]charmhub.ErrorItem{"errors": {{Code: code, Message: msg}}})
}
