package transport

import "strings"

// Printable drops control characters (C0, DEL and C1, where 0x9b starts a
// terminal escape) from text a server sent, before it reaches a terminal
// in an error message.
func Printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}
