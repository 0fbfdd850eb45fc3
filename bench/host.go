package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/futurecalls/futurecalls/sdk/client"
)

// hostProcess is a real host (bin/host run) started by the harness, and a client of its
// REST API.
type hostProcess struct {
	cmd    *exec.Cmd
	exited chan error
	client *client.Client
}

// startHost starts bin/host run on the database at url, loading the plugins in
// pluginsDir from the harness's compilation cache and listening on a free loopback
// address, with the FC_ settings given (KEY=value), and waits until its API answers.
// The API client uses hc, or the default HTTP client when hc is nil.
func (e *env) startHost(ctx context.Context, url, pluginsDir string, hc *http.Client, settings ...string) (*hostProcess, error) {
	hostBin, err := e.path("bin/host")
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, hostBin, "run")
	cmd.Env = append(environWithout("FC_"), "FC_DATABASE_URL="+url, "FC_PLUGINS_DIR="+pluginsDir,
		"FC_PLUGINS_CACHEDIR="+e.cache, "FC_API_LISTEN="+addr, "FC_LOG_LEVEL=warn")
	cmd.Env = append(cmd.Env, settings...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	h := &hostProcess{cmd: cmd, exited: make(chan error, 1)}
	go func() { h.exited <- cmd.Wait() }()
	var opts []client.Option
	if hc != nil {
		opts = append(opts, client.WithHTTPClient(hc))
	}
	if h.client, err = client.New("http://"+addr, opts...); err != nil {
		h.stop()
		return nil, err
	}
	if err := waitReady(ctx, h.client, h.exited); err != nil {
		h.stop()
		return nil, err
	}
	return h, nil
}

// stop stops the host as an operator does (SIGTERM), killing it after a minute.
func (h *hostProcess) stop() {
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.exited: //nolint:errcheck // the host's exit status after SIGTERM says nothing
	case <-time.After(time.Minute):
		_ = h.cmd.Process.Kill()
		<-h.exited //nolint:errcheck // killed: its exit status says nothing
	}
}

// linkPlugins makes a plugins directory holding just the given files of the
// repository (as symbolic links). The caller removes it.
func (e *env) linkPlugins(files ...string) (string, error) {
	dir, err := os.MkdirTemp("", "futurecalls-bench-plugins-")
	if err != nil {
		return "", err
	}
	for _, f := range files {
		p, err := e.path(f)
		if err == nil {
			err = os.Symlink(p, filepath.Join(dir, filepath.Base(p)))
		}
		if err != nil {
			_ = os.RemoveAll(dir)
			return "", err
		}
	}
	return dir, nil
}
