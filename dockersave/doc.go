// Package dockersave turns the `docker save` stream of one classic-store
// image into the "remote manifest" that Canonical's registry serves for a
// charm's OCI image resource. (A containerd-store image keeps its own
// manifest, and its export is pushed as it is, by the imagepush package.)
//
// Build reads the tar once, entry by entry as the daemon writes it, and
// pushes each layer through a BlobStore while it reads: docker save gives
// a classic-store image's layers uncompressed, and each is gzip-compressed
// on the fly (deterministically, so the same image always gives the same
// remote digest); an archive whose layers come compressed (another tool's)
// is refused. Only the image's small JSON documents are kept in memory;
// nothing is written to disk.
//
// Two layouts of docker save are read:
//
//   - the legacy layout of Docker 24 and older: <v1id>/layer.tar,
//     <image-id>.json and manifest.json, layers uncompressed and in lexical
//     rather than layer order;
//   - the layout of Docker 25 and newer: an OCI image layout (oci-layout,
//     index.json, blobs/sha256/...) whose layer blobs are uncompressed,
//     plus a manifest.json pointing into it.
//
// The remote manifest is a Docker schema 2 manifest: the image config
// unchanged (so its digest stays the image ID) and one gzip-compressed
// layer per entry of manifest.json, in that order.
//
// Because docker save writes manifest.json near the end, layers are pushed
// before Build knows which image they belong to; a failed Build can leave
// blobs in the registry, which are harmless and reused by the next run. The
// legacy layout names layers by a v1 ID, not their diff ID, so only the OCI
// layouts can skip compressing a layer the Cache already knows. The cost
// is that of gzip: about 185 MB/s of save stream on one core at the
// default level (BenchmarkBuild), overlapping with the upload.
//
// The package does no HTTP itself and imports neither cobra nor docker/cli.
package dockersave
