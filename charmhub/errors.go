package charmhub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrNoCredentials means the client has no token to send.
	ErrNoCredentials = errors.New("no Charmhub credentials")
	// ErrUnauthorized means Charmhub refused the credentials: they are
	// invalid or expired and must be renewed.
	ErrUnauthorized = errors.New("charmhub credentials are not valid")
	// ErrPermission means the credentials are valid but give no right on
	// the charm: only its owner or a collaborator may change it.
	ErrPermission = errors.New("no permission on the charm")
	// ErrNotFound means the charm or the resource does not exist.
	ErrNotFound = errors.New("not found")
	// ErrTemporary means Charmhub kept failing with a server error (5xx)
	// or asked to slow down (429), even after retries.
	ErrTemporary = errors.New("charmhub is temporarily unavailable")
	// ErrUploadFailed means storage answered but did not accept the upload.
	ErrUploadFailed = errors.New("storage did not accept the upload")
	// ErrPollTimeout means the review of a revision did not end in time.
	ErrPollTimeout = errors.New("timeout polling Charmhub for upload status")
	// ErrTwoFactorRequired means the account needs a one-time password and
	// none was given.
	ErrTwoFactorRequired = errors.New("the login service asks for a one-time password")
)

// ErrorItem is one entry of Charmhub's error list.
type ErrorItem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// APIError is an error answered by Charmhub or its storage.
type APIError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Method and Path name the request; Path never holds a query.
	Method, Path string
	// Errors is the error list of the answer, possibly empty.
	Errors []ErrorItem
	// Attempts is how many times the request was sent, the last one
	// answered so; 0 or 1 when it was not retried.
	Attempts int
}

// Error lists the status and every code: message pair of the answer.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	for i, item := range e.Errors {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s: %s", sep, transport.Printable(item.Code), transport.Printable(item.Message))
	}
	b.WriteString(transport.AfterAttempts(e.Attempts))
	return b.String()
}

// Details is what Charmhub said, for a user: the HTTP status and every
// `code: message` pair, without the request.
func (e *APIError) Details() string {
	parts := []string{fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))}
	for _, item := range e.Errors {
		parts = append(parts, transport.Printable(item.Code)+": "+transport.Printable(item.Message))
	}
	return strings.Join(parts, "; ")
}

// HTTPStatus is the status answered, for transport.Policy.Temporary.
func (e *APIError) HTTPStatus() int { return e.StatusCode }

// Is matches the sentinels that describe the answer.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized && !e.permissionCode()
	case ErrPermission:
		return e.StatusCode == http.StatusForbidden ||
			(e.StatusCode == http.StatusUnauthorized && e.permissionCode())
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrTemporary:
		return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

func (e *APIError) permissionCode() bool {
	for _, item := range e.Errors {
		if item.Code == "permission-required" || item.Code == "forbidden" {
			return true
		}
	}
	return false
}

// PollTimeoutError says how long the review was waited for. It matches
// ErrPollTimeout.
type PollTimeoutError struct {
	// Waited is the sum of the poll schedule.
	Waited float64
	// Failing is why the last poll failed, when it failed until the end.
	Failing error
}

// Error is the message charmcraft gives, so that users recognise it, and
// why the last poll failed, if it did.
func (e *PollTimeoutError) Error() string {
	msg := fmt.Sprintf("Timeout polling Charmhub for upload status (after %.1fs).", e.Waited)
	if e.Failing != nil {
		// In words: Go's (the request, dial tcp) are not for users, unless
		// there are none for it (transport.Cause says "failed").
		cause := transport.Cause(e.Failing)
		if cause == "failed" {
			cause = e.Failing.Error()
		} else {
			cause = "Charmhub " + cause
		}
		msg += " The last poll failed: " + cause + "."
	}
	return msg
}

// Is matches ErrPollTimeout.
func (e *PollTimeoutError) Is(target error) bool { return target == ErrPollTimeout }

// LoginError is a refusal by the login service (Ubuntu One): wrong email
// or password, a one-time password missing or wrong, a locked account.
type LoginError struct {
	StatusCode    int
	Code, Message string
}

// Error shows the service's code and message.
func (e *LoginError) Error() string {
	msg := fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		msg += ": " + transport.Printable(e.Code)
	}
	if e.Message != "" {
		msg += ": " + transport.Printable(e.Message)
	}
	return msg
}

// Is matches ErrTwoFactorRequired when the service asks for a one-time
// password, whatever the spelling of its code (twofactor-required,
// TWOFACTOR_REQUIRED).
func (e *LoginError) Is(target error) bool {
	return target == ErrTwoFactorRequired &&
		strings.ReplaceAll(strings.ToLower(e.Code), "_", "-") == "twofactor-required"
}

// loginError reads a refusal in either shape the login service uses: a
// Charmhub-style error list, or Ubuntu One's {"code", "message"}.
func loginError(resp *http.Response) error {
	list, single := errorAnswer(resp)
	if len(list) > 0 {
		single = list[0]
	}
	return &LoginError{StatusCode: resp.StatusCode, Code: single.Code, Message: single.Message}
}

// NoRevisionError is a review that Charmhub approved without a revision
// number: whether a revision was created is not known.
type NoRevisionError struct {
	// Answered is the revision Charmhub answered, as JSON ("null"), or
	// "none" when the field was missing.
	Answered string
}

func (e *NoRevisionError) Error() string {
	return fmt.Sprintf("charmhub approved the upload but answered no revision number (\"revision\": %s)", e.Answered)
}

// maxErrorBody caps what is read of an error answer.
const maxErrorBody = 64 << 10

// checkResponse returns nil for a 2xx answer, else an *APIError built
// from at most maxErrorBody bytes of the body.
func checkResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	e := &APIError{StatusCode: resp.StatusCode, Method: resp.Request.Method, Path: resp.Request.URL.Path}
	e.Errors, _ = errorAnswer(resp)
	return e
}

// errorAnswer reads at most maxErrorBody bytes of an error answer:
// Charmhub's error list, under either spelling, and the single code and
// message Ubuntu One answers instead.
func errorAnswer(resp *http.Response) (list []ErrorItem, single ErrorItem) {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body struct {
		ErrorItem
		Dash  []ErrorItem `json:"error-list"`
		Under []ErrorItem `json:"error_list"`
	}
	if json.Unmarshal(data, &body) != nil {
		return nil, ErrorItem{}
	}
	return append(body.Dash, body.Under...), body.ErrorItem
}
