//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// machine is what the numbers depend on.
type machine struct {
	CPUModel      string `json:"cpu_model"`
	Cores         int    `json:"cores"`
	Memory        string `json:"memory"`
	OS            string `json:"os"`
	Kernel        string `json:"kernel"`
	DockerClient  string `json:"docker_client"`
	DockerServer  string `json:"docker_server"`
	StorageDriver string `json:"storage_driver"`
	Go            string `json:"go"`
	Plugin        string `json:"plugin_version"`
	Skopeo        string `json:"skopeo"`
	Crane         string `json:"crane,omitempty"`
	Curl          string `json:"curl"`
	LoadAvg       string `json:"loadavg_at_start"`
	LoadAvgEnd    string `json:"loadavg_at_end"`
}

func machineInfo(ctx context.Context, plugin string, p peers) machine {
	m := machine{
		CPUModel: procField("/proc/cpuinfo", "model name", ":"),
		Cores:    runtime.NumCPU(),
		Memory:   memTotal(),
		OS:       strings.Trim(procField("/etc/os-release", "PRETTY_NAME", "="), `"`),
		Kernel:   firstLine(os.ReadFile("/proc/sys/kernel/osrelease")),
		LoadAvg:  loadAvg(),
		Go:       runtime.Version(),
	}
	m.DockerClient = output(ctx, "docker", "version", "--format", "{{.Client.Version}}")
	m.DockerServer = output(ctx, "docker", "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})")
	m.StorageDriver = output(ctx, "docker", "info", "--format", "{{.Driver}}")
	m.Plugin = pluginVersion(ctx, plugin)
	m.Skopeo = output(ctx, p.skopeo, "--version")
	m.Curl = firstWords(output(ctx, p.curl, "--version"), 2)
	if p.crane != "" {
		m.Crane = output(ctx, p.crane, "version")
	}
	return m
}

// procField is the value of the first "key<sep> value" line of a file.
func procField(path, key, sep string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// output is the first line a command prints, or "unknown".
func output(ctx context.Context, name string, args ...string) string {
	return firstLine(exec.CommandContext(ctx, name, args...).Output())
}

func firstLine(b []byte, err error) string {
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return line
}

// memTotal is the machine's memory in GiB.
func memTotal() string {
	kb, err := strconv.ParseFloat(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal", ":"), " kB"), 64)
	if err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%.0f GiB", kb/(1<<20))
}

// loadAvg is the 1, 5 and 15 minute load averages.
func loadAvg() string {
	f := strings.Fields(firstLine(os.ReadFile("/proc/loadavg")))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// busy tells whether the 1-minute load average exceeded the core count
// at the start or at the end.
func busy(m machine) bool {
	for _, l := range []string{m.LoadAvg, m.LoadAvgEnd} {
		f := strings.Fields(l)
		if len(f) > 0 {
			if v, err := strconv.ParseFloat(f[0], 64); err == nil && v > float64(m.Cores) {
				return true
			}
		}
	}
	return false
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	return strings.Join(f[:min(n, len(f))], " ")
}

// pluginVersion is the version the plugin binary reports: the commit it
// was built from, "-dirty" when the tree had changes.
func pluginVersion(ctx context.Context, plugin string) string {
	out, err := exec.CommandContext(ctx, plugin, "docker-cli-plugin-metadata").Output()
	var meta struct{ Version string }
	if err != nil || json.Unmarshal(out, &meta) != nil || meta.Version == "" {
		return "unknown"
	}
	return meta.Version
}
