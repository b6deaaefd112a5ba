package charmhub

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// DecodeCredentials returns the token held in what `charmcraft login
// --export` wrote, read from source (a variable, a file): base64 of
// either the token itself or of {"t": "macaroon", "v": token}. Errors
// name source and never repeat the value.
func DecodeCredentials(source, s string) (string, error) {
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
			return "", fmt.Errorf("%s holds JSON without a token in \"v\": export the credentials again with 'charmcraft login --export'", source)
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
