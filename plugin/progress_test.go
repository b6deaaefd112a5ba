package plugin

import (
	"bytes"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/manifest"
)

var (
	layerA = strings.Repeat("a", 64) + "/layer.tar"
	layerB = "blobs/sha256/" + strings.Repeat("b", 64)
)

func pushEvents() []manifest.Event {
	return []manifest.Event{
		{Kind: manifest.Preparing, Name: layerA},
		{Kind: manifest.Pushing, Name: layerA, Done: 1 << 20, Total: 3 << 20},
		{Kind: manifest.Pushing, Name: layerA, Done: 2 << 20, Total: 3 << 20},
		{Kind: manifest.Pushed, Name: layerA},
		{Kind: manifest.Preparing, Name: layerB},
		{Kind: manifest.Exists, Name: layerB},
	}
}

func TestLayerProgressPlain(t *testing.T) {
	var b bytes.Buffer
	p := newLayerProgress(&b, false, 120)
	for _, ev := range pushEvents() {
		p.event(ev)
	}
	want := "aaaaaaaaaaaa: Preparing\naaaaaaaaaaaa: Pushing\naaaaaaaaaaaa: Pushed\n" +
		"bbbbbbbbbbbb: Preparing\nbbbbbbbbbbbb: Layer already exists\n"
	if b.String() != want {
		t.Errorf("plain progress =\n%q\nwant\n%q", b.String(), want)
	}
}

func TestLayerProgressTTY(t *testing.T) {
	var b bytes.Buffer
	p := newLayerProgress(&b, true, 120)
	for _, ev := range pushEvents() {
		p.event(ev)
	}
	out := b.String()
	// The last redraw goes up over both lines and ends in their final
	// states.
	last := out[strings.LastIndex(out, "\x1b[2A"):]
	want := "\x1b[2A\r\x1b[2Kaaaaaaaaaaaa: Pushed\n\r\x1b[2Kbbbbbbbbbbbb: Layer already exists\n"
	if last != want {
		t.Errorf("last redraw = %q, want %q", last, want)
	}
	if !strings.Contains(out, "aaaaaaaaaaaa: Pushing [") || !strings.Contains(out, "/3.146MB") {
		t.Errorf("no bar while pushing: %q", out)
	}
}
