package plugin

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub"
)

func TestHumanSize(t *testing.T) {
	// Docker's units, as its progress bars write them.
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0B"},
		{50, "50B"},
		{999, "999B"},
		{1000, "1kB"},
		{5000, "5kB"},
		{876543, "876.5kB"},
		{34450520, "34.45MB"},
		{209715200, "209.7MB"},
		{1 << 30, "1.074GB"},
	}
	for _, tt := range tests {
		if got := humanSize(tt.in); got != tt.want {
			t.Errorf("humanSize(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTimestamps(t *testing.T) {
	at := time.Date(2020, 7, 3, 20, 30, 40, 0, time.FixedZone("CEST", 2*3600))
	if got := formatTimestamp(at); got != "2020-07-03T18:30:40Z" {
		t.Errorf("formatTimestamp = %q", got)
	}
	if got := isoTimestamp(at); got != "2020-07-03T18:30:40+00:00" {
		t.Errorf("isoTimestamp = %q", got)
	}
	if got := isoTimestamp(at.Add(1500 * time.Microsecond)); got != "2020-07-03T18:30:40.001500+00:00" {
		t.Errorf("isoTimestamp with microseconds = %q", got)
	}
}

func TestGroupByRevision(t *testing.T) {
	// charmcraft's test_resources_ordered_and_grouped, plus a resource
	// without a revision.
	in := []charmhub.Resource{
		{Name: "bbb-resource", Revision: 2},
		{Name: "ccc-resource", Revision: 1},
		{Name: "bbb-resource", Revision: 3},
		{Name: "zzz-resource"},
		{Name: "aaa-resource", Revision: 2},
		{Name: "bbb-resource", Revision: 5},
	}
	var b bytes.Buffer
	tw := newTable(&b)
	for _, g := range groupByRevision(in) {
		for i, r := range g {
			rev := ""
			if i == 0 {
				rev = revisionText(r.Revision)
			}
			row(tw, rev, r.Name)
		}
	}
	_ = tw.Flush()
	want := []string{"5", "3", "2", "", "1", "-"}
	names := []string{"bbb-resource", "bbb-resource", "aaa-resource", "bbb-resource", "ccc-resource", "zzz-resource"}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	for i, l := range lines {
		f := strings.Fields(l)
		if got := strings.Join(f, " "); got != strings.TrimSpace(want[i]+" "+names[i]) {
			t.Errorf("line %d = %q, want %q %q", i, l, want[i], names[i])
		}
	}
}

func TestAlignRight(t *testing.T) {
	if got := alignRight([]string{"Size", "50B", "856.0K"}); !slices.Equal(got, []string{"  Size", "   50B", "856.0K"}) {
		t.Errorf("alignRight = %q", got)
	}
}
