//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// cranePackage is the crane the bench installs when none is on PATH.
const cranePackage = "github.com/google/go-containerregistry/cmd/crane@v0.22.1"

// peers are the paths of the other tools measured; crane is optional
// and empty when it could not be installed.
type peers struct {
	skopeo, curl, crane string
}

func checkDocker(ctx context.Context) error {
	if err := exec.CommandContext(ctx, "docker", "info").Run(); err != nil {
		return errors.New("no Docker daemon answers (`docker info` failed): start one with `sudo scripts/matrix.sh`")
	}
	return nil
}

// findPeers finds the tools, installing what is missing when it can:
// skopeo and curl with apt-get as root, crane with go install.
func findPeers(ctx context.Context) (peers, error) {
	var p peers
	var err error
	if p.skopeo, err = aptTool(ctx, "skopeo"); err != nil {
		return p, err
	}
	if p.curl, err = aptTool(ctx, "curl"); err != nil {
		return p, err
	}
	p.crane = goTool(ctx, "crane", cranePackage)
	return p, nil
}

// aptTool finds the command name, from the Debian package of that name.
func aptTool(ctx context.Context, name string) (string, error) {
	if path, err := exec.LookPath(name); err == nil {
		return path, nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("%s is missing: install it with `sudo apt-get install -y %s`, then run the bench again", name, name)
	}
	logf("installing %s with apt-get", name)
	install := func() error {
		cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "-q", name)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return runQuiet(cmd)
	}
	if err := install(); err != nil {
		if err := runQuiet(exec.CommandContext(ctx, "apt-get", "update", "-q")); err != nil {
			return "", fmt.Errorf("installing %s: %w", name, err)
		}
		if err := install(); err != nil {
			return "", fmt.Errorf("installing %s: %w", name, err)
		}
	}
	return exec.LookPath(name)
}

// goTool finds the command name on PATH or in Go's bin directory, else
// installs pkg there. It returns "" when that fails: the tool is left out.
func goTool(ctx context.Context, name, pkg string) string {
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	out, err := exec.CommandContext(ctx, "go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		logf("%s is left out: `go env` failed: %v", name, err)
		return ""
	}
	gobin, gopath, _ := strings.Cut(strings.TrimRight(string(out), "\n"), "\n")
	bin := gobin
	if bin == "" {
		bin = filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "bin")
	}
	path := filepath.Join(bin, name)
	if _, err := os.Stat(path); err == nil {
		return path
	}
	logf("installing %s: go install %s", name, pkg)
	if err := runQuiet(exec.CommandContext(ctx, "go", "install", pkg)); err != nil {
		logf("%s is left out: %v", name, err)
		return ""
	}
	return path
}
