package plugin

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/canonical/docker-charmcraft/dockersave"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client/pkg/jsonmessage"
)

// Values of --progress, as `docker build --progress` names them.
const (
	progressAuto  = "auto"  // tty when stderr is a terminal (not TERM=dumb), else plain
	progressTTY   = "tty"   // lines redrawn in place, with bars
	progressPlain = "plain" // one line per change of state, no redraws
	progressQuiet = "quiet" // nothing
)

var progressModes = []string{progressAuto, progressTTY, progressPlain, progressQuiet}

// redrawEvery is the shortest time between two redraws of a bar.
const redrawEvery = 100 * time.Millisecond

// ANSI sequences that redraw lines in place, as docker push does.
const (
	eraseLine = "\x1b[2K"
	cursorUp  = "\x1b[%dA"
)

func checkProgress(mode string) error {
	if !slices.Contains(progressModes, mode) {
		return fmt.Errorf("--progress %q is not supported: use %s", mode, strings.Join(progressModes, ", "))
	}
	return nil
}

// progressWriter says where and how progress is drawn: always on stderr,
// never on stdout; nil for quiet.
func (e *cliEnv) progressWriter() (w io.Writer, tty bool, width int) {
	mode := e.progress
	if mode == "" || mode == progressAuto {
		mode = progressPlain
		// A dumb terminal (Emacs' shell, some CI logs) shows escape
		// codes instead of obeying them.
		if e.dockerCli.Err().IsTerminal() && e.getenv("TERM") != "dumb" {
			mode = progressTTY
		}
	}
	switch mode {
	case progressQuiet:
		return nil, false, 0
	case progressPlain:
		return e.dockerCli.Err(), false, 0
	}
	_, cols := e.dockerCli.Err().GetTtySize()
	if cols == 0 {
		cols = 120 // forced tty on a pipe: draw the bar
	}
	return e.dockerCli.Err(), true, int(cols)
}

// etaAfter is how long a bar runs before it shows the time left.
// Docker estimates it from the time since the start counted in whole
// seconds: in the first moments the part of a second lost makes the
// estimate wild (7m51s for what takes 20s).
const etaAfter = 2 * time.Second

// bar is the bar and counts of docker's own progress lines, and the time
// left once etaAfter has passed.
func bar(done, total int64, start time.Time, width int) string {
	p := jsonstream.Progress{Current: done, Total: total}
	if time.Since(start) >= etaAfter {
		p.Start = start.Add(time.Second / 2).Unix() // the nearest second
	}
	return jsonmessage.RenderTUIProgress(p, uint16(min(width, 1<<15))) //nolint:gosec // clamped to fit
}

// fileProgress shows the upload of one file:
// `data.tar.gz: Uploading [==>   ]  12.6MB/41.9MB`, then `Uploaded`.
type fileProgress struct {
	mu          sync.Mutex
	w           io.Writer // nil: quiet
	tty         bool
	width       int
	name        string
	total, cur  int64
	start, last time.Time
	state       string
}

func (e *cliEnv) fileProgress(name string, total int64) *fileProgress {
	w, tty, width := e.progressWriter()
	return &fileProgress{w: w, tty: tty, width: width, name: name, total: total}
}

// set records that n bytes are sent; safe from any goroutine. A value
// lower than the last one is an upload started again.
func (p *fileProgress) set(n int64) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	restarted := n < p.cur
	p.cur = n
	switch {
	case p.state == "" || restarted:
		p.start, p.state = time.Now(), "Uploading"
		if !p.tty {
			_, _ = fmt.Fprintf(p.w, "%s: Uploading %s\n", p.name, humanSize(p.total))
			return
		}
	case !p.tty || (time.Since(p.last) < redrawEvery && n < p.total):
		return
	}
	p.last = time.Now()
	_, _ = fmt.Fprintf(p.w, "\r%s%s: Uploading %s", eraseLine, p.name, bar(p.cur, p.total, p.start, p.width))
}

// done ends the progress: `Uploaded` when ok, else the line is left as
// it was for the error that follows.
func (p *fileProgress) done(ok bool) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case ok && p.tty:
		_, _ = fmt.Fprintf(p.w, "\r%s%s: Uploaded\n", eraseLine, p.name)
	case ok:
		_, _ = fmt.Fprintf(p.w, "%s: Uploaded\n", p.name)
	case p.tty && p.state != "":
		_, _ = fmt.Fprintln(p.w)
	}
}

// layerProgress shows the layers of an image as docker push does, one
// line each: Preparing, Pushing (with a bar on a terminal), Pushed or
// Layer already exists.
type layerProgress struct {
	w      io.Writer
	tty    bool
	width  int
	order  []string          // layer keys (their names in the save stream), first seen first
	ids    map[string]string // the ID shown for each key
	lines  map[string]string
	starts map[string]time.Time
	state  map[string]dockersave.EventKind
	drawn  int // lines of the block on screen
	last   time.Time
}

// layerProgress returns the function to give dockersave.WithProgress. It is
// called from one goroutine at a time.
func (e *cliEnv) layerProgress() func(dockersave.Event) {
	w, tty, width := e.progressWriter()
	if w == nil {
		return func(dockersave.Event) {}
	}
	return newLayerProgress(w, tty, width).event
}

func newLayerProgress(w io.Writer, tty bool, width int) *layerProgress {
	return &layerProgress{
		w: w, tty: tty, width: width, lines: map[string]string{}, ids: map[string]string{},
		starts: map[string]time.Time{}, state: map[string]dockersave.EventKind{},
	}
}

func (p *layerProgress) event(ev dockersave.Event) {
	key := ev.Name
	if _, seen := p.lines[key]; !seen {
		p.order = append(p.order, key)
	}
	// Docker names a layer by its diff ID (docker inspect's RootFS.Layers,
	// docker push's lines); the classic store's docker save names it by a
	// directory of its own, until the layer read tells its diff ID.
	if ev.DiffID != "" {
		p.ids[key] = ev.DiffID.Encoded()[:12]
	} else if p.ids[key] == "" {
		p.ids[key] = layerID(ev.Name)
	}
	id := p.ids[key]
	changed := p.state[key] != ev.Kind
	p.state[key] = ev.Kind
	if ev.Kind == dockersave.Pushing && changed {
		p.starts[key] = time.Now()
	}
	line := id + ": " + ev.Kind.String()
	if ev.Kind == dockersave.Pushing && p.tty {
		line += " " + bar(ev.Done, ev.Total, p.starts[key], p.width)
	}
	p.lines[key] = line
	switch {
	case !p.tty && changed:
		_, _ = fmt.Fprintln(p.w, line)
	case p.tty && (changed || time.Since(p.last) >= redrawEvery):
		p.redraw()
	}
}

// redraw draws the block of layer lines again over the last one.
func (p *layerProgress) redraw() {
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, cursorUp, p.drawn)
	}
	for _, id := range p.order {
		b.WriteString("\r" + eraseLine + p.lines[id] + "\n")
	}
	_, _ = io.WriteString(p.w, b.String())
	p.drawn, p.last = len(p.order), time.Now()
}

var hex64RE = regexp.MustCompile(`[0-9a-f]{64}`)

// layerID names a layer by the first 12 hex digits of the digest in its
// path in the save stream, as docker push names layers; else by the path.
func layerID(name string) string {
	if h := hex64RE.FindString(name); h != "" {
		return h[:12]
	}
	return name
}
