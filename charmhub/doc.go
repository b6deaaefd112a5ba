// Package charmhub is a client for the parts of the Charmhub API and its
// storage service that upload charm resources: checking credentials,
// listing resources and their revisions, streaming a file to storage,
// creating a resource revision and waiting for its review, and obtaining
// the credentials and blob of an OCI image resource.
//
// A Client is built with New and functional options; every call takes a
// context and carries the Macaroon token given with WithToken. Errors
// answered by Charmhub are *APIError values, matched against the
// sentinels ErrUnauthorized, ErrPermission, ErrNotFound and ErrTemporary
// with errors.Is.
//
// The package logs nothing unless WithDebug is given, and never writes a
// token, a password or a full URL with its query into an error or a log.
package charmhub
