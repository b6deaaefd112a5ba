package plugin

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/dockersave"
	"github.com/opencontainers/go-digest"
)

var (
	layerA = strings.Repeat("a", 64) + "/layer.tar"
	layerB = "blobs/sha256/" + strings.Repeat("b", 64)
)

func pushEvents() []dockersave.Event {
	return []dockersave.Event{
		{Kind: dockersave.Preparing, Name: layerA},
		{Kind: dockersave.Pushing, Name: layerA, Done: 1 << 20, Total: 3 << 20},
		{Kind: dockersave.Pushing, Name: layerA, Done: 2 << 20, Total: 3 << 20},
		{Kind: dockersave.Pushed, Name: layerA},
		{Kind: dockersave.Preparing, Name: layerB},
		{Kind: dockersave.Exists, Name: layerB},
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

// TestLayerProgressDiffIDs checks that a layer is shown under its diff ID,
// the ID docker inspect and docker push show, as soon as an event carries
// it: the classic store's docker save names layers by directories of its
// own, which differ from image to image for the same layer.
func TestLayerProgressDiffIDs(t *testing.T) {
	diffID := digest.Digest("sha256:4b17025027f3" + strings.Repeat("0", 52))
	events := []dockersave.Event{
		{Kind: dockersave.Preparing, Name: layerA, DiffID: diffID},
		{Kind: dockersave.Exists, Name: layerA, DiffID: diffID},
		{Kind: dockersave.Preparing, Name: layerB},
		{Kind: dockersave.Pushed, Name: layerB, DiffID: digest.Digest("sha256:" + strings.Repeat("b", 64))},
	}
	var b bytes.Buffer
	p := newLayerProgress(&b, false, 120)
	for _, ev := range events {
		p.event(ev)
	}
	want := "4b17025027f3: Preparing\n4b17025027f3: Layer already exists\nbbbbbbbbbbbb: Preparing\nbbbbbbbbbbbb: Pushed\n"
	if b.String() != want || strings.Contains(b.String(), "aaaaaaaaaaaa") {
		t.Errorf("plain progress =\n%q\nwant\n%q", b.String(), want)
	}
}

// TestBarETA checks the time left: none in the first moments, when docker's
// estimate from whole seconds is wild; a sane one later.
func TestBarETA(t *testing.T) {
	early := bar(32768, 20971520, time.Now().Add(-200*time.Millisecond), 200)
	if strings.HasSuffix(early, "s") {
		t.Errorf("first tick shows a time left: %q", early)
	}
	later := bar(10<<20, 20<<20, time.Now().Add(-10*time.Second), 200)
	if !strings.HasSuffix(later, " 10s") && !strings.HasSuffix(later, " 9s") && !strings.HasSuffix(later, " 11s") {
		t.Errorf("half done after 10s: %q, want about 10s left", later)
	}
}
