package main

import (
	"bytes"
	"fmt"
	"strings"
)

// graphileMethod describes P1's Graphile Worker rows, in the table's preamble.
const graphileMethod = "*Graphile Worker*: as many no-op jobs queued with one `graphile_worker.add_jobs` call (the method of its own perfTest), drained by worker processes of the npm package " +
	"(bench/graphile/drain.mjs), timed from the processes being told to start to the task having run once per job and the jobs table being empty; " +
	"*defaults*: one process with concurrentJobs 8 and nothing else set; *localQueue = jobs+1*: the same with a local queue that fetches and locks every job at once; " +
	"*perfTest batching*: the settings of its perfTest's graphile.config.js (localQueue.size 500, refetchDelay 10 ms, completeJobBatchDelay and failJobBatchDelay 0, maxPoolSize concurrentJobs + 1), " +
	"in one process of 24 jobs (perfTest's) or two of 8. Graphile Worker's rows sit beside futurecalls at 8 (one process of 8) and unlimited (batched). " +
	"Graphile Worker deletes a finished job and keeps no record of it, so it does less work per job than futurecalls, which writes a history row; " +
	"its batched completion keeps jobs locked until the batch is written, so a crash can run them again. "

// isGraphile tells Graphile Worker's rows.
func (d drain) isGraphile() bool { return strings.HasPrefix(d.system, "Graphile Worker") }

// graphileTarget is one of issue 16's goals against Graphile Worker: futurecalls with
// the WAT no-op at a concurrency at least want times the best of Graphile Worker's rows
// in against.
type graphileTarget struct {
	concurrency int
	against     []graphileSetting
	want        float64
	goal        string
}

// graphileTargets are issue 16's goals: ahead of Graphile Worker on the same server.
var graphileTargets = []graphileTarget{
	{8, []graphileSetting{graphileLocalQueue}, 1.3, "futurecalls WAT at concurrency 8 ≥ 1.3× Graphile Worker with localQueue = jobs+1 (1×8)"},
	{unlimited, []graphileSetting{graphileBatched, graphileBatched2}, 1.3, "futurecalls WAT unlimited ≥ 1.3× Graphile Worker's best batched setting"},
}

// writeGraphileTargets writes, under P1's table, issue 16's goals against Graphile Worker
// with this run's ratios, then the anchors' published figures, which are not measured
// here.
func (r *report) writeGraphileTargets(b *bytes.Buffer) {
	find := func(system string, concurrency int) (drain, bool) {
		for _, d := range r.p1 {
			if d.system == system && d.concurrency == concurrency {
				return d, true
			}
		}
		return drain{}, false
	}
	var rows []string
	for _, t := range graphileTargets {
		ours, ok := find("futurecalls, "+watNoop.label, t.concurrency)
		if !ok {
			continue
		}
		var best drain
		for _, g := range t.against {
			if d, ok := find(g.system(), t.concurrency); ok && (best.system == "" || d.rate() > best.rate()) {
				best = d
			}
		}
		if best.system == "" {
			continue
		}
		ratio := ours.rate() / best.rate()
		rows = append(rows, fmt.Sprintf("| %s | %.0f | %s: %.0f | %.2f | %s |", t.goal, ours.rate(), best.system, best.rate(), ratio, verdict(ratio >= t.want)))
	}
	if len(rows) > 0 {
		b.WriteString("Targets against Graphile Worker (issue 16), from the medians above:\n\n")
		b.WriteString("| goal | futurecalls WAT, calls/s | Graphile Worker, jobs/s | ratio | target |\n|---|---:|---|---:|---|\n")
		b.WriteString(strings.Join(rows, "\n") + "\n\n")
	}
	b.WriteString("Published figures of the anchors, for context, not measured here: River's burn-down benchmark, about 46,000 jobs/s on an 8-core laptop; " +
		"Graphile Worker, about 184,000 jobs/s with four processes on an i9-14900K, and 4.16 ms average latency from add_job to the job's start.\n\n")
}
