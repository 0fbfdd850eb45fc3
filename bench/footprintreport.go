package main

import (
	"bytes"
	"fmt"
	"strings"
)

func (r *report) writeFootprint(b *bytes.Buffer) {
	if len(r.p5) == 0 {
		return
	}
	b.WriteString("## P5 footprint\n\n")
	fmt.Fprintf(b, "A real host process (bin/host run: monolith, unlimited concurrency, the harness's database) loading 10 plugins (%s) from a warm compilation cache; "+
		"calls of the benchmark plugins' sleep(%d ms) scheduled through its API; RSS from /proc/<pid>/status while all of them are in flight (VmRSS, the largest sample) "+
		"and VmHWM, the peak of the whole process; PSS from /proc/<pid>/smaps_rollup in the same sample, which counts once a page the process maps many times "+
		"(the memory image a plugin's instances share: VmRSS counts it once per instance that reads it). Baseline: the same process idle, just before. "+
		"A Go guest carries its own runtime and heap in every instance; a C guest a few pages.\n\n",
		strings.Join(footprintPlugins, ", "), sleepMS)
	b.WriteString("Target: ≤ 150 MB with 10 plugins loaded and 64 calls in flight.\n\n")
	b.WriteString("| in flight | idle RSS (baseline) | RSS in flight | × idle | per call in flight | VmHWM | idle PSS | PSS in flight | PSS per call | target |\n" +
		"|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, f := range r.p5 {
		fmt.Fprintf(b, "| %s | %s | %s | %.2f | %s | %s | %s | %s | %s | %s |\n", f.mix, mb(f.idle), mb(f.busy), float64(f.busy)/float64(f.idle),
			mb((f.busy-f.idle)/int64(f.inFlight)), mb(f.peak), mb(f.idlePSS), mb(f.busyPSS), mb((f.busyPSS-f.idlePSS)/int64(f.inFlight)),
			verdict(f.busy <= 150_000_000))
	}
	b.WriteString("\n")
}
