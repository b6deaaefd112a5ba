//go:build linux

package main

import (
	"fmt"
	"strings"
	"time"
)

// ratio is one figure of issue 4 against its target; Met is nil for a
// figure shown without a target.
type ratio struct {
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	Display string  `json:"display"`
	Target  string  `json:"target,omitempty"`
	Met     *bool   `json:"met,omitempty"`
}

func (x ratio) verdict() string {
	switch {
	case x.Met == nil:
		return ""
	case *x.Met:
		return "met"
	}
	return "NOT met"
}

// rssLimit is the peak RSS the plugin must stay under.
const rssLimit = 64 << 20

type lookup func(name string) (sample, bool)

// ratios computes the targets' figures from the scenarios that ran.
func ratios(get lookup, cfg config) []ratio {
	if cfg.tls {
		return tlsRatios(get, cfg)
	}
	if cfg.latency() {
		return latencyRatios(get)
	}
	if cfg.rockOnly {
		return rockRatios(get)
	}
	out := coldRatios(get, 0.70)
	out = append(out, repeatRatios(get)...)
	out = append(out, recordRatios(get)...)
	out = append(out, fileRatios(get, cfg.fileSize)...)
	out = append(out, rockRatios(get)...)
	return append(out, rssRatio(get)...)
}

// latencyRatios are issue 17's targets, across a link.
func latencyRatios(get lookup) []ratio {
	out := coldRatios(get, 0.5)
	if p, ok := get(scPluginSmall); ok {
		if d, ok := get(scDockerSmall); ok && d.Wall > 0 {
			v := p.Wall.Seconds() / d.Wall.Seconds()
			out = append(out, ratio{Name: "plugin 60 small layers cold / " + scDockerSmall + " (wall)", Value: v,
				Display: fmt.Sprintf("%.2f", v), Target: "≤ 1.00", Met: ptr(v <= 1.0)})
		}
	}
	if warm, ok := get(scPluginWarm); ok {
		out = append(out, ratio{Name: "plugin warm, whole command (wall)", Value: warm.Wall.Seconds(),
			Display: secs(warm.Wall), Target: "≤ 1 s", Met: ptr(warm.Wall <= time.Second)})
	}
	if fresh, ok := get(scPluginFresh); ok {
		out = append(out, zeroBytes("plugin fresh cache: blob bytes sent", fresh.BlobBytes))
	}
	if f, ok := get(scFilePlugin); ok {
		out = append(out, ratio{Name: "file upload, whole command (wall)", Value: f.Wall.Seconds(),
			Display: secs(f.Wall), Target: "≤ 0.45 s (0.43 s before)", Met: ptr(f.Wall <= 450*time.Millisecond)})
	}
	return append(out, rssRatio(get)...)
}

// coldRatios compare the plugin's cold upload with each peer's; docker
// push's has a target of limit.
func coldRatios(get lookup, limit float64) []ratio {
	cold, ok := get(scPluginCold)
	if !ok {
		return nil
	}
	var out []ratio
	for _, peer := range []struct {
		name  string
		limit float64
	}{{scDockerCold, limit}, {scSkopeo, 0.55}, {scCrane, 0}} {
		p, ok := get(peer.name)
		if !ok || p.Wall <= 0 {
			continue
		}
		v := cold.Wall.Seconds() / p.Wall.Seconds()
		x := ratio{Name: "plugin cold / " + peer.name + " (wall)", Value: v, Display: fmt.Sprintf("%.2f", v)}
		if peer.limit > 0 {
			x.Target, x.Met = fmt.Sprintf("≤ %.2f", peer.limit), ptr(v <= peer.limit)
		}
		out = append(out, x)
	}
	if floor, ok := get(scSave); ok {
		if sk, ok := get(scSkopeo); ok && sk.Wall > 0 {
			v := floor.Wall.Seconds() / sk.Wall.Seconds()
			out = append(out, ratio{Name: "floor: docker save alone / " + scSkopeo + " (wall)", Value: v,
				Display: fmt.Sprintf("%.2f (no cold upload from the daemon can go under it)", v)})
		}
	}
	return out
}

// repeatRatios are about uploading what was uploaded before.
func repeatRatios(get lookup) []ratio {
	var out []ratio
	if warm, ok := get(scPluginWarm); ok {
		out = append(out, ratio{Name: "plugin warm, whole command (wall)", Value: warm.Wall.Seconds(),
			Display: secs(warm.Wall), Target: "< 1 s", Met: ptr(warm.Wall < time.Second)})
		if warm.ImagePart > 0 {
			out = append(out, ratio{Name: "plugin warm, image part (credentials to image blob)", Value: warm.ImagePart.Seconds(),
				Display: secs(warm.ImagePart), Target: "< 0.2 s", Met: ptr(warm.ImagePart < 200*time.Millisecond)})
		}
		if warm.ImageSaves >= 0 {
			out = append(out, ratio{Name: "plugin warm: image exports (ImageSave)", Value: float64(warm.ImageSaves),
				Display: fmt.Sprint(warm.ImageSaves), Target: "0", Met: ptr(warm.ImageSaves == 0)})
		}
		out = append(out, zeroBytes("plugin warm: blob bytes sent", warm.BlobBytes))
	}
	if ch, ok := get(scPluginChanged); ok && ch.ChangedLayerBytes > 0 {
		v := float64(ch.BlobBytes) / float64(ch.ChangedLayerBytes)
		out = append(out, ratio{Name: "plugin one layer changed: bytes sent / changed layer", Value: v,
			Display: fmt.Sprintf("%.3f (%s sent; layer %s, config %s)", v, mib(ch.BlobBytes), mib(ch.ChangedLayerBytes), mib(ch.ConfigBytes)),
			Target:  "≤ layer + config", Met: ptr(ch.BlobBytes <= ch.ChangedLayerBytes+ch.ConfigBytes)})
	}
	return out
}

