package charmhub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"gopkg.in/macaroon.v2"
)

// Login defaults, those of `charmcraft login`.
const (
	// DefaultLoginURL is Ubuntu One, which vouches for the user.
	DefaultLoginURL = "https://login.ubuntu.com"
	// DefaultTokenTTL is how long a token lives: 30 hours.
	DefaultTokenTTL = 108000 * time.Second
)

// DefaultPermissions are what a token may do when LoginRequest names none.
func DefaultPermissions() []string {
	return []string{"account-register-package", "account-view-packages", "package-manage", "package-view"}
}

// LoginRequest says who logs in and what the token obtained may do.
type LoginRequest struct {
	// Email and Password are the Ubuntu One account's.
	Email, Password string
	// OTP is called when Ubuntu One asks for a one-time password (two
	// factor authentication). When nil, Login fails with
	// ErrTwoFactorRequired instead.
	OTP func(context.Context) (string, error)
	// Permissions default to DefaultPermissions.
	Permissions []string
	// TTL defaults to DefaultTokenTTL.
	TTL time.Duration
	// Description names the client in the user's list of tokens, e.g.
	// "docker-charmcraft@myhost".
	Description string
}

// Login obtains a Charmhub token with an Ubuntu One account: Charmhub
// issues a root macaroon, Ubuntu One discharges its third-party caveat
// when the email and password (and one-time password) are right, and
// Charmhub exchanges the root and the discharge bound to it for the
// token that the Macaroon header carries. The client needs no token;
// the password and the macaroons are never logged.
func (c *Client) Login(ctx context.Context, r LoginRequest) (string, error) {
	if r.Email == "" || r.Password == "" {
		return "", errors.New("logging in to Charmhub: an email address and a password are required")
	}
	root, err := c.rootMacaroon(ctx, r)
	if err != nil {
		return "", fmt.Errorf("logging in to Charmhub: %w", err)
	}
	caveatID, err := loginCaveat(root.m, c.loginURL)
	if err != nil {
		return "", fmt.Errorf("logging in to Charmhub: %w", err)
	}
	discharge, err := c.discharge(ctx, r, caveatID)
	if err != nil {
		return "", fmt.Errorf("logging in with Ubuntu One: %w", err)
	}
	bound, err := bindDischarge(root.m, discharge)
	if err != nil {
		return "", fmt.Errorf("logging in to Charmhub: %w", err)
	}
	token, err := c.exchange(ctx, root.raw, bound, r.Description)
	if err != nil {
		return "", fmt.Errorf("logging in to Charmhub: %w", err)
	}
	return token, nil
}

// rootMacaroon asks Charmhub for a root macaroon for r's permissions.
func (c *Client) rootMacaroon(ctx context.Context, r LoginRequest) (*serialized, error) {
	perms, ttl := r.Permissions, r.TTL
	if len(perms) == 0 {
		perms = DefaultPermissions()
	}
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	body := map[string]any{"permissions": perms, "ttl": int(ttl.Seconds())}
	req, err := c.publicRequest(ctx, c.apiURL+"/v1/tokens/usso", body)
	if err != nil {
		return nil, err
	}
	var answer struct {
		Macaroon string `json:"macaroon"`
	}
	if err := c.do(req, &answer); err != nil {
		return nil, err
	}
	m, err := decodeMacaroon(answer.Macaroon)
	if err != nil {
		return nil, fmt.Errorf("charmhub answered an invalid root macaroon: %w", err)
	}
	return &serialized{raw: strings.TrimSpace(answer.Macaroon), m: m}, nil
}

// discharge has Ubuntu One discharge the caveat, asking r.OTP for a
// one-time password when Ubuntu One wants one.
func (c *Client) discharge(ctx context.Context, r LoginRequest, caveatID string) (*macaroon.Macaroon, error) {
	body := map[string]string{"email": r.Email, "password": r.Password, "caveat_id": caveatID}
	d, err := c.dischargeOnce(ctx, body)
	if !errors.Is(err, ErrTwoFactorRequired) || r.OTP == nil {
		return d, err
	}
	otp, err := r.OTP(ctx)
	if err != nil {
		return nil, err
	}
	if otp = strings.TrimSpace(otp); otp == "" {
		return nil, errors.New("a one-time password is required for this account")
	}
	body["otp"] = otp
	return c.dischargeOnce(ctx, body)
}

func (c *Client) dischargeOnce(ctx context.Context, body map[string]string) (*macaroon.Macaroon, error) {
	req, err := c.publicRequest(ctx, c.loginURL+"/api/v2/tokens/discharge", body)
	if err != nil {
		return nil, err
	}
	resp, _, err := c.sendAny(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }() // read to its end, or to maxErrorBody

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, loginError(resp)
	}
	data, err := readCapped(resp.Body, maxJSON)
	if err != nil {
		return nil, err
	}
	var answer struct {
		Discharge string `json:"discharge_macaroon"`
	}
	if err := json.Unmarshal(data, &answer); err != nil || answer.Discharge == "" {
		return nil, errors.New("the login service answered no discharge macaroon")
	}
	d, err := decodeMacaroon(answer.Discharge)
	if err != nil {
		return nil, fmt.Errorf("the login service answered an invalid discharge macaroon: %w", err)
	}
	return d, nil
}

// exchange trades the root macaroon and its bound discharge for a token.
func (c *Client) exchange(ctx context.Context, root, bound, description string) (string, error) {
	req, err := c.publicRequest(ctx, c.apiURL+"/v1/tokens/usso/exchange", map[string]string{"client-description": description})
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Macaroon root="+root+", discharge="+bound)
	var answer struct {
		Macaroon string `json:"macaroon"`
	}
	if err := c.do(req, &answer); err != nil {
		return "", err
	}
	token := strings.TrimSpace(answer.Macaroon)
	if token == "" || strings.ContainsFunc(token, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return "", errors.New("charmhub answered no usable token")
	}
	return token, nil
}

// publicRequest builds a POST of body as JSON that carries no
// credentials of the client.
func (c *Client) publicRequest(ctx context.Context, u string, body any) (*http.Request, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(data))
	if err != nil {
		return nil, errors.New("building the request: invalid URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// loginHost is the host (and port) of the login service, which names the
// caveat it discharges.
func loginHost(loginURL string) string {
	u, err := url.Parse(loginURL)
	if err != nil {
		return loginURL
	}
	return u.Host
}
