package plugin

import (
	"os"
	"syscall"
)

// changeTime is the inode change time of fi, in nanoseconds; 0 if
// unknown.
func changeTime(fi os.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ctimespec.Nano()
	}
	return 0
}
