//go:build unix

package layercache

import (
	"fmt"
	"os"
	"syscall"
)

// trusted says why a file or directory of the cache must not be trusted:
// another user than this one (or root) owns it, or its group or others
// may write it. Nil if it may be.
func trusted(fi os.FileInfo) error {
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("it is writable by its group or by others (mode %v)", fi.Mode().Perm())
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := int64(os.Getuid()); int64(st.Uid) != uid && st.Uid != 0 {
		return fmt.Errorf("it belongs to user %d, not to this user (%d)", st.Uid, uid)
	}
	return nil
}
