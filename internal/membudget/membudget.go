// Package membudget is the one account of the memory an upload's buffers
// hold: every buffer that grows with what is sent (the small blobs read
// whole, the chunks of the streamed blob, the blocks of the compressor)
// has its share here, and the plugin's GOMEMLIMIT is the budget plus what
// the process holds besides.
//
// The shares are fixed, and each is enforced where it is spent (a
// semaphore of bytes, a number of chunks, a number of workers): no stage
// waits for memory another one holds, since that one may be waiting for
// its output. None of them depends on the number of cores.
package membudget

const (
	// Blobs is what the small blobs sent in the background hold, read
	// whole, while they are read and sent (imagepush).
	Blobs = 16 << 20
	// Chunks is what the streamed blob holds: the chunk being sent and
	// the next one, being read (registry).
	Chunks = 8 << 20
	// Compression is what the parallel gzip compressor holds: its blocks
	// in flight, each read, deflated and waiting to be written, and its
	// workers' deflate state (manifest). It bounds the workers, however
	// many cores there are.
	Compression = 12 << 20

	// Buffers is every share together.
	Buffers = Blobs + Chunks + Compression

	// Overhead is what the Go memory holds besides the buffers: the
	// runtime, the HTTP and TLS connections, the tar reader, JSON
	// documents, and garbage not yet collected.
	Overhead = 8 << 20

	// MemoryLimit is the plugin's GOMEMLIMIT, unless the user sets one.
	// The peak RSS adds the binary's resident code: 54 to 57 MiB in the
	// bench's cold uploads at GOMAXPROCS 2, 16 and 64 (with 48 MiB, 58 to
	// 62), for the same CPU time.
	MemoryLimit = Buffers + Overhead
)
