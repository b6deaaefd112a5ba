package charmhub_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/internal/transport"
)

func TestDecodeCredentials(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name, in, want string
		wantErr        string
	}{
		{name: "raw token", in: b64([]byte("AgEQYXBp-token")), want: "AgEQYXBp-token"},
		{name: "JSON export", in: b64([]byte(`{"t": "macaroon", "v": "AgEQYXBp-token"}`)), want: "AgEQYXBp-token"},
		{name: "surrounding whitespace", in: "  " + b64([]byte("tok\n")) + "\n", want: "tok"},
		{name: "URL-safe base64", in: base64.URLEncoding.EncodeToString([]byte("tok??>>")), want: "tok??>>"},
		{name: "not base64", in: "not base64 at all!", wantErr: "CHARMCRAFT_AUTH is not valid base64"},
		{name: "JSON without token", in: b64([]byte(`{"t": "macaroon"}`)), wantErr: "without a token"},
		{name: "unknown type", in: b64([]byte(`{"t": "password", "v": "hunter2"}`)), wantErr: "unknown type"},
		{name: "empty", in: " ", wantErr: charmhub.ErrNoCredentials.Error()},
		{name: "raw macaroon without base64", in: "AgEQYXBpLmNoYXJtaHViLmlvAhYEMDAwMWRrXzYKB3NvbWV0aGluZwA", wantErr: "does not hold exported credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := charmhub.DecodeCredentials("CHARMCRAFT_AUTH", tt.in)
			if tt.wantErr != "" {
				in := strings.TrimSpace(tt.in)
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || (in != "" && strings.Contains(err.Error(), in)) {
					t.Fatalf("error %v, want %q without the value", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error shows the secret: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := charmhub.DecodeCredentials("CHARMCRAFT_AUTH", ""); !errors.Is(err, charmhub.ErrNoCredentials) {
		t.Errorf("empty: %v", err)
	}
}

func TestOptions(t *testing.T) {
	if _, err := charmhub.New(charmhub.WithAPIURL("http://api.test/"), charmhub.WithStorageURL("ftp://nope")); err == nil || !strings.Contains(err.Error(), "storage URL") {
		t.Errorf("an ftp storage URL gave %v", err)
	}
	bad := []charmhub.Option{
		charmhub.WithToken("tok\r\nX-Evil: 1"),
		charmhub.WithAPIURL("https://user:pw@api.test"),
		charmhub.WithRetryPolicy(transport.Policy{Attempts: -1}),
		charmhub.WithTransport(nil),
	}
	for i, opt := range bad {
		if _, err := charmhub.New(opt); err == nil {
			t.Errorf("bad option %d accepted", i)
		} else if strings.Contains(err.Error(), "pw@") || strings.Contains(err.Error(), "X-Evil") {
			t.Errorf("error shows the value: %v", err)
		}
	}
}
