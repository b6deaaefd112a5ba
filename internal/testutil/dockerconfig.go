package testutil

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DockerConfig is what a docker config.json holds that the tests check:
// the credentials stored in the file itself, and the credential helper
// named, if any.
type DockerConfig struct {
	Auths map[string]struct {
		Auth string `json:"auth"`
	} `json:"auths"`
	CredsStore string `json:"credsStore"`
}

// ReadDockerConfig reads dir's config.json; a missing file is an empty
// config.
func ReadDockerConfig(dir string) (DockerConfig, error) {
	var cfg DockerConfig
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return cfg, nil
	case err != nil:
		return cfg, err
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return cfg, fmt.Errorf("config.json: %w", err)
	}
	return cfg, nil
}

// Stored is the username and password stored for host, "" when none
// are.
func (c DockerConfig) Stored(host string) (username, password string) {
	raw, _ := base64.StdEncoding.DecodeString(c.Auths[host].Auth)
	username, password, _ = strings.Cut(string(raw), ":")
	return username, password
}
