package charmhub

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// Environment variables read by OptionsFromEnv.
const (
	EnvAPIURL     = "CHARMCRAFT_STORE_API_URL"
	EnvStorageURL = "CHARMCRAFT_UPLOAD_URL"
	EnvAuth       = "CHARMCRAFT_AUTH"
	EnvLoginURL   = "CHARMCRAFT_STORE_SSO_URL"
)

// OptionsFromEnv returns the options that the environment overrides:
// the API URL from CHARMCRAFT_STORE_API_URL, the storage URL from
// CHARMCRAFT_UPLOAD_URL and the login URL from CHARMCRAFT_STORE_SSO_URL.
// Credentials are left to the caller (see
// DecodeCredentials).
func OptionsFromEnv(getenv func(string) string) []Option {
	var opts []Option
	if v := getenv(EnvAPIURL); v != "" {
		opts = append(opts, WithAPIURL(v))
	}
	if v := getenv(EnvStorageURL); v != "" {
		opts = append(opts, WithStorageURL(v))
	}
	if v := getenv(EnvLoginURL); v != "" {
		opts = append(opts, WithLoginURL(v))
	}
	return opts
}

// DecodeCredentials returns the token held in a CHARMCRAFT_AUTH value:
// base64 of either the token itself or of {"t": "macaroon", "v": token}.
// The value is never repeated in the error.
func DecodeCredentials(s string) (string, error) {
	return DecodeCredentialsFrom(EnvAuth, s)
}

// DecodeCredentialsFrom is DecodeCredentials for credentials read from
// elsewhere, such as the file `charmcraft login --export` wrote; errors
// name source.
func DecodeCredentialsFrom(source, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ErrNoCredentials
	}
	raw, ok := decodeBase64(s)
	if !ok {
		return "", fmt.Errorf("%s is not valid base64: export the credentials again with 'charmcraft login --export'", source)
	}
	text := strings.TrimSpace(string(raw))
	if strings.HasPrefix(text, "{") {
		var v struct {
			T string `json:"t"`
			V string `json:"v"`
		}
		if err := json.Unmarshal([]byte(text), &v); err != nil || v.V == "" {
			return "", fmt.Errorf("%s holds JSON without a token in \"v\"", source)
		}
		if v.T != "" && v.T != "macaroon" {
			return "", fmt.Errorf("%s holds credentials of an unknown type; only macaroons are supported", source)
		}
		text = strings.TrimSpace(v.V)
	}
	if text == "" {
		return "", ErrNoCredentials
	}
	if strings.ContainsFunc(text, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return "", fmt.Errorf("%s does not hold exported credentials (was the token set without base64?): export them with 'charmcraft login --export'", source)
	}
	return text, nil
}

// decodeBase64 accepts the standard and URL alphabets, padded or not.
func decodeBase64(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(s); err == nil {
			return raw, true
		}
	}
	return nil, false
}
