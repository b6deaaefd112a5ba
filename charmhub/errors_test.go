package charmhub_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/charmhub"
)

func TestRefusals(t *testing.T) {
	s := startServer(t)
	s.AddAccount("alice", "expired-token")
	s.ExpireToken("expired-token")
	tests := []struct {
		name, token, charm, resource string
		want, notWant                error
		status                       int
		code                         string
	}{
		{name: "owner", token: aliceToken, charm: "my-charm", resource: "data"},
		{name: "collaborator", token: bobToken, charm: "my-charm", resource: "data"},
		{name: "unknown token", token: "nobody", charm: "my-charm", resource: "data",
			want: charmhub.ErrUnauthorized, notWant: charmhub.ErrPermission, status: 401, code: "invalid-credentials"},
		{name: "expired token", token: "expired-token", charm: "my-charm", resource: "data",
			want: charmhub.ErrUnauthorized, notWant: charmhub.ErrPermission, status: 401, code: "macaroon-needs-refresh"},
		{name: "stranger", token: malloryToken, charm: "my-charm", resource: "data",
			want: charmhub.ErrPermission, notWant: charmhub.ErrUnauthorized, status: 403, code: "permission-required"},
		{name: "unknown charm", token: aliceToken, charm: "no-such-charm", resource: "data",
			want: charmhub.ErrNotFound, status: 404, code: "not-found"},
		{name: "unknown resource", token: aliceToken, charm: "my-charm", resource: "nope",
			want: charmhub.ErrNotFound, status: 404, code: "not-found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, s, tt.token)
			_, err := c.ListResourceRevisions(t.Context(), tt.charm, tt.resource)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tt.want) || (tt.notWant != nil && errors.Is(err, tt.notWant)) {
				t.Fatalf("error %v: want %v, not %v", err, tt.want, tt.notWant)
			}
			apiErr, ok := errors.AsType[*charmhub.APIError](err)
			if !ok || apiErr.StatusCode != tt.status || len(apiErr.Errors) != 1 || apiErr.Errors[0].Code != tt.code {
				t.Fatalf("error %#v: want status %d, code %s", apiErr, tt.status, tt.code)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.code+": ") || strings.Contains(msg, tt.token) ||
				!strings.HasPrefix(msg, "listing revisions of resource") {
				t.Errorf("message %q", msg)
			}
		})
	}
}

func TestNoCredentials(t *testing.T) {
	s := startServer(t)
	c := newClient(t, s, "")
	if _, err := c.Whoami(t.Context()); !errors.Is(err, charmhub.ErrNoCredentials) {
		t.Fatalf("error %v, want ErrNoCredentials", err)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests sent without credentials", n)
	}
}

func TestWhoami(t *testing.T) {
	s := startServer(t)
	w, err := newClient(t, s, bobToken).Whoami(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if w.Account.Username != "bob" || len(w.Permissions) == 0 {
		t.Errorf("whoami = %+v", w)
	}
}

func TestRevisionRefusals(t *testing.T) {
	tests := []struct {
		name, resource string
		req            func(id string) charmhub.RevisionRequest
		code           string
	}{
		{name: "type mismatch", resource: "data", code: "invalid-resource-type",
			req: func(id string) charmhub.RevisionRequest {
				return charmhub.RevisionRequest{UploadID: id, Type: "oci-image"}
			}},
		{name: "oci type on file", resource: "image", code: "invalid-resource-type",
			req: func(id string) charmhub.RevisionRequest { return charmhub.RevisionRequest{UploadID: id, Type: "file"} }},
		{name: "unknown upload", resource: "data", code: "unknown-upload-id",
			req: func(string) charmhub.RevisionRequest { return charmhub.RevisionRequest{UploadID: "nope", Type: "file"} }},
		{name: "unknown architecture", resource: "data", code: "invalid-architecture",
			req: func(id string) charmhub.RevisionRequest {
				return charmhub.RevisionRequest{UploadID: id, Type: "file", Bases: []charmhub.Base{{Architectures: []string{"pdp11"}}}}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t)
			c := newClient(t, s, aliceToken)
			id := upload(t, c, "f", []byte("content"))
			_, err := c.CreateRevision(t.Context(), "my-charm", tt.resource, tt.req(id))
			apiErr, ok := errors.AsType[*charmhub.APIError](err)
			if !ok || apiErr.StatusCode != 400 || apiErr.Errors[0].Code != tt.code {
				t.Fatalf("error %v, want 400 %s", err, tt.code)
			}
			if revs := s.Revisions("my-charm", tt.resource); len(revs) != 0 {
				t.Errorf("revisions created: %+v", revs)
			}
		})
	}
}

func TestAPIErrorListsEveryItem(t *testing.T) {
	e := &charmhub.APIError{StatusCode: 400, Method: "POST", Path: "/v1/x", Errors: []charmhub.ErrorItem{
		{Code: "a", Message: "first"}, {Code: "b", Message: "second\x1b[31m"},
	}}
	if got, want := e.Error(), "POST /v1/x: 400 Bad Request: a: first; b: second[31m"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
