package registry_test

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/canonical/docker-charmcraft/internal/testutil"
	"github.com/canonical/docker-charmcraft/registry"
)

// BenchmarkPushBlobStream streams a 128 MiB blob, as a layer is, in
// chunks of each size, into the registry CHARMCRAFT_TEST_REGISTRY names,
// storing on disk: what the chunk size costs, request by request.
//
//	go test ./registry -run '^$' -bench PushBlobStream -benchtime 3x
func BenchmarkPushBlobStream(b *testing.B) {
	const size = 128 << 20
	pattern := make([]byte, 1<<20+7)
	_, _ = rand.Read(pattern)
	env := newEnv(b, envConfig{dir: b.TempDir()})
	for _, chunk := range []int{1 << 20, 2 << 20, 4 << 20, 8 << 20, 16 << 20} {
		b.Run(fmt.Sprintf("%dMiB", chunk>>20), func(b *testing.B) {
			c := env.client(b, registry.WithChunkSize(chunk))
			b.SetBytes(size)
			for i := 0; b.Loop(); i++ {
				// A new pattern start each time: a new blob each time.
				p := append(pattern[i%len(pattern):], pattern[:i%len(pattern)]...)
				if _, err := c.PushBlobStream(b.Context(), testutil.NewPatternReader(p, size), nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
