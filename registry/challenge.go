package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/canonical/docker-charmcraft/internal/transport"
)

// ParseChallenge parses the first challenge of a WWW-Authenticate header
// (RFC 9110, section 11.6.1), such as
//
//	Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"
//
// The scheme and the parameter names come back in lower case, as they are
// case-insensitive; values come back unquoted and unescaped. Challenges
// after the first one, separated from it by a comma, are ignored. A token68
// credential (e.g. `Basic dXNlcg==`), a parameter without a value, a
// repeated parameter, an unterminated quoted string or stray characters are
// errors.
func ParseChallenge(header string) (scheme string, params map[string]string, err error) {
	p := &challengeParser{s: header}
	p.skipSpace()
	scheme = p.token()
	if scheme == "" {
		return "", nil, p.errorf("expected an auth scheme")
	}
	scheme = strings.ToLower(scheme)
	params = map[string]string{}
	if p.done() {
		return scheme, params, nil
	}
	if !p.skipSpace() && p.peek() != ',' {
		return "", nil, p.errorf("unexpected character after the scheme")
	}
	if p.peek() == ',' {
		return scheme, params, nil // a challenge without parameters; another follows
	}
	for first := true; ; first = false {
		commas := p.skipSeparators()
		if p.done() {
			return scheme, params, nil
		}
		if !first && commas == 0 {
			return "", nil, p.errorf("expected a comma between parameters")
		}
		name := p.token()
		if name == "" {
			return "", nil, p.errorf("expected a parameter name")
		}
		p.skipSpace()
		if p.peek() != '=' {
			if first {
				return "", nil, p.errorf("expected '=' after %q (token68 is not supported)", name)
			}
			return scheme, params, nil // the scheme of the next challenge
		}
		p.pos++
		p.skipSpace()
		value, err := p.value()
		if err != nil {
			return "", nil, err
		}
		name = strings.ToLower(name)
		if _, dup := params[name]; dup {
			return "", nil, fmt.Errorf("parsing challenge: parameter %q repeated", name)
		}
		params[name] = value
		p.skipSpace()
	}
}

type challengeParser struct {
	s   string
	pos int
}

func (p *challengeParser) done() bool { return p.pos >= len(p.s) }

func (p *challengeParser) peek() byte {
	if p.done() {
		return 0
	}
	return p.s[p.pos]
}

func (p *challengeParser) errorf(format string, args ...any) error {
	return fmt.Errorf("parsing challenge at byte %d: %s", p.pos, fmt.Sprintf(format, args...))
}

// skipSpace skips optional white space and says whether there was any.
func (p *challengeParser) skipSpace() bool {
	start := p.pos
	for !p.done() && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
	return p.pos > start
}

// skipSeparators skips commas and white space (a list may hold empty
// elements) and counts the commas.
func (p *challengeParser) skipSeparators() int {
	n := 0
	for {
		p.skipSpace()
		if p.peek() != ',' {
			return n
		}
		p.pos++
		n++
	}
}

func (p *challengeParser) token() string {
	start := p.pos
	for !p.done() && isTokenChar(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *challengeParser) value() (string, error) {
	if p.peek() != '"' {
		if v := p.token(); v != "" {
			return v, nil
		}
		return "", p.errorf("expected a parameter value")
	}
	p.pos++
	var b strings.Builder
	for !p.done() {
		c := p.s[p.pos]
		p.pos++
		switch {
		case c == '"':
			return b.String(), nil
		case c == '\\':
			if p.done() || !isQuotedChar(p.s[p.pos]) && p.s[p.pos] != '"' && p.s[p.pos] != '\\' {
				return "", p.errorf("bad escape in quoted string")
			}
			b.WriteByte(p.s[p.pos])
			p.pos++
		case isQuotedChar(c):
			b.WriteByte(c)
		default:
			return "", p.errorf("control character in quoted string")
		}
	}
	return "", errors.New("parsing challenge: unterminated quoted string")
}

// isTokenChar reports whether c is a tchar of RFC 9110.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// isQuotedChar reports whether c may appear unescaped in a quoted string
// (qdtext: tab, space, visible characters but '"' and '\', obs-text).
func isQuotedChar(c byte) bool {
	return c == '\t' || c == ' ' || (c >= 0x21 && c != '"' && c != '\\' && c != 0x7f)
}

// Challenge is the Bearer challenge of a registry: where its tokens are
// issued, and for which service.
type Challenge struct {
	Realm, Service string
}

// Ping asks the registry at baseURL for its API root, once and without
// credentials, with the transport, user agent and debug log of opts, and
// returns the Bearer challenge it answers with (nil if it asks for none).
// Given to New with WithChallenge, the challenge lets the client's first
// request go with a token instead of learning that it needs one; and the
// connection Ping opened serves the client if it has the same transport.
// Ping is made to run while the credentials are being fetched: it sends
// none, and its failure says nothing the client's own requests will not.
func Ping(ctx context.Context, baseURL string, opts ...Option) (*Challenge, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	base, err := parseBase(baseURL)
	if err != nil {
		return nil, err
	}
	rt := o.requests.Stack(transport.NewLog(o.requests.Debug, "registry"), smallAnswer)
	req, err := http.NewRequestWithContext(transport.NoRetry(ctx), http.MethodGet, base.JoinPath("v2/").String(), nil)
	if err != nil {
		return nil, transport.WithoutURL(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	drainClose(resp)
	if resp.StatusCode != http.StatusUnauthorized {
		return nil, nil
	}
	for _, h := range resp.Header.Values("WWW-Authenticate") {
		if scheme, params, err := ParseChallenge(h); err == nil && scheme == "bearer" && params["realm"] != "" {
			return &Challenge{Realm: params["realm"], Service: params["service"]}, nil
		}
	}
	return nil, nil
}
