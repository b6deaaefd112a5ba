package faultproxy

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// TCPLink forwards the TCP connections it accepts to a target across a
// Link, at the level of bytes: whatever the connections carry (TLS,
// HTTP/2, HTTP/1.1) passes through untouched, so that what the link
// costs falls on each protocol as it would across a network: an HTTP/2
// flow-control window waits for its update a whole round trip, an
// HTTP/1.1 client opening more connections pays their handshakes.
//
// Each byte arrives half the RTT after it left, each way; a new
// connection carries nothing for one RTT (the TCP handshake). With a
// Rate, the bytes of every connection share it, each way. A connection
// holds at most tcpWindow bytes in flight each way, as TCP's receive
// window would (Linux's default maximum), so that a sender is held back
// when the other end does not read.
type TCPLink struct {
	ln     net.Listener
	target string
	link   Link
	// Addr is where the link listens (host:port).
	Addr     string
	up, down *pacer // shared by every connection; nil when unbounded
	sentUp   atomic.Int64
	sentDown atomic.Int64
	conns    atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	open     map[net.Conn]struct{}
	closed   bool
}

// tcpWindow is the most bytes a connection keeps in flight each way:
// Linux's default largest TCP receive window (net.ipv4.tcp_rmem).
const tcpWindow = 6 << 20

// ListenTCPLink listens on addr (host:port, port 0 for any) and forwards
// every connection to target across l.
func ListenTCPLink(addr, target string, l Link) (*TCPLink, error) {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, err
	}
	t := &TCPLink{ln: ln, target: target, link: l, Addr: ln.Addr().String(),
		up: newPacer(l.Rate), down: newPacer(l.Rate), open: map[net.Conn]struct{}{}}
	t.wg.Add(1)
	go t.serve()
	return t, nil
}

// Sent is how many bytes crossed the link from the clients to the target
// (up) and back (down) since the last Reset.
func (t *TCPLink) Sent() (up, down int64) { return t.sentUp.Load(), t.sentDown.Load() }

// Conns is how many connections the link accepted since the last Reset.
func (t *TCPLink) Conns() int64 { return t.conns.Load() }

// Reset sets the counts back to zero.
func (t *TCPLink) Reset() {
	t.sentUp.Store(0)
	t.sentDown.Store(0)
	t.conns.Store(0)
}

// Close stops listening, cuts every connection and waits for their
// goroutines.
func (t *TCPLink) Close() {
	_ = t.ln.Close()
	t.mu.Lock()
	t.closed = true
	for c := range t.open {
		_ = c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
}

func (t *TCPLink) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.open[c] = struct{}{}
	return true
}

func (t *TCPLink) untrack(c net.Conn) {
	t.mu.Lock()
	delete(t.open, c)
	t.mu.Unlock()
	_ = c.Close()
}

func (t *TCPLink) serve() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			return
		}
		t.conns.Add(1)
		t.wg.Add(1)
		go t.carry(c)
	}
}

// carry forwards one connection, each way across its own delay line.
func (t *TCPLink) carry(c net.Conn) {
	defer t.wg.Done()
	if !t.track(c) {
		_ = c.Close()
		return
	}
	defer t.untrack(c)
	// The handshake: the client's first bytes reach the target one RTT
	// after it connected, and half the RTT more.
	opened := time.Now().Add(t.link.RTT)
	s, err := (&net.Dialer{Timeout: 30 * time.Second}).Dial("tcp", t.target)
	if err != nil {
		return
	}
	if !t.track(s) {
		_ = s.Close()
		return
	}
	defer t.untrack(s)
	var both sync.WaitGroup
	both.Add(2)
	go func() { defer both.Done(); t.pipe(s, c, t.up, &t.sentUp, opened) }()
	go func() { defer both.Done(); t.pipe(c, s, t.down, &t.sentDown, time.Time{}) }()
	both.Wait()
}

// chunk is bytes on their way, and when they arrive.
type chunk struct {
	b    []byte
	due  time.Time
	done bool // the sender closed its side
}

// pipe copies src to dst across the link, one direction: a reader puts
// the bytes on a delay line, a writer takes them off when they are due.
// Nothing before notBefore arrives sooner than it.
func (t *TCPLink) pipe(dst, src net.Conn, pc *pacer, sent *atomic.Int64, notBefore time.Time) {
	half := t.link.RTT / 2
	line := make(chan chunk, 1024)
	window := make(chan struct{}, tcpWindow>>10) // a token per KiB in flight
	size := 64 << 10
	if pc != nil {
		// Small chunks on a slow link, so that connections take turns.
		size = min(size, max(int(pc.rate/200), 1<<10))
	}
	go func() {
		defer close(line)
		for {
			b := make([]byte, size)
			n, err := src.Read(b)
			if n > 0 {
				for range (n + 1023) >> 10 {
					window <- struct{}{}
				}
				left := time.Now()
				if pc != nil {
					left = pc.reserve(n)
					sleepUntil(left) // the link is busy until then: no queue grows in front of it
				}
				line <- chunk{b: b[:n], due: later(left, notBefore).Add(half)}
			}
			if err != nil {
				line <- chunk{done: errors.Is(err, io.EOF), due: later(time.Now(), notBefore).Add(half)}
				return
			}
		}
	}()
	for ch := range line {
		sleepUntil(ch.due)
		if ch.b == nil {
			if ch.done {
				if cw, ok := dst.(interface{ CloseWrite() error }); ok {
					_ = cw.CloseWrite()
					continue
				}
			}
			_ = dst.Close()
			_ = src.Close()
			continue
		}
		_, err := dst.Write(ch.b)
		sent.Add(int64(len(ch.b)))
		for range (len(ch.b) + 1023) >> 10 {
			<-window
		}
		if err != nil {
			_ = dst.Close()
			_ = src.Close()
			// Drain, so that the reader is never stuck on a full line.
			for ch := range line {
				for range (len(ch.b) + 1023) >> 10 {
					<-window
				}
			}
			return
		}
	}
}

func sleepUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		time.Sleep(d)
	}
}
