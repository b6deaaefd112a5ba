package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/opencontainers/go-digest"
)

func TestCheckedReader(t *testing.T) {
	content := []byte(strings.Repeat("0123456789", 1000))
	d := digest.FromBytes(content)
	tests := []struct {
		name    string
		r       io.Reader
		size    int64
		want    digest.Digest
		wantErr bool
	}{
		{name: "right", r: bytes.NewReader(content), size: int64(len(content)), want: d},
		{name: "right, one byte at a time", r: iotest.OneByteReader(bytes.NewReader(content)), size: int64(len(content)), want: d},
		{name: "right, data with EOF", r: iotest.DataErrReader(bytes.NewReader(content)), size: int64(len(content)), want: d},
		{name: "size unknown", r: bytes.NewReader(content), size: -1, want: d},
		{name: "digest unknown", r: bytes.NewReader(content), size: int64(len(content))},
		{name: "wrong digest", r: bytes.NewReader(content), size: int64(len(content)), want: digest.FromString("x"), wantErr: true},
		{name: "wrong digest, size unknown", r: bytes.NewReader(content), size: -1, want: digest.FromString("x"), wantErr: true},
		{name: "short", r: bytes.NewReader(content[1:]), size: int64(len(content)), want: d, wantErr: true},
		{name: "long", r: bytes.NewReader(append(content, 'x')), size: int64(len(content)), want: d, wantErr: true},
		{name: "sha512", r: bytes.NewReader(content), size: -1, want: digest.SHA512.FromBytes(content)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr := newCheckedReader(tt.r, tt.size, tt.want)
			var got bytes.Buffer
			_, err := io.Copy(&got, cr)
			if tt.wantErr {
				if !errors.Is(err, ErrDigestMismatch) {
					t.Fatalf("err = %v, want ErrDigestMismatch", err)
				}
				// Wrong content never gets through whole.
				if tt.size >= 0 && int64(got.Len()) >= tt.size {
					t.Errorf("passed on %d bytes of wrong content, all that was announced", got.Len())
				}
				if _, err2 := cr.Read(make([]byte, 1)); !errors.Is(err2, err) {
					t.Errorf("error not sticky: %v then %v", err, err2)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == "" {
				want = d
			}
			if !bytes.Equal(got.Bytes(), content) || cr.Digest() != want {
				t.Errorf("read %d bytes of digest %s, want %d of %s", got.Len(), cr.Digest(), len(content), want)
			}
		})
	}
}

func TestProgress(t *testing.T) {
	cr := newCheckedReader(iotest.HalfReader(strings.NewReader("hello world")), -1, "")
	var seen []int64
	cr.progress = func(n int64) { seen = append(seen, n) }
	if _, err := io.Copy(io.Discard, cr); err != nil {
		t.Fatal(err)
	}
	if len(seen) == 0 || seen[len(seen)-1] != 11 {
		t.Errorf("progress %v, want increasing to 11", seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Errorf("progress %v not increasing", seen)
		}
	}
}

func TestRangeEnd(t *testing.T) {
	tests := []struct {
		v   string
		end int64
		ok  bool
	}{
		{v: "0-9", end: 9, ok: true},
		{v: "bytes=0-9", end: 9, ok: true},
		{v: "0-0", end: 0, ok: true},
		{v: "1-10"},
		{v: ""},
		{v: "garbage"},
	}
	for _, tt := range tests {
		if end, ok := rangeEnd(tt.v); end != tt.end || ok != tt.ok {
			t.Errorf("rangeEnd(%q) = %d, %v; want %d, %v", tt.v, end, ok, tt.end, tt.ok)
		}
	}
}

func TestDecodeToken(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		token   string
		ttl     time.Duration
		wantErr bool
	}{
		{name: "token", body: `{"token":"abc","expires_in":300}`, token: "abc", ttl: 300 * time.Second},
		{name: "access_token", body: `{"access_token":"abc"}`, token: "abc", ttl: defaultTokenTTL},
		{name: "both", body: `{"token":"a","access_token":"b","expires_in":60.5}`, token: "a", ttl: 60 * time.Second},
		{name: "no token", body: `{"expires_in":300}`, wantErr: true},
		{name: "not JSON", body: `<html>`, wantErr: true},
		{name: "header injection", body: `{"token":"a\r\nX-Evil: 1"}`, wantErr: true},
		{name: "too big", body: `{"token":"` + strings.Repeat("a", maxTokenBody) + `"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, ttl, err := decodeToken(strings.NewReader(tt.body))
			if (err != nil) != tt.wantErr || token != tt.token || ttl != tt.ttl {
				t.Errorf("decodeToken = %q, %s, %v; want %q, %s, error %v", token, ttl, err, tt.token, tt.ttl, tt.wantErr)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
		is   []error
	}{
		{
			err:  &Error{StatusCode: 404, Method: "HEAD", Path: "/v2/a/blobs/sha256:1"},
			want: "registry answered 404 not found to HEAD /v2/a/blobs/sha256:1",
			is:   []error{ErrNotFound},
		},
		{
			err:  &Error{StatusCode: 400, Method: "PUT", Path: "/v2/a/blobs/uploads/u", Errors: []ErrorDetail{{Code: "DIGEST_INVALID", Message: "provided digest did not match uploaded content"}}},
			want: "registry answered 400 bad request to PUT /v2/a/blobs/uploads/u: provided digest did not match uploaded content",
			is:   []error{ErrDigestMismatch},
		},
		{
			err:  &Error{StatusCode: 403, Method: "POST", Path: "/v2/a/blobs/uploads/", Errors: []ErrorDetail{{Code: "DENIED"}, {Code: "DENIED"}}},
			want: "registry answered 403 forbidden to POST /v2/a/blobs/uploads/: denied",
			is:   []error{ErrDenied},
		},
		{
			err:  &Error{StatusCode: 401, Method: "GET", Path: "auth.example/token", tokenEndpoint: true},
			want: "token endpoint answered 401 unauthorized to GET auth.example/token",
			is:   []error{ErrUnauthorized},
		},
		{
			err:  &Error{StatusCode: 400, Method: "GET", Path: "/v2/a/manifests/x", Errors: []ErrorDetail{{Code: "MANIFEST_UNKNOWN", Message: "manifest unknown"}}},
			want: "registry answered 400 bad request to GET /v2/a/manifests/x: manifest unknown",
			is:   []error{ErrNotFound},
		},
	}
	all := []error{ErrUnauthorized, ErrDenied, ErrNotFound, ErrDigestMismatch}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		for _, target := range all {
			want := false
			for _, is := range tt.is {
				want = want || errors.Is(is, target)
			}
			if got := errors.Is(tt.err, target); got != want {
				t.Errorf("errors.Is(%q, %v) = %v, want %v", tt.want, target, got, want)
			}
		}
	}
}

func TestUploadErrorKinds(t *testing.T) {
	digestInvalid := &Error{StatusCode: 400, Method: "PATCH", Path: "/v2/a/blobs/uploads/u",
		Errors: []ErrorDetail{{Code: "DIGEST_INVALID", Message: "digest invalid"}}}
	gone := &Error{StatusCode: 404, Method: "PATCH", Path: "/v2/a/blobs/uploads/u"}
	lost := &uploadError{kind: sessionLost, err: gone}
	tests := []struct {
		name    string
		err     error
		want    string
		kind    uploadKind
		is      []error // of ErrDigestMismatch, ErrNotFound, ErrInterrupted
		causeAs bool    // errors.As finds the *Error
	}{
		{
			name: "incomplete hides its cause",
			err:  &uploadError{kind: incomplete, err: digestInvalid},
			want: "the upload arrived incomplete: registry answered 400 bad request to PATCH /v2/a/blobs/uploads/u: digest invalid",
			kind: incomplete,
		},
		{
			name:    "session lost",
			err:     fmt.Errorf("pushing a blob: %w", lost),
			want:    "pushing a blob: the registry lost the upload session: registry answered 404 not found to PATCH /v2/a/blobs/uploads/u",
			kind:    sessionLost,
			is:      []error{ErrNotFound},
			causeAs: true,
		},
		{
			name:    "interrupted",
			err:     &uploadError{kind: interrupted, err: lost},
			want:    "the registry lost the upload session: registry answered 404 not found to PATCH /v2/a/blobs/uploads/u (the blob was streamed and cannot be sent again)",
			kind:    interrupted,
			is:      []error{ErrNotFound, ErrInterrupted},
			causeAs: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			for _, k := range []uploadKind{incomplete, sessionLost, interrupted} {
				if got := isUpload(tt.err, k); got != (k == tt.kind) {
					t.Errorf("isUpload(kind %d) = %v, want %v", k, got, k == tt.kind)
				}
			}
			for _, target := range []error{ErrDigestMismatch, ErrNotFound, ErrInterrupted} {
				if got, want := errors.Is(tt.err, target), slices.Contains(tt.is, target); got != want {
					t.Errorf("errors.Is(%v) = %v, want %v", target, got, want)
				}
			}
			if _, got := errors.AsType[*Error](tt.err); got != tt.causeAs {
				t.Errorf("errors.As(*Error) = %v, want %v", got, tt.causeAs)
			}
		})
	}
}

func TestNewErrorCapsBody(t *testing.T) {
	body := `{"errors":[{"code":"X","message":"` + strings.Repeat("a", 2*maxErrorBody) + `"}]}`
	resp := &http.Response{StatusCode: 500, Body: io.NopCloser(strings.NewReader(body))}
	e := newError("GET", "/v2/", resp)
	if len(e.Errors) != 0 {
		t.Errorf("decoded %d errors from a truncated body", len(e.Errors))
	}
	rest, _ := io.ReadAll(resp.Body)
	if len(rest) != len(body)-maxErrorBody {
		t.Errorf("read %d bytes of the body, want %d", len(body)-len(rest), maxErrorBody)
	}
}
