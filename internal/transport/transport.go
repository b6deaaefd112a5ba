package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"time"
)

// Default limits.
const (
	// DefaultStallTimeout is how long a connection may stay silent (no
	// byte sent or received, no answer) before it is dropped.
	DefaultStallTimeout = 2 * time.Minute
	// DialTimeout bounds opening a connection.
	DialTimeout = 30 * time.Second
	// TLSHandshakeTimeout bounds the TLS handshake.
	TLSHandshakeTimeout = 15 * time.Second
)

// New returns a transport like http.DefaultTransport (proxy from the
// environment, TLS verified, pooled connections), speaking HTTP/1.1 only
// (see below), whose waits are
// bounded: DialTimeout to connect, TLSHandshakeTimeout for the
// handshake, and stall, if positive, for any silence on a connection (the
// wait for an answer's headers once the request is sent gets a quarter
// more, for connections that carry other requests too). A stall fails the request with a timeout, which the
// clients' retry layers treat as temporary. The default for stall <= 0 is
// DefaultStallTimeout.
func New(stall time.Duration) *http.Transport {
	if stall <= 0 {
		stall = DefaultStallTimeout
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return newStallConn(c, stall), nil
	}
	t.TLSHandshakeTimeout = TLSHandshakeTimeout
	// A quarter longer than a stall, so that a silent server is reported
	// as a stall of the connection, whatever the request.
	t.ResponseHeaderTimeout = stall + stall/4
	t.ExpectContinueTimeout = time.Second
	// Idle pooled connections go before their deadline can fire under a
	// request that picks them.
	t.IdleConnTimeout = min(t.IdleConnTimeout, stall/2)
	// Image pushes keep several uploads in flight to one registry: every
	// connection is kept for the next, instead of two (Go's default), so
	// that none pays a new handshake.
	t.MaxIdleConnsPerHost = 16
	// HTTP/1.1 only, as docker push: over HTTP/2 every upload to a host
	// shares one connection and its flow-control window (1 MiB on Go's
	// servers, the registry's), so a push gets a window per round trip,
	// 10 MB/s at 100 ms; over HTTP/1.1 each upload in flight has a TCP
	// connection of its own (the bench's -tls rows).
	if offerHTTP2 != "1" {
		t.Protocols = new(http.Protocols)
		t.Protocols.SetHTTP1(true)
		// Clone left h2 in the TLS handshake's offer (ALPN): a server
		// would pick it, and speak HTTP/2 to this HTTP/1.1 client.
		if t.TLSClientConfig != nil {
			t.TLSClientConfig.NextProtos = slices.DeleteFunc(slices.Clone(t.TLSClientConfig.NextProtos), func(p string) bool { return p == "h2" })
		}
	}
	return t
}

// offerHTTP2, set to "1" at link time (-ldflags -X), has New offer HTTP/2
// too: the other side of the choice above, which the bench measures.
var offerHTTP2 = ""

// stallConn fails a read or write that waits longer than idle. Every
// read or write that moves bytes pushes the deadline of both directions
// back, so a connection busy one way (an upload waiting for its answer)
// is not cut on the other.
type stallConn struct {
	net.Conn
	idle    time.Duration
	armed   atomic.Int64 // unix nanoseconds when the deadline was last pushed back
	stalled atomic.Bool  // a deadline was reached
}

func newStallConn(c net.Conn, idle time.Duration) *stallConn {
	s := &stallConn{Conn: c, idle: idle}
	s.arm(time.Now())
	return s
}

// arm pushes the deadline back, at most a few times per idle period.
func (c *stallConn) arm(now time.Time) {
	last := c.armed.Load()
	if now.UnixNano()-last < int64(c.idle/8) || !c.armed.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	_ = c.SetDeadline(now.Add(c.idle))
}

func (c *stallConn) Read(p []byte) (int, error)  { return c.watch(c.Conn.Read, p) }
func (c *stallConn) Write(p []byte) (int, error) { return c.watch(c.Conn.Write, p) }

// watch does a read or a write with the deadline pushed back before it
// and, if it moved bytes, after it.
func (c *stallConn) watch(move func([]byte) (int, error), p []byte) (int, error) {
	c.arm(time.Now())
	n, err := move(p)
	if n > 0 {
		c.arm(time.Now())
	}
	return n, c.explain(err)
}

// explain turns the errors of a stalled connection, the timeout and
// those that follow when the other direction finds it closed, into a
// *StallError.
func (c *stallConn) explain(err error) error {
	if err == nil {
		return nil
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		c.stalled.Store(true)
	}
	if c.stalled.Load() {
		return &StallError{Idle: c.idle}
	}
	return err
}

// StallError says a connection was dropped after moving no byte for
// Idle. It is a timeout (a net.Error whose Timeout is true), which the
// clients retry when the request can be sent again.
type StallError struct{ Idle time.Duration }

func (e *StallError) Error() string {
	return fmt.Sprintf("no progress for %s: the connection was dropped", e.Idle)
}

// Timeout is true: see net.Error.
func (e *StallError) Timeout() bool { return true }

// Temporary is true: see net.Error.
func (e *StallError) Temporary() bool { return true }
