package faultproxy

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Link is the network the proxy plays between its clients and its
// targets: what a registry or an API across the internet costs, which
// loopback hides.
type Link struct {
	// RTT is the round-trip time. Each request pays it once: half before
	// it is forwarded, half before its answer is passed back. The first
	// request of a connection pays it once more, for the TCP handshake.
	RTT time.Duration
	// Rate, if not zero, is the bandwidth in bytes per second. All the
	// request bodies in flight share it, and all the answer bodies share
	// as much again.
	Rate int64
}

// SetLink makes every request from now on cross l. The zero Link, the
// default, adds nothing.
func (p *Proxy) SetLink(l Link) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.link = l
	p.up = newPacer(l.Rate)
	p.down = newPacer(l.Rate)
}

// crossing is one request's share of the link.
type crossing struct {
	half     time.Duration // each way
	up, down *pacer        // nil when the bandwidth is not bounded
}

// cross holds r for its way out: half the RTT, and the handshake of a
// new connection. It says false if the client gave up meanwhile.
func (p *Proxy) cross(ctx context.Context) (crossing, bool) {
	p.mu.Lock()
	c := crossing{half: p.link.RTT / 2, up: p.up, down: p.down}
	rtt := p.link.RTT
	p.mu.Unlock()
	delay := c.half
	if fresh, ok := ctx.Value(connKey{}).(*atomic.Bool); ok && fresh.Swap(false) {
		delay += rtt
	}
	return c, delay <= 0 || wait(ctx, delay)
}

// connKey holds, in a request's context, whether its connection has yet
// to carry a request.
type connKey struct{}

// pacer spreads the bytes of every reader it paces over time at rate
// bytes per second, in the order they are read.
type pacer struct {
	rate int64
	mu   sync.Mutex
	next time.Time // when the bytes reserved so far have passed
}

func newPacer(rate int64) *pacer {
	if rate <= 0 {
		return nil
	}
	return &pacer{rate: rate}
}

// reserve books n bytes and returns when they have passed.
func (p *pacer) reserve(n int) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next = later(p.next, time.Now()).Add(time.Duration(float64(n) / float64(p.rate) * float64(time.Second)))
	return p.next
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// pacedReader reads r no faster than its pacer lets it.
type pacedReader struct {
	r   io.Reader
	p   *pacer
	ctx context.Context
}

// pace is r read through pc, or r itself when pc is nil.
func pace(ctx context.Context, r io.Reader, pc *pacer) io.Reader {
	if pc == nil {
		return r
	}
	return &pacedReader{r: r, p: pc, ctx: ctx}
}

func (pr *pacedReader) Read(b []byte) (int, error) {
	// Small reads, so that the readers sharing the pacer take turns.
	b = b[:min(len(b), max(int(pr.p.rate/50), 1<<10))]
	n, err := pr.r.Read(b)
	if n > 0 && !wait(pr.ctx, time.Until(pr.p.reserve(n))) {
		return n, pr.ctx.Err()
	}
	return n, err
}
