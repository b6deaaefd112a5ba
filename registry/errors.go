package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// Sentinel errors, matched with errors.Is against what the client returns.
var (
	// ErrUnauthorized: the registry still answers 401 after a token was
	// fetched for the request, or the token endpoint refuses the
	// credentials.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrDenied: the registry answers 403 or reports a DENIED error.
	ErrDenied = errors.New("denied")
	// ErrNotFound: the registry answers 404 or reports an unknown blob,
	// manifest, repository or upload.
	ErrNotFound = errors.New("not found")
	// ErrDigestMismatch: content does not have the digest or size it was
	// given or announced with, here or at the registry (DIGEST_INVALID,
	// SIZE_INVALID).
	ErrDigestMismatch = errors.New("content does not match its digest or size")
	// ErrInterrupted: a blob upload lost its session midway (the registry
	// forgot it, or holds less than it acknowledged), and its content,
	// read from a plain reader, could not be sent again from its start.
	// Trying again with a fresh reader may succeed.
	ErrInterrupted = errors.New("the blob upload was interrupted and its content cannot be read again")
)

// maxErrorBody caps how much of an error answer is read.
const maxErrorBody = 64 << 10

// Error is an unexpected answer from the registry or its token endpoint.
type Error struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Method and Path are those of the request; Path never holds a query.
	// For the token endpoint, Path is the realm's host and path.
	Method, Path string
	// Errors are what the body said, in the distribution API's
	// {"errors": [{"code", "message", "detail"}]} form, if it did.
	Errors []ErrorDetail
	// Attempts is how many times the request was sent, the last one
	// answered so; 0 or 1 when it was not retried.
	Attempts int
	// RetryAfter is the wait the answer's Retry-After asked for, if any.
	RetryAfter time.Duration

	tokenEndpoint bool
}

// ErrorDetail is one entry of a distribution API error answer.
type ErrorDetail struct {
	// Code is a distribution error code, e.g. BLOB_UNKNOWN or DENIED.
	Code string `json:"code"`
	// Message is the registry's explanation.
	Message string `json:"message"`
}

func (e *Error) Error() string {
	who := "registry"
	if e.tokenEndpoint {
		who = "token endpoint"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s answered %d %s to %s %s", who, e.StatusCode,
		strings.ToLower(http.StatusText(e.StatusCode)), e.Method, e.Path)
	var said []string
	for _, d := range e.Errors {
		msg := transport.Printable(d.Message)
		if msg == "" {
			msg = strings.ToLower(strings.ReplaceAll(transport.Printable(d.Code), "_", " "))
		}
		if !slices.Contains(said, msg) {
			said = append(said, msg)
		}
	}
	if len(said) > 0 {
		b.WriteString(": " + strings.Join(said, "; "))
	}
	b.WriteString(transport.AfterAttempts(e.Attempts))
	return b.String()
}

// HTTPStatus is the status answered, for transport.Policy.Temporary.
func (e *Error) HTTPStatus() int { return e.StatusCode }

// Is matches the sentinel errors by status and error code.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.hasCode("UNAUTHORIZED")
	case ErrDenied:
		return e.StatusCode == http.StatusForbidden || e.hasCode("DENIED")
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound ||
			e.hasCode("BLOB_UNKNOWN", "BLOB_UPLOAD_UNKNOWN", "MANIFEST_UNKNOWN", "NAME_UNKNOWN")
	case ErrDigestMismatch:
		return e.hasCode("DIGEST_INVALID", "SIZE_INVALID")
	}
	return false
}

func (e *Error) hasCode(codes ...string) bool {
	for _, d := range e.Errors {
		for _, c := range codes {
			if strings.EqualFold(d.Code, c) {
				return true
			}
		}
	}
	return false
}

// newError reads at most maxErrorBody of resp's body, without closing it,
// into an *Error for the request method and path.
func newError(method, path string, resp *http.Response) *Error {
	e := &Error{StatusCode: resp.StatusCode, Method: method, Path: path,
		RetryAfter: transport.RetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	var body struct {
		Errors []ErrorDetail `json:"errors"`
	}
	if data, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody)); err == nil && json.Unmarshal(data, &body) == nil {
		e.Errors = body.Errors
	}
	return e
}

// uploadKind is how a blob upload failed, which says what is done next.
type uploadKind int

const (
	// incomplete: the registry did not receive all that was sent; the
	// session is asked where it stands and sent what it lacks.
	incomplete uploadKind = iota + 1
	// sessionLost: the registry no longer holds what the session was
	// acknowledged; what was sent must be sent again, from the start, in
	// a new session.
	sessionLost
	// interrupted: the session was lost, and the blob, read from a plain
	// reader, cannot be sent again. It matches ErrInterrupted.
	interrupted
)

// uploadError is a blob upload that failed as its kind says, because of
// err.
type uploadError struct {
	kind uploadKind
	err  error
}

func (e *uploadError) Error() string {
	switch e.kind {
	case incomplete:
		return "the upload arrived incomplete: " + e.err.Error()
	case sessionLost:
		return "the registry lost the upload session: " + e.err.Error()
	default:
		return e.err.Error() + " (the blob was streamed and cannot be sent again)"
	}
}

// Unwrap is the cause, except for an incomplete upload, whose cause may
// be the registry's DIGEST_INVALID or SIZE_INVALID answer to right bytes
// damaged or cut short on the way: that must not match ErrDigestMismatch,
// which is never sent again. Its words are in the message all the same.
func (e *uploadError) Unwrap() error {
	if e.kind == incomplete {
		return nil
	}
	return e.err
}

// Is matches ErrInterrupted for an interrupted upload.
func (e *uploadError) Is(target error) bool {
	return target == ErrInterrupted && e.kind == interrupted
}

// isUpload says whether err is, or wraps, an upload that failed as kind
// says.
func isUpload(err error, kind uploadKind) bool {
	e, ok := errors.AsType[*uploadError](err)
	return ok && e.kind == kind
}

// drainClose reads a little of what is left of resp's body, so that the
// connection can carry the next request, and closes it.
func drainClose(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
}
