//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// report is what a bench run found, as printed and as saved.
type report struct {
	Started   time.Time   `json:"started"`
	Machine   machine     `json:"machine"`
	Setup     setup       `json:"setup"`
	Scenarios []rowReport `json:"scenarios"`
	Ratios    []ratio     `json:"ratios"`
}

type setup struct {
	ImageSize      string   `json:"image_size"`
	ImageBytes     int64    `json:"image_bytes"`
	Layers         int      `json:"layers"`
	LayerBytes     int64    `json:"layer_bytes"`
	RandomLayers   []int    `json:"random_layers"`
	ChangedLayer   int      `json:"changed_layer"`
	BaseImage      string   `json:"base_image"`
	VariantImage   string   `json:"variant_image"`
	BaseDiffIDs    []string `json:"base_diff_ids"`
	VariantDiffIDs []string `json:"variant_diff_ids"`
	FileSize       string   `json:"file_size"`
	FileBytes      int64    `json:"file_bytes"`
	Runs           int      `json:"runs"`
	ReviewDelay    string   `json:"review_delay"`
	Registry       string   `json:"registry"` // registrytest's Kind
	Store          string   `json:"store"`    // the daemon's image store
	// RTT and Bandwidth are the link's (issue 17): 0 is loopback as it
	// is, and unbounded.
	RTT        string `json:"rtt"`
	Bandwidth  int64  `json:"bandwidth_bytes_per_s"`
	SmallImage string `json:"small_image,omitempty"`
	// TLS is a -tls run: the registry over HTTPS behind a TCP-level link.
	TLS bool `json:"tls,omitempty"`
}

type rowReport struct {
	Name   string   `json:"name"`
	Store  string   `json:"store"`
	Median sample   `json:"median"`
	Runs   []sample `json:"runs"`
}

func newReport(b *bench) *report {
	b.machine.LoadAvgEnd = loadAvg()
	img := b.img
	if img == nil { // the rock alone: layers of the size asked, no image
		img = &images{layerSize: b.cfg.size / layerCount}
	}
	r := &report{Started: b.started, Machine: b.machine, Setup: setup{
		ImageSize: b.cfg.sizeText, ImageBytes: img.layerSize * layerCount,
		Layers: layerCount, LayerBytes: img.layerSize, ChangedLayer: changedLayer,
		BaseImage: img.base, VariantImage: img.variant,
		BaseDiffIDs: img.baseDiffs, VariantDiffIDs: img.varDiffs,
		FileSize: b.cfg.fileSizeText, FileBytes: b.cfg.fileSize, Runs: b.cfg.runs,
		ReviewDelay: "none (approved at the first poll)",
		Registry:    string(b.world.reg.Kind),
		Store:       b.store,
		RTT:         b.cfg.link.RTT.String(), Bandwidth: b.cfg.link.Rate, SmallImage: img.small,
		TLS: b.cfg.tls,
	}}
	for i := range layerCount {
		if randomLayer(i) {
			r.Setup.RandomLayers = append(r.Setup.RandomLayers, i)
		}
	}
	for _, row := range b.rows {
		r.Scenarios = append(r.Scenarios, rowReport{Name: row.Name, Store: b.store, Median: summarize(row.Runs), Runs: row.Runs})
	}
	r.Ratios = ratios(r.median, b.cfg)
	if b.store == storeContainerd {
		r.Ratios = containerdTargets(r.Ratios)
	}
	return r
}

// median is the summary of the scenario named (see summarize), if it ran.
func (r *report) median(name string) (sample, bool) {
	for _, s := range r.Scenarios {
		if s.Name == name {
			return s.Median, true
		}
	}
	return sample{}, false
}