// recordRatios are issue 12's targets: the registry's record of the
// image stands in for a cache this machine lacks or cannot use.
func recordRatios(get lookup) []ratio {
	var out []ratio
	if fresh, ok := get(scPluginFresh); ok {
		out = append(out, zeroBytes("plugin fresh cache: blob bytes sent", fresh.BlobBytes))
		if fresh.ImageSaves >= 0 {
			out = append(out, ratio{Name: "plugin fresh cache: image exports (ImageSave)", Value: float64(fresh.ImageSaves),
				Display: fmt.Sprint(fresh.ImageSaves), Target: "0", Met: ptr(fresh.ImageSaves == 0)})
		}
		out = append(out, ratio{Name: "plugin fresh cache, image part (credentials to image blob)", Value: fresh.ImagePart.Seconds(),
			Display: secs(fresh.ImagePart), Target: "≤ 0.2 s", Met: ptr(fresh.ImagePart > 0 && fresh.ImagePart <= 200*time.Millisecond)})
	}
	if other, ok := get(scPluginOtherGzip); ok {
		out = append(out, zeroBytes("plugin other compressor: blob bytes sent", other.BlobBytes),
			ratio{Name: "plugin other compressor: runs on another remote manifest", Value: float64(other.WrongRemote),
				Display: fmt.Sprint(other.WrongRemote), Target: "0 (the same remote digest)", Met: ptr(other.WrongRemote == 0)})
		if other.ImageSaves >= 0 {
			out = append(out, ratio{Name: "plugin other compressor: image exports (ImageSave)", Value: float64(other.ImageSaves),
				Display: fmt.Sprint(other.ImageSaves), Target: "0", Met: ptr(other.ImageSaves == 0)})
		}
	}
	if race, ok := get(scPluginRace); ok {
		out = append(out, ratio{Name: "plugin two runners at once: runs not on one manifest named by the record", Value: float64(race.WrongRemote),
			Display: fmt.Sprint(race.WrongRemote), Target: "0 (both succeed)", Met: ptr(race.WrongRemote == 0)})
	}
	return out
}

func zeroBytes(name string, n int64) ratio {
	return ratio{Name: name, Value: float64(n), Display: mib(n), Target: "0", Met: ptr(n == 0)}
}

// fileRatios compare the plugin's file upload with curl's, at storage
// (the upload request alone) and for the whole command.
func fileRatios(get lookup, fileSize int64) []ratio {
	p, okP := get(scFilePlugin)
	c, okC := get(scFileCurl)
	if !okP || !okC || p.StorageTime <= 0 || c.StorageTime <= 0 {
		return nil
	}
	at := mbps(fileSize, p.StorageTime) / mbps(fileSize, c.StorageTime)
	whole := mbps(fileSize, p.Wall) / mbps(fileSize, c.Wall)
	return []ratio{
		{Name: "file upload throughput, plugin / curl (storage request)", Value: at,
			Display: fmt.Sprintf("%.3f (%.0f vs %.0f MB/s)", at, mbps(fileSize, p.StorageTime), mbps(fileSize, c.StorageTime)),
			Target:  "≥ 0.90", Met: ptr(at >= 0.9)},
		{Name: "file upload throughput, plugin / curl (whole command)", Value: whole,
			Display: fmt.Sprintf("%.3f (revision and review included)", whole)},
	}
}

// rssRatio is the plugin's largest peak RSS over every scenario.
func rssRatio(get lookup) []ratio {
	var peak int64
	var where string
	for _, name := range []string{scPluginCold, scPluginCold16, scPluginCold64, scPluginWarm, scPluginFresh, scPluginChanged, scPluginOtherGzip, scPluginSmall, scFilePlugin} {
		if s, ok := get(name); ok && s.MaxRSS > peak {
			peak, where = s.MaxRSS, strings.TrimPrefix(name, "docker charmcraft, ")
		}
	}
	if peak == 0 {
		return nil
	}
	return []ratio{{Name: "plugin peak RSS (largest, in " + where + ")", Value: float64(peak),
		Display: mib(peak), Target: "≤ 64 MiB", Met: ptr(peak <= rssLimit)}}
}

func ptr[T any](v T) *T { return &v }
