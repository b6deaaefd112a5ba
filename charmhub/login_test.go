package charmhub_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/internal/transport"
)

func loginClient(t *testing.T, apiURL, loginURL string, opts ...charmhub.Option) *charmhub.Client {
	t.Helper()
	c, err := charmhub.New(append([]charmhub.Option{charmhub.WithAPIURL(apiURL), charmhub.WithLoginURL(loginURL)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLogin(t *testing.T) {
	s := startServer(t)
	s.AddSSOAccount("alice@example.com", "alice-password", "", "alice")
	s.AddSSOAccount("bob@example.com", "bob-password", "424242", "bob")
	otp := func(code string, calls *int) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { *calls++; return code, nil }
	}
	tests := []struct {
		name, email, password string
		otp                   string // answered when asked; "" gives no OTP function
		wantUser              string
		wantOTPCalls          int
		wantErr               error
		wantText              string
	}{
		{name: "password", email: "alice@example.com", password: "alice-password", wantUser: "alice"},
		{name: "two factor", email: "bob@example.com", password: "bob-password", otp: "424242", wantUser: "bob", wantOTPCalls: 1},
		{name: "two factor without a way to ask", email: "bob@example.com", password: "bob-password", wantErr: charmhub.ErrTwoFactorRequired},
		{name: "two factor wrong", email: "bob@example.com", password: "bob-password", otp: "000000", wantOTPCalls: 1, wantText: "twofactor-failure"},
		{name: "wrong password", email: "alice@example.com", password: "nope", wantText: "invalid-credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			c := loginClient(t, s.APIURL(), s.SSOURL()+"/", charmhub.WithDebug(&log))
			req := charmhub.LoginRequest{Email: tt.email, Password: tt.password, Description: "test@host"}
			calls := 0
			if tt.otp != "" {
				req.OTP = otp(tt.otp, &calls)
			}
			token, err := c.Login(t.Context(), req)
			if calls != tt.wantOTPCalls {
				t.Errorf("OTP asked %d times, want %d", calls, tt.wantOTPCalls)
			}
			if strings.Contains(log.String(), tt.password) || (token != "" && strings.Contains(log.String(), token)) {
				t.Errorf("the debug log shows the password or the token:\n%s", log.String())
			}
			if tt.wantUser == "" {
				var le *charmhub.LoginError
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !errors.As(err, &le) || !strings.Contains(err.Error(), tt.wantText) {
					t.Fatalf("Login = %v, want a *LoginError matching %v / %q", err, tt.wantErr, tt.wantText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			who, err := newClient(t, s, token).Whoami(t.Context())
			if err != nil || who.Account.Username != tt.wantUser {
				t.Fatalf("whoami with the token = %+v, %v; want %s", who, err, tt.wantUser)
			}
		})
	}
}

// TestLoginErrorShapes checks both ways a login service words a refusal:
// Charmhub's error list and Ubuntu One's own {"code", "message"}.
func TestLoginErrorShapes(t *testing.T) {
	s := startServer(t)
	for _, body := range []string{
		`{"code": "TWOFACTOR_REQUIRED", "message": "2-factor authentication required.", "extra": {}}`,
		`{"error_list": [{"code": "twofactor-required", "message": "2-factor authentication required."}]}`,
	} {
		sso := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(body))
		}))
		_, err := loginClient(t, s.APIURL(), sso.URL).Login(t.Context(), charmhub.LoginRequest{Email: "a@b", Password: "p", Description: "d"})
		sso.Close()
		if !errors.Is(err, charmhub.ErrTwoFactorRequired) {
			t.Errorf("body %s: got %v, want ErrTwoFactorRequired", body, err)
		}
	}
}

func TestLoginFailsWithoutTheLoginService(t *testing.T) {
	s := startServer(t)
	s.AddSSOAccount("alice@example.com", "pw", "", "alice")
	_, err := loginClient(t, s.APIURL(), "http://127.0.0.1:1", charmhub.WithRetryPolicy(transport.Policy{Attempts: 1})).Login(t.Context(),
		charmhub.LoginRequest{Email: "alice@example.com", Password: "pw", Description: "d"})
	if err == nil || strings.Contains(err.Error(), "pw") {
		t.Fatalf("Login against a dead login service = %v", err)
	}
}
