package registry

import (
	"errors"
	"io"
	"net/http"

	"github.com/canonical/docker-charmcraft/internal/membudget"
	"github.com/canonical/docker-charmcraft/internal/transport"
)

// Option configures a [Client].
type Option func(*options) error

type options struct {
	user, pass string
	requests   transport.ClientOptions
	chunkSize  int
	owner      string
	challenge  *Challenge
}

// DefaultChunkSize is the size of the chunks a streamed blob is sent in
// (two are held: the one sent, the next one read). Measured with
// BenchmarkPushBlobStream (128 MiB, on this 2-core machine, noisy): on
// distribution 2.8, which stores a hash state per request, 1 MiB runs at
// 130 MB/s, 2 MiB at 165, 4 MiB at 185, 8 MiB at 166-205; on
// distribution 3, 152, 184, 228 and 272. The two are the streamed blob's
// share of the memory budget (membudget.Chunks).
const DefaultChunkSize = membudget.Chunks / 2

func defaultOptions() *options {
	return &options{requests: transport.DefaultClientOptions(), chunkSize: DefaultChunkSize}
}

// requests makes an option of how requests are carried, the same for
// every client of the plugin, an option of the Client.
func requests(set transport.ClientOption) Option {
	return func(o *options) error { return set(&o.requests) }
}

// WithBasicAuth sets the credentials traded for a bearer token at the realm
// of the registry's challenge. They are sent to the registry itself only if
// it asks for Basic auth. The default is to ask for a token anonymously.
func WithBasicAuth(user, pass string) Option {
	return func(o *options) error {
		o.user, o.pass = user, pass
		return nil
	}
}

// WithChallenge gives the client the registry's Bearer challenge, which
// Ping learnt: its first request then goes with a token. A challenge
// whose realm the client would not send credentials to is ignored; the
// registry's own challenge then says what is wrong.
func WithChallenge(c *Challenge) Option {
	return func(o *options) error { o.challenge = c; return nil }
}

// WithSessionsOwner names whose upload sessions the client keeps (see
// [Client.WithSessions]): a run resumes only the sessions of the same
// owner. Give a stable name of the user's credentials, never the
// credentials. The default is the username of WithBasicAuth, which a
// service that issues a new username with each password changes every
// time.
func WithSessionsOwner(owner string) Option {
	return func(o *options) error {
		o.owner = owner
		return nil
	}
}

// WithTransport sets the transport that carries the requests, wrapped in
// the client's own layers: redirects never carry credentials to another
// origin, and none goes from https to http. The default has no overall
// timeout (blobs can be large) but bounds every wait: connecting, the TLS
// handshake, the answer's headers, and any silence on a connection longer
// than two minutes (transport.New).
func WithTransport(rt http.RoundTripper) Option { return requests(transport.WithTransport(rt)) }

// WithUserAgent sets the User-Agent header of every request. The default
// is transport.DefaultUserAgent, "docker-charmcraft".
func WithUserAgent(ua string) Option { return requests(transport.WithUserAgent(ua)) }

// WithDebug logs each request to w, a line as it goes and one as it is
// answered: method, URL (never the query), headers, status, time taken;
// and the retries and token fetches. Headers that carry credentials or
// tokens are written as REDACTED. The default is to log nothing.
func WithDebug(w io.Writer) Option { return requests(transport.WithDebug(w)) }

// WithRetryPolicy sets how requests are retried: which answers, how
// often, for how long (see transport.Policy). Only requests that can be
// sent again whole are retried by the transport (HEAD, GET, PUT with a
// body that can be had again, the opening of an upload session); the
// chunks of an upload are sent again by the upload itself, under the same
// policy, once it asked the session where it stands. The default is
// transport.DefaultPolicy.
func WithRetryPolicy(p transport.Policy) Option { return requests(transport.WithRetryPolicy(p)) }

// WithChunkSize sets the size of the chunks a streamed blob is sent in
// (see PushBlobStream): what is held in memory per upload, and what is
// sent again after a failure. The default is DefaultChunkSize.
func WithChunkSize(n int) Option {
	return func(o *options) error {
		if n < 1<<10 {
			return errors.New("the chunk size must be at least 1 KiB")
		}
		o.chunkSize = n
		return nil
	}
}
