package charmhub

// Resource types, as Charmhub names them.
const (
	TypeFile     = "file"
	TypeOCIImage = "oci-image"
)

// Review statuses that end the wait for a revision.
const (
	StatusApproved = "approved"
	StatusRejected = "rejected"
)
