package plugin

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/internal/transport"
	"github.com/canonical/docker-charmcraft/registry"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/debug"
	"github.com/spf13/cobra"
)

// The environment the plugin reads: every variable, and every default it
// stands for, is here; the libraries read none.
const (
	// apiURLEnv, uploadURLEnv and ssoURLEnv point at other Charmhub
	// API, storage and login services (charmhub.DefaultAPIURL, ...).
	apiURLEnv    = "CHARMCRAFT_STORE_API_URL"
	uploadURLEnv = "CHARMCRAFT_UPLOAD_URL"
	ssoURLEnv    = "CHARMCRAFT_STORE_SSO_URL"
	// authEnv holds exported charmcraft credentials (`charmcraft login
	// --export`); it wins over Docker's credential store.
	authEnv = "CHARMCRAFT_AUTH"
	// registryURLEnv points at another registry than
	// defaultRegistryURL.
	registryURLEnv = "CHARMCRAFT_REGISTRY_URL"
	// reviewTimeoutEnv is how long to wait for Charmhub's review in all
	// (charmcraft's schedule, 60s, stretched or shrunk to fit).
	reviewTimeoutEnv = "CHARMCRAFT_REVIEW_TIMEOUT"
	// allowInsecureEnv, set to 1, allows plain http to hosts other than
	// this machine.
	allowInsecureEnv = "CHARMCRAFT_ALLOW_INSECURE"
	// stallTimeoutEnv is how long a connection may stay silent before it
	// is dropped (transport.DefaultStallTimeout unless set).
	stallTimeoutEnv = "CHARMCRAFT_STALL_TIMEOUT"
	// retryTimeoutEnv is how long a request that keeps failing is tried
	// again (transport.DefaultBudget unless set).
	retryTimeoutEnv = "CHARMCRAFT_RETRY_TIMEOUT"
	// cacheDirEnv overrides where the layer cache lives
	// (layercache.DefaultDir).
	cacheDirEnv = "CHARMCRAFT_CACHE_DIR"

	defaultRegistryURL = "https://registry.jujucharms.com"
)

// endpointEnvs are the variables that point the plugin at a service,
// each with the service it replaces.
var endpointEnvs = []struct{ name, def string }{
	{apiURLEnv, charmhub.DefaultAPIURL},
	{uploadURLEnv, charmhub.DefaultStorageURL},
	{registryURLEnv, defaultRegistryURL},
	{ssoURLEnv, charmhub.DefaultLoginURL},
}

// cliEnv is what a command run needs from its surroundings: the docker
// CLI (streams, config, daemon connection) and the environment.
type cliEnv struct {
	dockerCli command.Cli
	getenv    func(string) string
	debug     bool
	userAgent string
	progress  string // --progress: auto (the default), tty, plain or quiet
	// run is what the command's clients share about the network (see
	// netPolicy), made with the first of them, as are conns, their
	// connections.
	run   *transport.Run
	conns *http.Transport
	// reported is set once a failure was printed as JSON on stdout, so
	// that it is not printed twice.
	reported bool
}

// newEnv is the surroundings of cmd's run: --debug (the root's, or
// docker's) and the process's environment.
func newEnv(cmd *cobra.Command, dockerCli command.Cli) *cliEnv {
	debugOn, _ := cmd.Flags().GetBool(debugFlag)
	return &cliEnv{
		dockerCli: dockerCli,
		getenv:    os.Getenv,
		debug:     debugOn || debug.IsEnabled(),
		userAgent: "docker-charmcraft/" + version,
	}
}

// version is the plugin's version, for the User-Agent; set by NewRootCmd.
var version = "dev"

func (e *cliEnv) stderr() io.Writer { return e.dockerCli.Err() }

func (e *cliEnv) debugLog() io.Writer {
	if e.debug {
		return e.dockerCli.Err()
	}
	return nil
}

func (e *cliEnv) apiURL() string {
	if v := e.getenv(apiURLEnv); v != "" {
		return strings.TrimRight(v, "/")
	}
	return charmhub.DefaultAPIURL
}

func (e *cliEnv) registryURL() string {
	if v := e.getenv(registryURLEnv); v != "" {
		return strings.TrimRight(v, "/")
	}
	return defaultRegistryURL
}

// charmhub builds the Charmhub client with the user's credentials.
func (e *cliEnv) charmhub() (*charmhub.Client, error) {
	if err := checkEndpoints(e.getenv); err != nil {
		return nil, err
	}
	token, err := loadToken(e.getenv, e.dockerCli.ConfigFile(), e.apiURL())
	if err != nil {
		return nil, err
	}
	return e.charmhubClient(token)
}

// queryClient is the start of a command that only asks Charmhub: its
// --format checked, then the client with the user's credentials.
func (e *cliEnv) queryClient(format string) (*charmhub.Client, error) {
	if err := checkFormat(format); err != nil {
		return nil, err
	}
	return e.charmhub()
}

// charmhubClient builds the Charmhub client with token; without one it
// can only log in.
func (e *cliEnv) charmhubClient(token string) (*charmhub.Client, error) {
	if err := checkEndpoints(e.getenv); err != nil {
		return nil, err
	}
	netp, err := e.netPolicy()
	if err != nil {
		return nil, err
	}
	opts := []charmhub.Option{
		charmhub.WithToken(token),
		charmhub.WithUserAgent(e.userAgent),
		charmhub.WithTransport(netp.transport),
		charmhub.WithRetryPolicy(netp.retry),
	}
	for _, o := range []struct {
		env  string
		with func(string) charmhub.Option
	}{{apiURLEnv, charmhub.WithAPIURL}, {uploadURLEnv, charmhub.WithStorageURL}, {ssoURLEnv, charmhub.WithLoginURL}} {
		if v := e.getenv(o.env); v != "" {
			opts = append(opts, o.with(v))
		}
	}
	if w := e.debugLog(); w != nil {
		opts = append(opts, charmhub.WithDebug(w))
	}
	if v := e.getenv(reviewTimeoutEnv); v != "" {
		total, err := time.ParseDuration(v)
		if err != nil || total <= 0 {
			return nil, fmt.Errorf("%s=%q is not a positive duration such as 60s or 2m", reviewTimeoutEnv, v)
		}
		opts = append(opts, charmhub.WithPollSchedule(scaledSchedule(total)))
	}
	return charmhub.New(opts...)
}

// scaledSchedule is charmcraft's poll schedule stretched or shrunk to last
// total in all.
func scaledSchedule(total time.Duration) []time.Duration {
	def := charmhub.DefaultPollSchedule()
	var sum time.Duration
	for _, d := range def {
		sum += d
	}
	out := make([]time.Duration, len(def))
	for i, d := range def {
		out[i] = time.Duration(float64(d) * float64(total) / float64(sum))
	}
	return out
}

// registry builds a client for one repository of Canonical's registry.
// Its upload sessions are kept under owner, a stable name of the user's
// Charmhub credentials: the registry's username may be new each time.
func (e *cliEnv) registry(repository, username, password, owner string, challenge *registry.Challenge) (*registry.Client, error) {
	netp, err := e.netPolicy()
	if err != nil {
		return nil, err
	}
	opts := []registry.Option{
		registry.WithBasicAuth(username, password),
		registry.WithChallenge(challenge),
		registry.WithSessionsOwner(owner),
		registry.WithUserAgent(e.userAgent),
		registry.WithTransport(netp.transport),
		registry.WithRetryPolicy(netp.retry),
	}
	if w := e.debugLog(); w != nil {
		opts = append(opts, registry.WithDebug(w))
	}
	return registry.New(e.registryURL(), repository, opts...)
}
