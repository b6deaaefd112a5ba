package imagepush

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"
)

// relay is a loopback HTTP proxy to the registry, for one daemon push by
// a daemon on this machine. It is there for the daemon's cross-repository
// blob mounts: the containerd store remembers, per registry host, which
// repositories a blob was pushed to, and a later push to another
// repository of that host asks to mount it from there; the charm's token
// may not read that repository (another charm's), the registry answers
// insufficient_scope, and the daemon's push fails instead of uploading.
// Through the relay the registry has a host name of its own for each push
// (relayIP:<a fresh port>), where no blob was pushed before, and a mount
// asked for anyway becomes a plain upload.
//
// The daemon keeps those host names in its content labels. relayIP is a
// loopback address of its own, so that they never name a registry that
// listens on 127.0.0.1: a later port there equal to a relay's would have
// the daemon ask that registry to mount from a repository it never had.
// relayBuffer is the write buffer of each relayed connection to the
// registry.
const relayBuffer = 1 << 20

// relayIP is where relays listen: on the loopback (which the daemon
// treats as an insecure registry, so plain HTTP), away from 127.0.0.1.
const relayIP = "127.13.0.13"

type relay struct {
	srv  *http.Server
	host string // 127.0.0.1:<port>
}

// startRelay relays 127.0.0.1:<port> to upstream, the registry's base
// URL, through tr.
func startRelay(ctx context.Context, upstream *url.URL, tr http.RoundTripper) (*relay, error) {
	lc := &net.ListenConfig{}
	ln, err := lc.Listen(ctx, "tcp", relayIP+":0")
	if err != nil { // a system whose loopback is 127.0.0.1 alone (macOS)
		ln, err = lc.Listen(ctx, "tcp", "127.0.0.1:0")
	}
	if err != nil {
		return nil, err
	}
	r := &relay{host: ln.Addr().String()}
	if ht, ok := tr.(*http.Transport); ok || tr == nil {
		if tr == nil {
			ht = http.DefaultTransport.(*http.Transport)
		}
		// Layers go through in large writes: with the default 4 KiB
		// buffer, a connection that is not a bare TCP one (no splice)
		// takes a system call per 4 KiB, and the relay trails docker push.
		ht = ht.Clone()
		ht.WriteBufferSize = relayBuffer
		tr = ht
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.Out.Host = upstream.Host
			if pr.Out.Method == http.MethodPost && strings.HasSuffix(pr.Out.URL.Path, "/blobs/uploads/") {
				q := pr.Out.URL.Query()
				if q.Has("mount") {
					q.Del("mount")
					q.Del("from")
					pr.Out.URL.RawQuery = q.Encode()
				}
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			// Upload sessions are named by absolute URLs on the upstream:
			// keep the daemon on the relay.
			if loc := resp.Header.Get("Location"); loc != "" {
				if u, err := url.Parse(loc); err == nil && u.Host == upstream.Host {
					u.Scheme, u.Host = "http", r.host
					resp.Header.Set("Location", u.String())
				}
			}
			return nil
		},
		Transport: tr,
		ErrorLog:  log.New(io.Discard, "", 0), // the daemon reports what failed
	}
	r.srv = &http.Server{Handler: rp, ReadHeaderTimeout: time.Minute}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// close stops the relay, at once: the push it served is over, and a
// connection the daemon opened but never used would hold a graceful
// Shutdown for 5 s.
func (r *relay) close() { _ = r.srv.Close() }
