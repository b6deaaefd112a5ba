//go:build !unix

package plugin

import (
	"errors"
	"runtime"
)

// haveFifo says whether mkfifo can make a named pipe here: not on Windows
// (named pipes live under \\.\pipe\, not in a directory), so the tests that
// need one skip it.
const haveFifo = false

func mkfifo(string) error {
	return errors.New("mkfifo: no named pipes in the file system on " + runtime.GOOS)
}
