// Package imagepush takes an image from the local Docker daemon to
// Canonical's registry: given what the user named (a digest, or the
// prefix of a local image ID), it makes sure the registry holds the image's
// remote manifest and returns its digest, doing as little work as it can.
//
// Push decides, in one function (resolve), where the image comes from. The
// daemon is asked first what the digest names, so that the registry is
// never asked for a manifest by the digest of an image config (a classic
// store's image ID, which distribution 2 answers with a 500): a
// containerd-store image ID or a RepoDigest is checked as a manifest, a
// classic image's remote manifest is read from the registry's record of
// the image (see RecordTag) or checked as the layer cache knows it, and
// only a digest the daemon cannot tell about is checked in the registry as
// it is. After a push of a classic image, its record is written: the next
// machine, or a plugin whose compressor differs, finds the manifest in one
// request instead of exporting the image.
// An image taken from the daemon is pushed by the first strategy that
// settles it (see pushLocal), each a named function that returns its
// errors:
//
//   - fromCache: every layer is in the layer cache, so the manifest comes
//     from the cache and the image inspect already made, with no docker save;
//   - dryRun: the registry holds the image's config (pushed from a machine
//     whose cache this one lacks), so one docker save computes the digests
//     without sending anything; if the manifest is there, that is all;
//   - upload: docker save, compressing and pushing what the registry lacks.
//     A blob upload broken midway cannot be sent again from the stream it
//     was read from, so the image is exported again (the Source is opened
//     again), up to three times.
//
// The package prints nothing: what the user is told comes as Events, and
// layer progress as manifest.Events, to the callbacks given as Options.
// It imports neither cobra nor docker/cli: the daemon is reached through
// the Daemon interface, which the moby client satisfies.
package imagepush
