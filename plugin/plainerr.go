package plugin

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// plainError is an error told in words: a short cause, then what to do,
// the way docker prints its errors; the error it stands for stays in the
// chain, for errors.Is and for --debug.
type plainError struct {
	msg string
	err error
}

func (e *plainError) Error() string { return e.msg }
func (e *plainError) Unwrap() error { return e.err }

// hint tells err as docker does: its cause on the first line, then what
// to do, each thing on a line of its own.
func hint(err error, hints ...string) error {
	return &plainError{msg: err.Error() + "\n" + strings.Join(hints, "\n"), err: err}
}

// plain tells a command's error in words when a service failed without
// answering: which service, the cause, what was being done, and one
// thing to do. Go's wording (dial tcp, the attempts made) is kept for
// --debug, which prints the error as it came. A service's answer (a 503,
// say) is told as it came, less the attempts made.
func (e *cliEnv) plain(err error) error {
	if err == nil || e.debug {
		return err
	}
	f, ok := errors.AsType[*transport.Failure](err)
	if !ok {
		return withoutAttempts(err)
	}
	cause := transport.Cause(f.Err)
	if cause == "failed" {
		return withoutAttempts(err) // no words for it: the error says more
	}
	msg := f.Plain()
	if doing, _, _ := strings.Cut(err.Error(), ": "); doingRE(doing) {
		msg += " while " + doing
	}
	return &plainError{msg: msg + "\n" + e.networkHint(f, cause), err: err}
}

// attemptsRE matches what transport.AfterAttempts adds to an error.
var attemptsRE = regexp.MustCompile(` \(after [0-9]+ attempts\)`)

// withoutAttempts is err less the counts of attempts its chain holds:
// how many times a request was sent is for --debug.
func withoutAttempts(err error) error {
	msg := err.Error()
	if !attemptsRE.MatchString(msg) {
		return err
	}
	return &plainError{msg: attemptsRE.ReplaceAllString(msg, ""), err: err}
}

// doingRE says whether s says what was being done ("listing resources of
// charm 'c'"), rather than being the error itself.
func doingRE(s string) bool {
	verb, _, _ := strings.Cut(s, " ")
	return strings.HasSuffix(verb, "ing") && !strings.ContainsAny(verb, "/:")
}

// networkHint is the one thing to do about a service's failure.
func (e *cliEnv) networkHint(f *transport.Failure, cause string) string {
	env := serviceEnv[f.Service]
	set := ""
	if env != "" && e.getenv(env) != "" {
		set = fmt.Sprintf(" (%s=%s)", env, e.getenv(env))
	}
	switch {
	case strings.HasPrefix(cause, "cannot be found"):
		return fmt.Sprintf("Check the network connection (DNS) and the service's address%s.", set)
	case cause == "refused the connection" && set != "":
		return fmt.Sprintf("Check that the service runs at the address given%s.", set)
	case strings.Contains(cause, "certificate"):
		return fmt.Sprintf("If a proxy re-signs TLS on this network, add its CA certificate to the system's trust store (or SSL_CERT_FILE)%s.", set)
	case f.Host != "" && set != "":
		return fmt.Sprintf("Check the network connection and the service's address%s, then try again.", set)
	}
	return "Check the network connection, then try again; --debug shows every request."
}

// serviceEnv is the variable that points the plugin at each service, by
// the name netPolicy gives it.
var serviceEnv = map[string]string{
	"Charmhub":             apiURLEnv,
	"Charmhub's storage":   uploadURLEnv,
	"Canonical's registry": registryURLEnv,
	"Ubuntu One":           ssoURLEnv,
}
