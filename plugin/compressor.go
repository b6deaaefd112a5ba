package plugin

import (
	"fmt"
	"strconv"

	"github.com/canonical/docker-charmcraft/dockersave"
)

// gzipLevel, when set at build time, replaces dockersave.DefaultGzipLevel:
//
//	go build -ldflags "-X github.com/canonical/docker-charmcraft/plugin.gzipLevel=6" ./cmd/docker-charmcraft
//
// The tests and the bench build such a plugin to stand for a newer one
// whose compressor writes other bytes for the same layer (another
// klauspost/compress, another level), and so computes another remote
// manifest for the same image. No flag or variable sets it: a user's
// remote digests do not depend on their settings.
var gzipLevel string

// compressor is the layer compressor of this build.
func compressor() (dockersave.Compressor, error) {
	if gzipLevel == "" {
		return dockersave.DefaultCompressor(), nil
	}
	n, err := strconv.Atoi(gzipLevel)
	if err != nil || n < 1 || n > 9 {
		return nil, fmt.Errorf("this plugin was built with gzip level %q, not 1 to 9", gzipLevel)
	}
	return dockersave.Gzip(n), nil
}
