//go:build linux

package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/canonical/docker-charmcraft/internal/faultproxy"
)

// netProxy stands in front of the registry (/v2/...) and of the Charmhub
// test server (everything else, the registry's token endpoint included),
// across the bench's link, and counts what matters: the requests, the
// bytes of blob uploads, and the bytes and time of storage uploads.
type netProxy struct {
	*faultproxy.Proxy
	host string // URL's host:port, as in image names
}

// traffic is what the proxy counted since its last reset.
type traffic struct {
	requests, registryRequests int64
	blobBytes, storageBytes    int64
	storageTime                time.Duration
	// The image part of an upload runs from the answer with registry
	// credentials to the request for the image blob; 0 when not seen.
	imagePart time.Duration
}

// Paths the proxy tells apart.
const (
	blobUploads     = "/v2/*/*/*/blobs/uploads/*"     // a charm's repository: charm/<id>/<resource>
	storageUploads  = "/storage/unscanned-upload"     // and a trailing slash
	credentialsPath = "/oci-image/upload-credentials" // at the end of a path
	imageBlobPath   = "/oci-image/blob"
)

func startProxy(registryURL, hubURL string, link faultproxy.Link) (*netProxy, error) {
	p, err := faultproxy.New(hubURL)
	if err != nil {
		return nil, fmt.Errorf("starting the proxy: %w", err)
	}
	// The token realm moves to the proxy too: crane takes a realm only
	// on the registry's own host when it is a loopback address.
	if err := p.Route("/v2/", registryURL); err != nil {
		p.Close()
		return nil, err
	}
	p.SetLink(link)
	return &netProxy{Proxy: p, host: strings.TrimPrefix(p.URL, "http://")}, nil
}

func (p *netProxy) reset() { p.ClearRequests() }

func (p *netProxy) counted() traffic {
	var t traffic
	var credsAnswered, blobAsked time.Time
	for _, r := range p.Requests() {
		t.requests++
		switch {
		case strings.HasPrefix(r.Path, "/v2/"):
			t.registryRequests++
			if matches(blobUploads, r.Path) {
				t.blobBytes += r.BodyBytes
			}
		case strings.HasPrefix(r.Path, storageUploads):
			t.storageBytes += r.BodyBytes
			if !r.End.IsZero() {
				t.storageTime += r.End.Sub(r.Start)
			}
		case strings.HasSuffix(r.Path, credentialsPath):
			credsAnswered = r.End
		case strings.HasSuffix(r.Path, imageBlobPath):
			blobAsked = r.Start
		}
	}
	if !credsAnswered.IsZero() && blobAsked.After(credsAnswered) {
		t.imagePart = blobAsked.Sub(credsAnswered)
	}
	return t
}

func matches(pattern, p string) bool {
	ok, _ := path.Match(pattern, p)
	return ok
}

// saveRE matches the Docker API's image export: ImageSave.
var saveRE = regexp.MustCompile(`/images/(.+/)?get$`)

// daemonProxy is a Unix socket in front of the Docker daemon that counts
// image exports, to show which runs export the image at all.
type daemonProxy struct {
	*faultproxy.Proxy
	sock string
}

// startDaemonProxy listens on sock and forwards to the daemon DOCKER_HOST
// names (or the default socket).
func startDaemonProxy(sock, dockerHost string) (*daemonProxy, error) {
	if dockerHost == "" {
		dockerHost = "unix:///var/run/docker.sock"
	}
	if u, err := url.Parse(dockerHost); err != nil || u.Scheme != "unix" && u.Scheme != "tcp" {
		return nil, errors.New("DOCKER_HOST is neither a unix:// socket nor a tcp:// address")
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, err
	}
	p, err := faultproxy.New(dockerHost, faultproxy.OnListener(ln))
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	return &daemonProxy{Proxy: p, sock: sock}, nil
}

// saves is how many image exports went through the proxy.
func (p *daemonProxy) saves() int64 { return p.count(saveRE) }

// pushes is how many image pushes (the plugin's daemon push) went
// through the proxy.
func (p *daemonProxy) pushes() int64 { return p.count(pushRE) }

func (p *daemonProxy) count(re *regexp.Regexp) int64 {
	var n int64
	for _, r := range p.Requests() {
		if re.MatchString(r.Path) {
			n++
		}
	}
	return n
}

// listRE matches the Docker API's image list: ImageList.
var listRE = regexp.MustCompile(`/images/json$`)

// callTimes is how long the image pushes and the image listings that
// began since then took, each summed.
func (p *daemonProxy) callTimes(since time.Time) (push, list time.Duration) {
	for _, r := range p.Requests() {
		if r.Start.Before(since) || r.End.IsZero() {
			continue
		}
		switch {
		case pushRE.MatchString(r.Path):
			push += r.End.Sub(r.Start)
		case listRE.MatchString(r.Path):
			list += r.End.Sub(r.Start)
		}
	}
	return push, list
}

// trace logs, with BENCH_TRACE set, when each request of a plugin run
// to the Docker daemon and to the servers began and ended, from the
// run's start: where its time goes.
func (b *bench) trace(began time.Time, wall time.Duration) {
	type call struct {
		who string
		r   faultproxy.Request
	}
	var calls []call
	for _, r := range b.daemon.Requests() {
		if !r.Start.Before(began) {
			calls = append(calls, call{"daemon", r})
		}
	}
	for _, r := range b.world.proxy.Requests() {
		calls = append(calls, call{"server", r})
	}
	slices.SortFunc(calls, func(a, c call) int { return a.r.Start.Compare(c.r.Start) })
	logf("  trace of the run (%.3f s):", wall.Seconds())
	for _, c := range calls {
		end := "-"
		if !c.r.End.IsZero() {
			end = fmt.Sprintf("%.3f", c.r.End.Sub(began).Seconds())
		}
		logf("    %s %.3f–%s %s %s %d", c.who, c.r.Start.Sub(began).Seconds(), end, c.r.Method, c.r.Path, c.r.Status)
	}
}
