package plugin

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/docker/go-units"
)

// progressBar draws `Uploading data.tar.gz [=====>      ] 12.3MB/40MB` on a
// terminal, redrawn at most every 100 ms; off a terminal it stays silent.
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer // nil: draw nothing
	label string
	total int64
	cur   int64
	last  time.Time
}

func (e *cliEnv) progress(label string, total int64) *progressBar {
	p := &progressBar{label: label, total: total}
	if e.dockerCli.Err().IsTerminal() {
		p.w = e.dockerCli.Err()
	}
	return p
}

// set records that n bytes are done; safe from any goroutine.
func (p *progressBar) set(n int64) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cur = n
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond || n >= p.total {
		p.last = now
		p.draw()
	}
}

func (p *progressBar) draw() {
	const width = 40
	filled := width
	if p.total > 0 {
		filled = int(min(p.cur, p.total) * width / p.total)
	}
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	_, _ = fmt.Fprintf(p.w, "\r%s [%s] %s/%s ", p.label, bar,
		units.HumanSizeWithPrecision(float64(p.cur), 3), units.HumanSizeWithPrecision(float64(p.total), 3))
}

// done ends the bar's line.
func (p *progressBar) done() {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.last.IsZero() {
		_, _ = fmt.Fprintln(p.w)
	}
}
