package transport_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// opError is a socket error as the net package returns it, inside the
// error an HTTP client gives.
func opError(op, syscallName string, errno syscall.Errno) error {
	return &url.Error{Op: "Put", URL: "http://127.0.0.1:5000/v2/x/blobs/uploads/1", Err: &net.OpError{
		Op: op, Net: "tcp", Err: os.NewSyscallError(syscallName, errno),
	}}
}

// TestConnectionBroken classifies the errors each OS gives for a broken
// connection, whatever OS the test runs on: the Windows ones are what
// the plugin gets under Windows (and Wine), from wsasend and wsarecv.
func TestConnectionBroken(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"Unix: reset on write", opError("write", "write", syscall.ECONNRESET), true},
		{"Unix: reset on read", opError("read", "read", syscall.ECONNRESET), true},
		{"Unix: broken pipe", opError("write", "write", syscall.EPIPE), true},
		{"Unix: aborted", opError("read", "read", syscall.ECONNABORTED), true},
		{"Windows: WSAECONNRESET on send", opError("write", "wsasend", syscall.Errno(10054)), true},
		{"Windows: WSAECONNRESET on receive", opError("read", "wsarecv", syscall.Errno(10054)), true},
		{"Windows: WSAECONNABORTED", opError("write", "wsasend", syscall.Errno(10053)), true},
		{"wrapped again", fmt.Errorf("pushing a blob: %w", opError("write", "wsasend", syscall.Errno(10054))), true},
		{"Unix: refused", opError("dial", "connect", syscall.ECONNREFUSED), false},
		{"Windows: WSAECONNREFUSED", opError("dial", "connectex", syscall.Errno(10061)), false},
		{"Windows: WSAETIMEDOUT", opError("read", "wsarecv", syscall.Errno(10060)), false},
		{"end of the answer", io.ErrUnexpectedEOF, false},
		{"cancelled", context.Canceled, false},
		{"another error", errors.New("connection reset by peer"), false},
		{"none", nil, false},
	}
	for _, tt := range tests {
		if got := transport.ConnectionBroken(tt.err); got != tt.want {
			t.Errorf("%s: ConnectionBroken(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
