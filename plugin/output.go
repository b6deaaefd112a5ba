package plugin

import (
	"encoding/json"
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
	out, err io.Writer
	json     bool
	// quiet (-q) leaves out the lines that say what is being done.
	quiet bool
	// imageDigest is the remote digest of the image uploaded, if one was.
	imageDigest digest.Digest
}

func newResultWriter(env *cliEnv, format string) *resultWriter {
	return &resultWriter{out: env.dockerCli.Out(), err: env.dockerCli.Err(), json: format == "json"}
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
		return json.NewEncoder(w.out).Encode(v)
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
