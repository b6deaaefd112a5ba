// Package registry is a client of the OCI distribution API v2, as served by
// Canonical's registry for charm image resources: it checks for and pushes
// blobs and manifests into one repository, and reads them back.
//
// The registry answers an anonymous request with a 401 and a Bearer
// challenge; the client then trades the Basic credentials given with
// [WithBasicAuth] for a token at the challenge's realm, caches the token and
// sends it with later requests. The credentials go only to the realm (or to
// the registry, if it asks for Basic auth itself), and neither they nor the
// token follow a redirect to another host.
//
// The HTTP concerns are small http.RoundTripper layers, built once in [New]
// and wrapping each other: bearer auth over retries over the debug log over
// the user agent over the caller's transport. Blobs are streamed and hashed
// as they go; nothing the size of a blob is held in memory.
//
// Failures the registry reports are [*Error] values; test them with
// [errors.Is] against [ErrUnauthorized], [ErrDenied], [ErrNotFound] and
// [ErrDigestMismatch].
package registry
