package plugin

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/docker/cli/cli/config/configfile"
)

// apiHost is the key under which Charmhub credentials live in Docker's
// credential store: the API's host name, as `docker login` keys registries.
func apiHost(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil || u.Host == "" {
		return apiURL
	}
	return u.Host
}

// loadToken finds the Charmhub macaroon: CHARMCRAFT_AUTH wins; else Docker's
// credential store (credsStore, credHelpers, or config.json) under the API
// host.
func loadToken(getenv func(string) string, cfg *configfile.ConfigFile, apiURL string) (string, error) {
	if v := getenv(authEnv); strings.TrimSpace(v) != "" {
		token, err := charmhub.DecodeCredentials(authEnv, v)
		if err != nil {
			return "", fmt.Errorf("%w; or unset %s and log in with `docker charmcraft login`", err, authEnv)
		}
		return token, nil
	}
	if cfg == nil {
		return "", errNoCredentials
	}
	host := apiHost(apiURL)
	ac, err := cfg.GetCredentialsStore(host).Get(host)
	if err != nil {
		return "", fmt.Errorf("reading Charmhub credentials for %s from Docker's credential store: %w", host, err)
	}
	switch {
	case ac.Password != "":
		return ac.Password, nil
	case ac.IdentityToken != "":
		return ac.IdentityToken, nil
	}
	return "", errNoCredentials
}