// print writes the report for the terminal, in Markdown.
func (r *report) print(out io.Writer) error {
	w := &printer{w: out}
	m, s := r.Machine, r.Setup
	w.printf("\n## docker charmcraft bench, %s\n\n", r.Started.UTC().Format("2006-01-02 15:04 MST"))
	if s.Store == storeNone {
		w.printf("Rock: %s in %d layers of %s, random bytes (as compressed), no Docker daemon.\n", s.ImageSize, s.Layers, mib(s.LayerBytes))
	} else {
		w.printf("Image: %s in %d layers of %s (layers %v random, the others text-like); the variant changes layer %d.\n",
			s.ImageSize, s.Layers, mib(s.LayerBytes), s.RandomLayers, s.ChangedLayer)
	}
	if s.SmallImage != "" {
		w.printf("Small-layer image: %d layers of %s, random, FROM scratch.\n", smallLayers, mib(smallLayerSize))
	}
	w.printf("File resource: %s. Runs: %d (medians; peak RSS is the largest). Review delay: none. Registry: %s.\n", s.FileSize, s.Runs, s.Registry)
	w.printf("Link: %s.\n", linkText(s))
	w.printf("Machine: %s, %d cores, %s RAM, %s, kernel %s; load average at start %s, at end %s.\n",
		m.CPUModel, m.Cores, m.Memory, m.OS, m.Kernel, m.LoadAvg, m.LoadAvgEnd)
	w.printf("Docker: CLI %s, daemon %s, storage driver %s. %s; plugin version %s.\n",
		m.DockerClient, m.DockerServer, m.StorageDriver, m.Go, m.Plugin)
	w.printf("Peers: %s; crane %s; %s.\n\n", m.Skopeo, orNone(m.Crane), m.Curl)
	w.table([]string{"scenario", "store", "wall", "CPU", "dockerd CPU", "peak RSS", "bytes sent", "requests", "notes"}, r.tableRows())
	w.printf("%s", tableNotes)
	if busy(m) {
		w.printf("\nWARNING: the load average exceeded the core count: other work shared the machine, the figures are noisy.\n")
	}
	issues := "issues 4 and 12"
	switch {
	case s.TLS:
		issues = "issues 25 and 21"
	case s.latency():
		issues = "issue 17"
	}
	w.printf("\n### Targets (%s)\n\n", issues)
	rows := make([][]string, 0, len(r.Ratios))
	for _, x := range r.Ratios {
		rows = append(rows, []string{x.Name, x.Display, x.Target, x.verdict()})
	}
	w.table([]string{"measure", "value", "target", "met"}, rows)
	return w.err
}

const tableNotes = `
wall: whole command. CPU: user+sys of the command's own process tree (rusage);
docker push and every image export do their work in dockerd, hence its column.
peak RSS: VmHWM of the command's process, polled every 2 ms (for docker push,
only the CLI's). dockerd CPU: the whole daemon's, shared with its other users.
bytes sent: blob upload bodies the registry received (image rows), or the
storage upload body (file rows), counted by a proxy in front of both; with
-tls, every byte that crossed the link to the registry (TLS records: requests
and blobs), and the requests column counts the link's TCP connections.
requests: HTTP requests (round trips) to the registry and Charmhub,
registry's in brackets; a link's RTT is paid once a request, once more a
new connection.
curl -F sends the multipart POST the plugin sends: storage's equivalent of curl -T.
notes: load is the 1-minute load average as each run began.
`

func (r *report) tableRows() [][]string {
	var rows [][]string
	for _, s := range r.Scenarios {
		m := s.Median
		sent := m.BlobBytes
		switch {
		case strings.HasPrefix(s.Name, "file:"):
			sent = m.StorageBytes
		case m.LinkBytes > 0:
			sent = m.LinkBytes
		}
		reqs := "–"
		switch {
		case m.LinkConns > 0:
			reqs = fmt.Sprintf("%d conns", m.LinkConns)
		case m.Requests > 0:
			reqs = fmt.Sprintf("%d (%d)", m.Requests, m.RegistryRequests)
		}
		note := rowNote(s.Name, m)
		if st := strategyNote(s.Runs); st != "" {
			note = strings.TrimPrefix(note+"; "+st, "; ")
		}
		rows = append(rows, []string{s.Name, s.Store, secs(m.Wall), secs(m.CPU), secs(m.DaemonCPU),
			mib(m.MaxRSS), mib(sent), reqs, note})
	}
	return rows
}

