// Package resumekey carries, in a context, the name of the content a
// streamed blob upload sends, when the caller can make the same bytes
// again (a layer compressed deterministically): the registry client keys
// the upload session it keeps across runs by it, so that a run killed
// midway is resumed by the next one. It lets the manifest package name
// the content without importing the registry client.
package resumekey

import "context"

type ctxKey struct{}

// With returns ctx naming key as the content of the uploads made under
// it. Two uploads under one key must send the same bytes: the registry's
// digest check refuses a resumed upload that does not, and the upload is
// then made again from its start.
func With(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, ctxKey{}, key)
}

// From is the key ctx names, "" if none.
func From(ctx context.Context) string {
	k, _ := ctx.Value(ctxKey{}).(string)
	return k
}
