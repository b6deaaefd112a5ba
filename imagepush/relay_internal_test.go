package imagepush

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/moby/moby/client"
)

// searchVia is a daemon's search as the probe asks it: the daemon pings
// the index, then searches it, over plain HTTP to a loopback address;
// reach false is a daemon in another network, which never reaches it;
// other searches another term, as a stale or forged search would.
type searchVia struct{ reach, other bool }

func (s searchVia) ImageSearch(ctx context.Context, term string, _ client.ImageSearchOptions) (client.ImageSearchResult, error) {
	if !s.reach {
		return client.ImageSearchResult{}, errors.New("connection refused")
	}
	host, q, _ := strings.Cut(term, "/")
	if s.other {
		q = "charmcraft-probe-other"
	}
	for _, path := range []string{"/v1/_ping", "/v1/search?q=" + url.QueryEscape(q) + "&n=25"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return client.ImageSearchResult{}, err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return client.ImageSearchResult{}, errors.New(resp.Status)
		}
	}
	return client.ImageSearchResult{}, nil
}

// TestRelayProbe checks the probe on both relays: it passes when the
// daemon reaches the relay, fails when not, and what is not the probe's
// still reaches the registry.
func TestRelayProbe(t *testing.T) {
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "registry "+r.URL.Path)
	})
	for _, tt := range []struct {
		name string
		srv  *httptest.Server
	}{
		{"http, bytes copied", httptest.NewServer(upstream)},
		{"https, proxied", httptest.NewTLSServer(upstream)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer tt.srv.Close()
			u, _ := url.Parse(tt.srv.URL)
			for _, reach := range []bool{true, false} {
				r, err := startRelay(t.Context(), u, tt.srv.Client().Transport)
				if err != nil {
					t.Fatal(err)
				}
				err = r.probe(t.Context(), searchVia{reach: reach})
				if (err == nil) != reach {
					t.Errorf("reach %v: probe %v", reach, err)
				}
				resp, err := http.Get("http://" + r.host + "/v2/")
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if string(b) != "registry /v2/" {
					t.Errorf("through the relay: %q, want the registry's answer", b)
				}
				r.close()
			}
		})
	}
	// Another term seen is not the probe's.
	r, err := startRelay(t.Context(), &url.URL{Scheme: "http", Host: "127.0.0.1:1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	if err := r.probe(t.Context(), searchVia{reach: true, other: true}); err == nil {
		t.Error("the probe passed on another term")
	}
}
