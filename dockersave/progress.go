package dockersave

import "github.com/opencontainers/go-digest"

// EventKind says what happened to a layer.
type EventKind int

// The kinds of Event, in the order a layer goes through them.
const (
	// Preparing: a layer entry was found and is about to be pushed.
	Preparing EventKind = iota + 1
	// Pushing: part of the layer was read and sent; Done of Total bytes.
	Pushing
	// Pushed: the layer is in the registry now.
	Pushed
	// Exists: the registry already had the layer; nothing was uploaded.
	Exists
)

// String returns the words docker push shows for the kind.
func (k EventKind) String() string {
	switch k {
	case Preparing:
		return "Preparing"
	case Pushing:
		return "Pushing"
	case Pushed:
		return "Pushed"
	case Exists:
		return "Layer already exists"
	}
	return "Unknown"
}

// Event reports progress on one layer, for docker-push-style output.
// Layers are reported as the save stream carries them, which is not always
// the image's layer order; Name is the key that identifies one layer
// across its events.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Name is the layer's path in the save stream.
	Name string
	// DiffID is the layer's diff ID, when known (always in Pushed and
	// Exists events).
	DiffID digest.Digest
	// Digest is the pushed blob's digest, when known.
	Digest digest.Digest
	// Done and Total count the bytes of the layer as docker save gave it
	// read so far, and its size.
	Done, Total int64
}

// progressStep is how many bytes pass between two Pushing events.
const progressStep = 1 << 20