func rowNote(name string, m sample) string {
	if strings.HasPrefix(name, "file:") {
		return fmt.Sprintf("%.0f MB/s at storage (%s), %.0f MB/s whole command",
			mbps(m.StorageBytes, m.StorageTime), secs(m.StorageTime), mbps(m.StorageBytes, m.Wall))
	}
	var notes []string
	if m.Load != "" {
		notes = append(notes, "load "+m.Load)
	}
	if m.ImagePart > 0 {
		notes = append(notes, "image part "+secs(m.ImagePart))
	}
	if m.PushCall > 0 {
		notes = append(notes, "daemon's push "+secs(m.PushCall))
	}
	if m.ListCalls > 0 {
		notes = append(notes, "image listings "+secs(m.ListCalls))
	}
	if m.ImageSaves >= 0 {
		notes = append(notes, fmt.Sprintf("image exports: %d", m.ImageSaves))
	}
	if m.WrongRemote > 0 {
		notes = append(notes, fmt.Sprintf("%d runs on another remote manifest", m.WrongRemote))
	}
	if name == scPluginChanged {
		notes = append(notes, fmt.Sprintf("changed layer %s, config %s", mib(m.ChangedLayerBytes), mib(m.ConfigBytes)))
	}
	if name == scPluginResumed && m.WholeBytes > 0 {
		notes = append(notes, fmt.Sprintf("killed when the registry had %s of %s; the run again sent %.0f%% of the whole",
			mib(m.KilledAtBytes), mib(m.WholeBytes), 100*float64(m.BlobBytes)/float64(m.WholeBytes)))
	}
	return strings.Join(notes, "; ")
}

// latency tells whether the run measured a link with a round-trip time.
func (s setup) latency() bool { return s.RTT != "0s" && s.RTT != "" }

// linkText says what the link between the tools and the servers was.
func linkText(s setup) string {
	bw := "unbounded bandwidth"
	if s.Bandwidth > 0 {
		bw = fmt.Sprintf("%s/s each way", mib(s.Bandwidth))
	}
	if s.TLS {
		return fmt.Sprintf("registry over HTTPS (h2 offered) behind a TCP-level link: %s round trip (half each way, one more a new connection), %s, TLS untouched; the Charmhub API behind the proxy's link", s.RTT, bw)
	}
	if !s.latency() && s.Bandwidth == 0 {
		return "loopback, as it is"
	}
	return fmt.Sprintf("%s round trip a request (and one more a new connection), %s, played by the proxy", s.RTT, bw)
}

// printer writes until the first error, which it keeps.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// table writes a Markdown table, aligned for the terminal too.
func (p *printer) table(header []string, rows [][]string) {
	width := make([]int, len(header))
	for _, row := range append([][]string{header}, rows...) {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cells []string) {
		for i, c := range cells {
			p.printf("| %s%s ", c, strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)))
		}
		p.printf("|\n")
	}
	line(header)
	dashes := make([]string, len(header))
	for i := range dashes {
		dashes[i] = strings.Repeat("-", width[i])
	}
	line(dashes)
	for _, row := range rows {
		line(row)
	}
}

// save writes the report as JSON in dir and returns the file's path.
func (r *report) save(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("%s-%s-%s.json", r.Started.UTC().Format("20060102T150405Z"), r.Setup.ImageSize, r.Setup.Store)
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, append(data, '\n'), 0o644)
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func mib(n int64) string {
	if n < 1<<20 && n > 0 {
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func mbps(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / 1e6 / d.Seconds()
}

func orNone(s string) string {
	if s == "" {
		return "not installed"
	}
	return s
}
