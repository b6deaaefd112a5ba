//go:build unix

package plugin

import "syscall"

// haveFifo says whether mkfifo can make a named pipe here.
const haveFifo = true

func mkfifo(path string) error { return syscall.Mkfifo(path, 0o644) }
