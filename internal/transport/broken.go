package transport

import (
	"errors"
	"syscall"
)

// Windows reports a broken connection with its own socket errors
// (winerror.h). Go's syscall package there names ECONNRESET, ECONNABORTED
// and EPIPE too, but with values of its own invention that no socket call
// returns, so those alone never match on Windows.
const (
	wsaeConnAborted syscall.Errno = 10053 // WSAECONNABORTED: this side's stack aborted the connection
	wsaeConnReset   syscall.Errno = 10054 // WSAECONNRESET: the peer reset it
)

// brokenErrnos are the errors of a connection that broke under a request,
// on every OS: the Windows values cannot collide with the small Unix ones.
var brokenErrnos = []syscall.Errno{syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE, wsaeConnReset, wsaeConnAborted}

// ConnectionBroken says whether err comes from a connection that was
// reset or aborted, or written to after the peer closed it: a failure a
// new connection may not meet.
func ConnectionBroken(err error) bool {
	for _, e := range brokenErrnos {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
