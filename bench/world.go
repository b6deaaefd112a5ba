//go:build linux

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/canonical/docker-charmcraft/charmhub"
	"github.com/canonical/docker-charmcraft/charmhub/charmhubtest"
	"github.com/canonical/docker-charmcraft/internal/faultproxy"
	"github.com/canonical/docker-charmcraft/registry/registrytest"
)

// benchToken is the bench account's Charmhub token.
const benchToken = "macaroon-bench-0123456789"

// Resource names of every bench charm.
const (
	imageRes = "my-image"
	fileRes  = "my-file"
)

// world is the Charmhub test server and the registry that trusts it,
// both reached through the proxy.
type world struct {
	hub    *charmhubtest.Server
	reg    *registrytest.Registry
	proxy  *netProxy
	client *charmhub.Client
	charms int
	link   faultproxy.Link
	// tls, in a -tls run, is the registry's link; nil otherwise.
	tls *tlsLink
}

func startWorld(link faultproxy.Link, withTLS bool) (*world, error) {
	var conf *registrytest.TLS
	if withTLS {
		var err error
		if conf, err = tlsSettings(); err != nil {
			return nil, err
		}
		// The registry charmhubtest starts serves HTTPS as the matrix's do.
		for k, v := range map[string]string{registrytest.TLSEnv: "1", registrytest.TLSHostEnv: conf.Host,
			registrytest.CAEnv: conf.CACert, registrytest.CAKeyEnv: conf.CAKey, registrytest.CertsDirEnv: conf.CertsDir} {
			if err := os.Setenv(k, v); err != nil {
				return nil, err
			}
		}
	}
	cw, err := charmhubtest.NewWorld(charmhubtest.WorldConfig{
		Accounts: []charmhubtest.Account{{Username: "bench", Token: benchToken}},
		Review:   &charmhubtest.ReviewConfig{}, // approved at the first poll
	})
	if err != nil {
		return nil, fmt.Errorf("starting the Charmhub test server and registry: %w", err)
	}
	hub, reg := cw.Hub, cw.Registry
	w := &world{hub: hub, reg: reg, link: link}
	if conf != nil {
		if !strings.HasPrefix(reg.URL, "https://") {
			w.close()
			return nil, errNoTLS
		}
		if w.tls, err = newTLSLink(conf, reg.Host, link); err != nil {
			w.close()
			return nil, err
		}
	}
	if err := w.newProxy(); err != nil {
		w.close()
		return nil, err
	}
	w.client, err = charmhub.New(charmhub.WithAPIURL(hub.APIURL()), charmhub.WithToken(benchToken))
	if err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// newProxy puts a new proxy, on a port of its own, in front of the
// servers, in place of the one before. Each run of the bench has its own:
// the Docker daemon remembers which repositories of a registry host hold
// each layer it pushed, and tries to mount it from them when it pushes the
// layer to another repository of that host (in vain: the upload
// credentials reach one charm's repository), so that on one host each
// run's cold docker push would cost more round trips than the last.
func (w *world) newProxy() error {
	p, err := startProxy(w.reg.URL, w.hub.URL(), w.link)
	if err != nil {
		return err
	}
	if w.proxy != nil {
		w.proxy.Close()
	}
	w.proxy = p
	if w.tls != nil && w.tls.tcp != nil {
		if err := w.tls.renew(); err != nil {
			return err
		}
	}
	// Image names, and so every push, go through the proxy (or the TLS
	// link); the token realm and service stay those of the server.
	w.hub.SetRegistryHost(w.registryHost())
	return nil
}

// registryHost is the registry's host:port as the tools reach it: the
// proxy's, or with -tls the link's.
func (w *world) registryHost() string {
	if w.tls != nil && w.tls.tcp != nil {
		return w.tls.Host()
	}
	return w.proxy.host
}

// registryURL is the registry's base URL as the tools reach it.
func (w *world) registryURL() string {
	if w.tls != nil && w.tls.tcp != nil {
		return "https://" + w.tls.Host()
	}
	return w.proxy.URL
}

func (w *world) close() {
	if w.tls != nil {
		w.tls.close()
	}
	if w.proxy != nil {
		w.proxy.Close()
	}
	w.reg.Close()
	w.hub.Close()
}

// newCharm adds a charm of its own, so that its registry repositories
// are empty and the credentials for them reach no other.
func (w *world) newCharm() string {
	w.charms++
	name := fmt.Sprintf("bench-charm-%d", w.charms)
	w.hub.AddCharm(charmhubtest.Charm{
		Name: name, ID: fmt.Sprintf("bench-id-%d", w.charms), Owner: "bench",
		Resources: []charmhubtest.ResourceSpec{
			{Name: imageRes, Type: charmhub.TypeOCIImage},
			{Name: fileRes, Type: charmhub.TypeFile},
		},
	})
	return name
}

// credentials are the registry credentials of a charm's image resource,
// as the plugin gets them.
func (w *world) credentials(ctx context.Context, charm string) (*charmhub.RegistryCredentials, error) {
	return w.client.UploadCredentials(ctx, charm, imageRes)
}

// pluginEnv points the plugin at the proxy.
func (w *world) pluginEnv() []string {
	env := []string{
		"CHARMCRAFT_STORE_API_URL=" + w.proxy.URL + "/api",
		"CHARMCRAFT_UPLOAD_URL=" + w.proxy.URL + "/storage",
		"CHARMCRAFT_REGISTRY_URL=" + w.registryURL(),
		"CHARMCRAFT_AUTH=" + base64.StdEncoding.EncodeToString([]byte(benchToken)),
	}
	if w.tls != nil {
		env = append(env, "SSL_CERT_FILE="+w.tls.conf.CACert)
	}
	return env
}

// lastImageDigest is the manifest digest named by the latest revision of
// a charm's image resource: what the plugin pushed.
func (w *world) lastImageDigest(charm string) (string, error) {
	revs := w.hub.Revisions(charm, imageRes)
	if len(revs) == 0 {
		return "", fmt.Errorf("charm %s has no image revision", charm)
	}
	var blob struct{ ImageName string }
	if err := json.Unmarshal(revs[len(revs)-1].Content, &blob); err != nil {
		return "", fmt.Errorf("reading the image blob of charm %s: %w", charm, err)
	}
	_, d, ok := strings.Cut(blob.ImageName, "@")
	if !ok {
		return "", errors.New("the image blob names no digest")
	}
	return d, nil
}
