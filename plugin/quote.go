package plugin

import (
	"strconv"
	"strings"
	"unicode"
)

// quotePath shows a path the user gave as they typed it, in single quotes
// as the other messages show names: `Z:\work\data.bin`, not Go's
// "Z:\\work\\data.bin". A path holding a single quote or a character that
// does not print is Go-quoted instead, so that nothing in it hides.
func quotePath(p string) string {
	if strings.ContainsRune(p, '\'') || strings.ContainsFunc(p, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return strconv.Quote(p)
	}
	return "'" + p + "'"
}
