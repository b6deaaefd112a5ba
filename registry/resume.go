package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/opencontainers/go-digest"
)

// Sessions keeps the upload sessions in flight across runs, so that an
// upload a run could not finish (killed, cancelled, timed out) is resumed
// by the next one from what the registry holds. Keys are opaque: the
// client scopes them to the registry, the repository and the sessions'
// owner (hashed; see WithSessionsOwner), and to what the upload sends (a blob's digest, or the
// name given with resumekey.With). layercache.Cache is one.
type Sessions interface {
	// UploadSession returns the session saved under key: its location, as
	// the registry last answered it, and the bytes it acknowledged then.
	UploadSession(key string) (location string, offset int64, ok bool)
	// SaveUploadSession saves the session under key.
	SaveUploadSession(key, location string, offset int64)
	// ForgetUploadSession removes what is saved under key, if anything.
	ForgetUploadSession(key string)
}

// WithSessions returns a client like c that saves its upload sessions in
// s while they are in flight, and resumes those it finds there. It shares
// c's connections and token.
func (c *Client) WithSessions(s Sessions) *Client {
	cc := *c
	cc.sessions = s
	return &cc
}

// sessionKey is where the session of the upload of what id names is
// saved: never shared between registries, repositories (charms) or
// credentials. "" when sessions are not saved.
func (c *Client) sessionKey(id string) string {
	if c.sessions == nil || id == "" {
		return ""
	}
	owner := sha256.Sum256([]byte(c.owner))
	h := sha256.New()
	_, _ = fmt.Fprintf(h, "%s\n%s\n%x\n%s", c.base, c.repo, owner, id)
	return hex.EncodeToString(h.Sum(nil))
}

// blobKey is the session key of the upload of the blob d.
func (c *Client) blobKey(d digest.Digest) string { return c.sessionKey("blob " + d.String()) }

// saveSession saves the session at loc under key, if it is one the next
// run would resume: only this repository's upload paths on this registry,
// with no user information, reach the cache.
func (c *Client) saveSession(key string, loc *url.URL, offset int64) {
	if key == "" {
		return
	}
	if _, err := c.savedLocation(loc.String()); err != nil {
		c.log.Printf("not keeping the upload session for a next run: %v", err)
		return
	}
	c.sessions.SaveUploadSession(key, loc.String(), offset)
}

func (c *Client) forgetSession(key string) {
	if key != "" {
		c.sessions.ForgetUploadSession(key)
	}
}

// savedSession asks the registry where the session saved under key
// stands: its next location and the bytes it holds. ok is false when
// there is none to resume (none saved, or the registry no longer knows
// it, or holds less than it acknowledged): what was saved is then
// forgotten, and the reason is said under --debug only.
func (c *Client) savedSession(ctx context.Context, key string) (loc *url.URL, held int64, ok bool, err error) {
	if key == "" {
		return nil, 0, false, nil
	}
	saved, acked, found := c.sessions.UploadSession(key)
	if !found {
		return nil, 0, false, nil
	}
	loc, err = c.savedLocation(saved)
	if err == nil {
		loc, held, err = c.uploadStatus(ctx, loc)
	}
	if err == nil && held < acked {
		err = fmt.Errorf("it holds %d bytes, fewer than the %d it acknowledged", held, acked)
	}
	if ctx.Err() != nil {
		return nil, 0, false, ctx.Err()
	}
	if err != nil {
		c.log.Printf("not resuming the upload an earlier run left (%v): starting a new session", err)
		c.forgetSession(key)
		return nil, 0, false, nil
	}
	return loc, held, true, nil
}

// savedLocation parses a saved session location, and checks it is one of
// this repository's upload sessions on this registry: the cache names
// where the credentials go.
func (c *Client) savedLocation(saved string) (*url.URL, error) {
	u, err := url.Parse(saved)
	if err != nil || u.Scheme != c.base.Scheme || u.Host != c.base.Host || u.User != nil ||
		!strings.HasPrefix(u.Path, c.endpoint("blobs", "uploads").Path+"/") {
		return nil, errors.New("the saved location is not an upload session of this repository")
	}
	return u, nil
}

// openSession resumes the session saved under key, once body has been
// read (hashed, not sent) up to where the session stands; else it opens
// a new one. Either way the session is saved under key as the registry
// acknowledges chunks. A session that holds more than body has is lost:
// body cannot be read again.
func (c *Client) openSession(ctx context.Context, key string, body io.Reader) (*session, error) {
	loc, held, ok, err := c.savedSession(ctx, key)
	if err != nil {
		return nil, err
	}
	var s *session
	if ok {
		if n, err := io.CopyN(io.Discard, body, held); err != nil {
			c.forgetSession(key)
			if errors.Is(err, io.EOF) {
				return nil, &uploadError{kind: sessionLost, err: fmt.Errorf("the session an earlier run left holds %d bytes, more than the %d of the blob", held, n)}
			}
			return nil, fmt.Errorf("reading the blob: %w", err)
		}
		c.log.Printf("resuming the upload an earlier run left, at byte %d", held)
		s = &session{c: c, loc: loc, offset: held, resumed: true}
	} else {
		if loc, err = c.startUpload(ctx); err != nil {
			return nil, err
		}
		s = &session{c: c, loc: loc}
	}
	if key != "" {
		s.acked = func() { c.saveSession(key, s.loc, s.offset) }
	}
	return s, nil
}

// openPut returns where a single-PUT upload of a blob of size bytes
// starts: the session saved under key and the bytes it holds, if it
// holds no more than the blob; else a new session, saved under key.
func (c *Client) openPut(ctx context.Context, key string, size int64) (*url.URL, int64, error) {
	loc, held, ok, err := c.savedSession(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	if ok && held <= size {
		c.log.Printf("resuming the upload an earlier run left, at byte %d of %d", held, size)
		return loc, held, nil
	}
	if loc, err = c.startUpload(ctx); err != nil {
		return nil, 0, err
	}
	c.saveSession(key, loc, 0)
	return loc, 0, nil
}
