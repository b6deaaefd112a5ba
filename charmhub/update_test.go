package charmhub_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub"
)

func TestUpdateResourceRevisions(t *testing.T) {
	s := startServer(t)
	c := newClient(t, s, aliceToken)
	for range 3 {
		if st, err := uploadAndWait(t, c); err != nil || st.Status != charmhub.StatusApproved {
			t.Fatalf("%+v, %v", st, err)
		}
	}
	before := time.Now().Add(-time.Second)
	arm := []charmhub.Base{{Name: "all", Channel: "all", Architectures: []string{"arm64", "amd64"}}}
	n, err := c.UpdateResourceRevisions(t.Context(), "my-charm", "data", []charmhub.RevisionUpdate{{Revision: 1, Bases: arm}, {Revision: 3, Bases: arm}})
	if err != nil || n != 2 {
		t.Fatalf("UpdateResourceRevisions = %d, %v; want 2 updated", n, err)
	}
	revs, err := c.ListResourceRevisions(t.Context(), "my-charm", "data")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range revs {
		updated := r.Revision != 2
		switch {
		case updated && (!slices.Equal(r.Bases[0].Architectures, []string{"arm64", "amd64"}) || r.UpdatedAt.Before(before)):
			t.Errorf("revision %d: bases %+v, updated at %s; want arm64, amd64 just now", r.Revision, r.Bases, r.UpdatedAt)
		case !updated && (!slices.Equal(r.Bases[0].Architectures, []string{"all"}) || !r.UpdatedAt.IsZero()):
			t.Errorf("revision 2 changed: %+v, updated at %s", r.Bases, r.UpdatedAt)
		}
	}
	if n := s.Count("PATCH", "/api/v1/charm/my-charm/resources/data/revisions"); n != 1 {
		t.Errorf("%d PATCH requests, want 1", n)
	}
}

func TestUpdateResourceRevisionsRefusals(t *testing.T) {
	s := startServer(t)
	alice := newClient(t, s, aliceToken)
	if _, err := uploadAndWait(t, alice); err != nil {
		t.Fatal(err)
	}
	amd := []charmhub.Base{{Name: "all", Channel: "all", Architectures: []string{"amd64"}}}
	tests := []struct {
		name            string
		token           string
		charm, resource string
		updates         []charmhub.RevisionUpdate
		is              error
		says            string
	}{
		{name: "a revision that does not exist", token: aliceToken, charm: "my-charm", resource: "data",
			updates: []charmhub.RevisionUpdate{{Revision: 1, Bases: amd}, {Revision: 9, Bases: amd}}, is: charmhub.ErrNotFound, says: "Revision 9"},
		{name: "unknown charm", token: aliceToken, charm: "nope", resource: "data",
			updates: []charmhub.RevisionUpdate{{Revision: 1, Bases: amd}}, is: charmhub.ErrNotFound, says: "Charm"},
		{name: "unknown resource", token: aliceToken, charm: "my-charm", resource: "nope",
			updates: []charmhub.RevisionUpdate{{Revision: 1, Bases: amd}}, is: charmhub.ErrNotFound, says: "Resource"},
		{name: "no rights", token: malloryToken, charm: "my-charm", resource: "data",
			updates: []charmhub.RevisionUpdate{{Revision: 1, Bases: amd}}, is: charmhub.ErrPermission, says: "permission-required"},
		{name: "unknown architecture", token: aliceToken, charm: "my-charm", resource: "data",
			updates: []charmhub.RevisionUpdate{{Revision: 1, Bases: []charmhub.Base{{Name: "all", Channel: "all", Architectures: []string{"x86"}}}}}, says: "invalid-architecture"},
		{name: "bad credentials", token: "not-a-token", charm: "my-charm", resource: "data",
			updates: []charmhub.RevisionUpdate{{Revision: 1, Bases: amd}}, is: charmhub.ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := newClient(t, s, tt.token).UpdateResourceRevisions(t.Context(), tt.charm, tt.resource, tt.updates)
			if err == nil || n != 0 || (tt.is != nil && !errors.Is(err, tt.is)) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("got %d, %v; want an error that is %v and says %q", n, err, tt.is, tt.says)
			}
			if strings.Contains(err.Error(), `"`+tt.charm+`"`) && !strings.Contains(err.Error(), "of charm '"+tt.charm+"'") {
				t.Errorf("the client names the charm in double quotes: %v", err)
			}
		})
	}
	// Nothing changed: a refused request changes no revision.
	revs := s.Revisions("my-charm", "data")
	if len(revs) != 1 || !slices.Equal(revs[0].Bases[0].Architectures, []string{"all"}) || !revs[0].UpdatedAt.IsZero() {
		t.Errorf("a refused update changed revision 1: %+v", revs)
	}
	if _, err := alice.UpdateResourceRevisions(t.Context(), "my-charm", "data", nil); err == nil {
		t.Errorf("an empty update was sent")
	}
}
