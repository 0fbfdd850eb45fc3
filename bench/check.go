package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// checkResult is P3: host/check's BenchmarkCheckMillion, which checks 1,000,000 stored
// calls and times a bare stream of the same rows in the same run.
type checkResult struct {
	calls   int
	check   time.Duration // one check
	stream  time.Duration // the bare stream: SELECT id, plugin, method, args, nothing decoded
	command string
}

// checkCommand is the benchmark P3 runs, in the repository.
var checkCommand = []string{"go", "test", "./host/check", "-run", "^$", "-bench", "BenchmarkCheckMillion", "-benchtime", "1x"}

// measureCheck runs host/check's own benchmark on the harness's server (DATABASE_URL),
// so the check measured is the one the package tests, and parses its metrics.
func (e *env) measureCheck(ctx context.Context) (*checkResult, error) {
	cmd := exec.CommandContext(ctx, checkCommand[0], checkCommand[1:]...)
	cmd.Dir = e.repo
	cmd.Env = append(os.Environ(), "DATABASE_URL="+e.srv.admin.String())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", strings.Join(checkCommand, " "), err, out.String())
	}
	metrics := map[string]float64{}
	for line := range strings.Lines(out.String()) {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "BenchmarkCheckMillion") {
			continue
		}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				metrics[f[i+1]] = v
			}
		}
	}
	perCheck, ok1 := metrics["s/check"]
	stream, ok2 := metrics["s/stream"]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("no s/check and s/stream in the benchmark's output:\n%s", out.String())
	}
	r := &checkResult{calls: 1_000_000, check: seconds(perCheck), stream: seconds(stream), command: strings.Join(checkCommand, " ")}
	e.log.Info("P3 check", slog.Duration("check", r.check), slog.Duration("stream", r.stream))
	return r, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
