package dockersave

import (
	"errors"
	"fmt"
)

// Sentinel errors, to be checked with errors.Is. The message of an error
// returned by Build says what was read and what was wrong; these only
// classify it.
var (
	// ErrInvalidArchive means the stream is not a usable docker save
	// archive: not a tar, a hostile or duplicate entry name, a link loop, a
	// missing or malformed manifest.json or image config.
	ErrInvalidArchive = errors.New("invalid docker save archive")

	// ErrLimit means the archive exceeds one of the limits Build enforces
	// (number of entries, size of a JSON document, length of a name).
	ErrLimit = errors.New("docker save archive exceeds a limit")

	// ErrDiffIDMismatch means the layers and the image config disagree:
	// their number differs, or a layer does not hash to the diff ID the
	// config (or image inspect) gives it.
	ErrDiffIDMismatch = errors.New("layer does not match the image config")

	// ErrDigestMismatch means content does not hash to the digest that
	// names it: a blob under blobs/sha256/, a config file named after the
	// image ID, or what the registry reported for a pushed blob.
	ErrDigestMismatch = errors.New("content does not match its digest")

	// ErrStaleCache means a layer recognised by its fingerprint turned out
	// to be another layer once read: the stream is spent, so Build stops.
	// Run it again on a new stream without the cache's fingerprints.
	ErrStaleCache = errors.New("a cached layer fingerprint matched another layer")

	// ErrImageNotFound means the image named with WithImage is not in the
	// stream, or the stream holds several images and none was named.
	ErrImageNotFound = errors.New("image not found in docker save archive")
)

// kindError carries a sentinel for errors.Is without putting its text in
// the message, so that messages read as one sentence.
type kindError struct {
	kind error
	err  error
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// errorf formats a message like fmt.Errorf and classifies it under kind.
func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, err: fmt.Errorf(format, args...)}
}
