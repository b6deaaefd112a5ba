package charmhub_test

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
	"github.com/canonical/docker-charmcraft/internal/transport"
)

const resourcesPath = "/api/v1/charm/my-charm/resources"

func TestRetry(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		times    int
		requests int
		want     error
	}{
		{name: "503 twice then success", status: 503, times: 2, requests: 3},
		{name: "502 then success", status: 502, times: 1, requests: 2},
		{name: "429 then success", status: 429, times: 1, requests: 2},
		{name: "503 every time", status: 503, times: 10, requests: 4, want: charmhub.ErrTemporary},
		{name: "400 is not retried", status: 400, times: 10, requests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t)
			s.Fail(charmhubtest.Fault{Path: resourcesPath, Status: tt.status, Times: tt.times})
			_, err := newClient(t, s, aliceToken).ListResources(t.Context(), "my-charm")
			switch {
			case tt.status == 400:
				if _, ok := errors.AsType[*charmhub.APIError](err); !ok {
					t.Fatalf("error %v, want a 400 APIError", err)
				}
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("error %v, want %v", err, tt.want)
			case tt.want == nil && err != nil:
				t.Fatal(err)
			}
			if got := s.Count("GET", resourcesPath); got != tt.requests {
				t.Errorf("%d requests, want %d", got, tt.requests)
			}
		})
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	s := startServer(t)
	s.Fail(charmhubtest.Fault{Path: resourcesPath, Status: 503, Times: 1, RetryAfter: "1"})
	start := time.Now()
	if _, err := newClient(t, s, aliceToken).ListResources(t.Context(), "my-charm"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("retried after %s, before the Retry-After of 1s", took)
	}
}

func TestUploadRetriesAFreshUpload(t *testing.T) {
	s := startServer(t)
	s.Fail(charmhubtest.Fault{Path: "/storage/unscanned-upload/", Status: 503, Times: 1})
	content := bytes.Repeat([]byte("abc"), 100_000)
	src := &opener{content: content}
	var sent int64 // written by one goroutine at a time, as documented
	id, err := newClient(t, s, aliceToken).Upload(t.Context(), "data.bin", int64(len(content)), src.open,
		func(n int64) { sent = n })
	if err != nil {
		t.Fatal(err)
	}
	if sent != int64(len(content)) {
		t.Errorf("progress ended at %d, want %d", sent, len(content))
	}
	if src.opens != 2 {
		t.Errorf("content opened %d times, want 2", src.opens)
	}
	checkUpload(t, s, id, content)
}

func TestUploadRefusedByStorage(t *testing.T) {
	s := startServer(t)
	s.Fail(charmhubtest.Fault{Path: "/storage/unscanned-upload/", Status: 200, Times: 1, Body: `{"successful": false}`})
	src := &opener{content: []byte("x")}
	_, err := newClient(t, s, aliceToken).Upload(t.Context(), "f", 1, src.open, nil)
	if !errors.Is(err, charmhub.ErrUploadFailed) || src.opens != 1 {
		t.Fatalf("error %v after %d opens, want ErrUploadFailed at once", err, src.opens)
	}
}

func TestUploadFailsOnWrongSize(t *testing.T) {
	s := startServer(t)
	for _, size := range []int64{3, 10} {
		src := &opener{content: []byte("12345")}
		_, err := newClient(t, s, aliceToken).Upload(t.Context(), "f", size, src.open, nil)
		if err == nil || src.opens != 1 {
			t.Errorf("size %d: error %v after %d opens, want one failed attempt", size, err, src.opens)
		}
	}
	if n := len(s.Uploads()); n != 0 {
		t.Errorf("storage accepted %d uploads of the wrong size", n)
	}
}

func TestCreateRevisionIsNotRetried(t *testing.T) {
	s := startServer(t)
	c := newClient(t, s, aliceToken)
	id := upload(t, c, "f", []byte("x"))
	const path = "/api/v1/charm/my-charm/resources/data/revisions"
	s.Fail(charmhubtest.Fault{Method: "POST", Path: path, Status: 503, Times: 5})
	_, err := c.CreateRevision(t.Context(), "my-charm", "data", charmhub.RevisionRequest{UploadID: id, Type: "file"})
	if !errors.Is(err, charmhub.ErrTemporary) {
		t.Fatalf("error %v, want ErrTemporary", err)
	}
	if got := s.Count("POST", path); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}
}

func TestCreateRevisionRetriesWhenRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var log bytes.Buffer
	c, err := charmhub.New(charmhub.WithAPIURL("http://"+addr), charmhub.WithToken(aliceToken),
		charmhub.WithRetryPolicy(transport.Policy{Attempts: 3, Budget: transport.DefaultBudget, Base: time.Millisecond}), charmhub.WithDebug(&log))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateRevision(t.Context(), "my-charm", "data", charmhub.RevisionRequest{UploadID: "u", Type: "file"})
	if err == nil {
		t.Fatal("no error from a closed port")
	}
	if got := strings.Count(log.String(), "retrying POST"); got != 2 {
		t.Errorf("%d retries, want 2:\n%s", got, log.String())
	}
}
