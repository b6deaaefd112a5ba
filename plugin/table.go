package plugin

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
)

// newTable returns a writer that aligns tab-separated columns as the
// docker CLI's own tables do (docker/cli's formatter uses the same
// settings). Flush it once every row is written.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
}

// row writes cells as one line of t.
func row(t io.Writer, cells ...string) {
	_, _ = fmt.Fprintln(t, strings.Join(cells, "\t"))
}

// alignRight pads cells on the left to the width of the widest, so that
// a column of numbers lines up on its right edge, as charmcraft shows
// sizes.
func alignRight(cells []string) []string {
	width := 0
	for _, c := range cells {
		width = max(width, len(c))
	}
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = strings.Repeat(" ", width-len(c)) + c
	}
	return out
}

// humanSize writes a byte count as Docker does everywhere the plugin
// shows one (the progress bars, docker images): decimal units, four
// significant digits, "50B", "5kB", "876.5kB", "34.45MB".
func humanSize(n int64) string {
	return units.HumanSize(float64(n))
}

// formatTimestamp writes a time in UTC as charmcraft's tables do:
// 2020-07-03T20:30:40Z.
func formatTimestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// isoTimestamp writes a time as Python's datetime.isoformat does for an
// aware UTC time, which charmcraft's JSON output carries:
// 2020-07-03T20:30:40+00:00, with microseconds only when there are some.
func isoTimestamp(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02T15:04:05-07:00")
	}
	return t.Format("2006-01-02T15:04:05.000000-07:00")
}

// writeJSON writes v indented by four spaces, as charmcraft's --format
// json does.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "    ")
	return enc.Encode(v)
}

// printResult prints the result of a command that only reads: asJSON
// with --format=json, else what text writes.
func printResult(w io.Writer, format string, asJSON any, text func(io.Writer) error) error {
	if format == "json" {
		return writeJSON(w, asJSON)
	}
	return text(w)
}

// printLine is the text of a result that is one line, or several joined.
func printLine(s string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := fmt.Fprintln(w, s)
		return err
	}
}

// checkFormat refuses any --format but "" and "json".
func checkFormat(format string) error {
	if format != "" && format != "json" {
		return fmt.Errorf("--format %q is not supported: the only format is \"json\"", format)
	}
	return nil
}
