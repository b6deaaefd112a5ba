// Package charmhubtest runs an in-process Charmhub, storage service and
// registry token server that follow the wire contract docker charmcraft
// relies on, refusals included: unknown or expired tokens, users who are
// neither owner nor collaborator, unknown charms and resources, a
// revision type that differs from the resource's.
//
// The API is mounted under "/api" and storage under "/storage", so a
// client that drops a base path fails. The server records what it
// received (uploads, revisions, requests) for tests to check, and can
// inject failures. It needs no *testing.T, so a demo program can run it.
//
//	s := charmhubtest.NewServer()
//	defer s.Close()
//	s.AddAccount("alice", "alice-token")
//	s.AddCharm(charmhubtest.Charm{Name: "my-charm", ID: "c1", Owner: "alice",
//		Resources: []charmhubtest.ResourceSpec{{Name: "data", Type: charmhub.TypeFile}}})
//
// NewWorld also runs a real registry that trusts the tokens the server
// signs for its upload credentials, and adds accounts, charms and Ubuntu
// One accounts: the one set-up of the tests, the bench and the sandbox.
// Start is NewWorld for a test; MyCharm, Alice and Bob are the charm and
// the login accounts most of them use.
package charmhubtest
