package imagepush

import "github.com/opencontainers/go-digest"

// EventKind says what happened.
type EventKind int

// What Push tells its caller, in the order it happens.
const (
	// Reused: the registry holds the image named, which is used as it is.
	Reused EventKind = iota + 1
	// Uploading: the registry does not hold it; it is taken from the
	// daemon.
	Uploading
	// AlreadyPushed: the image's remote manifest, Digest, turned out to be
	// in the registry already.
	AlreadyPushed
	// Uploaded: the remote manifest was pushed as Digest.
	Uploaded
	// ExportingAgain: a blob upload broke midway (Err); the image is
	// exported again, for attempt Attempt of Attempts.
	ExportingAgain
	// RecordIgnored: the registry's record of the image, Tag, could not
	// be used (Err says why: absent, unreadable, or naming another image);
	// the remote manifest is computed. Worth a debug line only.
	RecordIgnored
	// RecordSaved: the record Tag now names the remote manifest Digest.
	RecordSaved
	// RecordNotSaved: the registry did not take the record Tag of Digest
	// (Err); the push stands, the next one computes the manifest again.
	// Worth a debug line only.
	RecordNotSaved
	// TagNotRemoved: the temporary tag of a daemon push, Tag, could not
	// be removed (Err): the user may remove it.
	TagNotRemoved
	// NamesChanged: after a daemon push, the names the daemon lists of
	// the image, Digest, are not what they were, even after its lost tags
	// were tagged again (Err says how).
	NamesChanged
	// PushPath: which way a daemon push goes, and why (Note). Worth a
	// debug line only.
	PushPath
)

// Event is one thing Push tells its caller.
type Event struct {
	Kind EventKind
	// Digest is the remote manifest, for AlreadyPushed, Uploaded and
	// RecordSaved, RecordNotSaved.
	Digest digest.Digest
	// Attempt and Attempts count exports, for ExportingAgain.
	Attempt, Attempts int
	// Err is why the last export failed, for ExportingAgain; why the
	// record was not used or saved, for RecordIgnored and RecordNotSaved.
	Err error
	// Tag is the record's tag (see RecordTag), for the Record events; the
	// local tag, for TagNotRemoved.
	Tag string
	// Note says what was decided, for PushPath.
	Note string
}
