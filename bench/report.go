package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// analysisMarker starts the hand-written part of BENCHMARKS.md (profiles, fixes,
// explanations of missed targets), which a run keeps as it is.
const analysisMarker = "<!-- Everything below is written by hand and kept by make bench. -->"

// report collects one run's figures and writes them as markdown.
type report struct {
	started, finished time.Time
	args              []string
	machine           machine
	postgres          string
	graphile          string // the Graphile Worker and Node.js versions, when P1 ran Graphile Worker
	loadEnd           string

	p1 []drain
	p2 *lateness
	p3 *checkResult
	p4 []schedulingRate
	p5 []footprint
	p6 []dueNow
	p7 *bigTables
}

// machine describes where the run happened.
type machine struct {
	cpus      int
	cpuModel  string
	memory    string
	loadStart string
}

func readMachine() machine {
	m := machine{cpus: runtime.NumCPU(), loadStart: loadAverage()}
	m.cpuModel = procField("/proc/cpuinfo", "model name")
	if kb, err := strconv.ParseInt(strings.Fields(procField("/proc/meminfo", "MemTotal") + " 0")[0], 10, 64); err == nil && kb > 0 {
		m.memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(file, key string) string {
	f, err := os.Open(file)
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// loadAverage is the 1, 5 and 15 minute load average.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// moduleVersion is the version of a module the harness is built with.
func moduleVersion(path string) string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "?"
	}
	for _, d := range info.Deps {
		if d.Path == path {
			return d.Version
		}
	}
	return "?"
}

// write writes the report to file, keeping the hand-written analysis after
// analysisMarker.
func (r *report) write(file string) error {
	var b bytes.Buffer
	r.header(&b)
	r.writeThroughput(&b)
	r.writeLateness(&b)
	r.writeCheck(&b)
	r.writeScheduling(&b)
	r.writeFootprint(&b)
	r.writeDueNow(&b)
	r.writeBigTables(&b)
	b.WriteString("\n" + analysisMarker + "\n")
	if old, err := os.ReadFile(file); err == nil {
		if _, kept, ok := bytes.Cut(old, []byte(analysisMarker+"\n")); ok {
			b.Write(kept)
		}
	}
	return os.WriteFile(file, b.Bytes(), 0o644)
}

func (r *report) header(b *bytes.Buffer) {
	m := r.machine
	fmt.Fprintf(b, "# Benchmarks\n\n")
	fmt.Fprintf(b, "Written by `make bench` (`cd bench && go run . %s`); the harness and its scenarios are documented in bench/main.go. "+
		"Every figure comes with a baseline measured in the same run: absolute times drift on a shared machine, ratios much less.\n\n",
		strings.Join(r.args, " "))
	fmt.Fprintf(b, "| | |\n|---|---|\n")
	fmt.Fprintf(b, "| date | %s, %s |\n", r.started.UTC().Format("2006-01-02 15:04 MST"), r.finished.Sub(r.started).Round(time.Second))
	fmt.Fprintf(b, "| machine | %d CPUs (nproc), %s, %s memory |\n", m.cpus, m.cpuModel, m.memory)
	fmt.Fprintf(b, "| load average (1, 5, 15 min) | %s at the start, %s at the end |\n", m.loadStart, r.loadEnd)
	fmt.Fprintf(b, "| versions | %s, PostgreSQL %s, wazero %s, River %s, pgx %s |\n", runtime.Version(), r.postgres,
		moduleVersion("github.com/tetratelabs/wazero"), moduleVersion("github.com/riverqueue/river"), moduleVersion("github.com/jackc/pgx/v5"))
	if r.graphile != "" {
		fmt.Fprintf(b, "| Graphile Worker | %s |\n", r.graphile)
	}
	b.WriteString("\n")
}

// verdict writes whether a target is met.
func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// concurrencyName is how a concurrency limit reads.
func concurrencyName(c int) string {
	if c <= 0 {
		return "unlimited"
	}
	return strconv.Itoa(c)
}

// slug makes a label usable in a file name.
func slug(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, s)
}

func (r *report) writeThroughput(b *bytes.Buffer) {
	if len(r.p1) == 0 {
		return
	}
	b.WriteString("## P1 throughput\n\n")
	fmt.Fprintf(b, "%d due no-op calls drained, each run on a fresh database of the same server; %d rounds, each running every system in turn, and the median of the rounds compared. "+
		"*bare SQL*: one loop deleting due rows in batches of the executor's claim size (the concurrency limit, 256 when unlimited), no WebAssembly, no history: the practical limit. "+
		"*store loop*: the executor's own statements (store.Claim, then store.Complete recording the batch as succeeded into the history) in one serial loop, no WebAssembly: what the schema's writes cost. "+
		"*River*: as many no-op River jobs (MaxWorkers = the limit, River's maximum of 10,000 when unlimited; FetchCooldown at River's 1 ms minimum, its fastest). "+
		graphileMethod+
		"*futurecalls*: the executor as the host runs it (claim within free slots, warm instances, outcomes recorded in the history), until every outcome is recorded.\n\n",
		r.p1[0].calls, len(r.p1[0].took))
	b.WriteString("Target: ≥ 1.0× River and ≥ 0.70× bare SQL with the WAT or C plugin.\n\n")
	b.WriteString("| concurrency | system | calls/s (median) | rounds, calls/s | × bare SQL | × store loop | × River | target |\n|---|---|---:|---|---:|---:|---:|---|\n")
	for _, d := range r.p1 {
		var bare, loop, riv float64
		for _, o := range r.p1 {
			if o.concurrency != d.concurrency {
				continue
			}
			switch o.system {
			case "bare SQL":
				bare = o.rate()
			case "store loop":
				loop = o.rate()
			case "River":
				riv = o.rate()
			}
		}
		target := ""
		if (strings.Contains(d.system, "WAT") || strings.Contains(d.system, "C no-op")) && bare > 0 && riv > 0 {
			target = verdict(d.rate() >= riv && d.rate() >= 0.7*bare)
		}
		var each []string
		for _, r := range d.rates() {
			each = append(each, fmt.Sprintf("%.0f", r))
		}
		fmt.Fprintf(b, "| %s | %s | %.0f | %s | %s | %s | %s | %s |\n", concurrencyName(d.concurrency), d.system,
			d.rate(), strings.Join(each, ", "), ratio(d.rate(), bare), ratio(d.rate(), loop), ratio(d.rate(), riv), target)
	}
	b.WriteString("\n")
	r.writeGraphileTargets(b)
}

func (r *report) writeLateness(b *bytes.Buffer) {
	l := r.p2
	if l == nil {
		return
	}
	b.WriteString("## P2 lateness\n\n")
	fmt.Fprintf(b, "%d calls of the WAT no-op plugin scheduled %s ahead at %d calls/s through the store (one transaction and one wake-up notification each, as the API does), "+
		"an executor running as the host does (concurrency %s, scan interval %s). Lateness is the history's started_at − scheduled_at. "+
		"Baseline: a Go timer per call, set for the same instant in the same process, and how late it fires.\n\n",
		l.calls, l.ahead, l.rate, concurrencyName(l.concurrency), scanInterval)
	b.WriteString("Target: p99 ≤ 20 ms.\n\n")
	b.WriteString("| | p50 | p99 | max | target |\n|---|---:|---:|---:|---|\n")
	fmt.Fprintf(b, "| futurecalls | %s | %s | %s | %s |\n", ms(l.calls50), ms(l.calls99), ms(l.callsMax), verdict(l.calls99 <= 20*time.Millisecond))
	fmt.Fprintf(b, "| Go timer (baseline) | %s | %s | %s | |\n\n", ms(l.timer50), ms(l.timer99), ms(l.timerMax))
}

func (r *report) writeCheck(b *bytes.Buffer) {
	c := r.p3
	if c == nil {
		return
	}
	b.WriteString("## P3 broken-call check\n\n")
	fmt.Fprintf(b, "host/check's own benchmark (`%s`, on the harness's server): %d stored calls over five methods, from no arguments to nested records, a thousandth of them broken; "+
		"baseline: the bare stream of the same rows (SELECT id, plugin, method, args, nothing decoded), best of three.\n\n", c.command, c.calls)
	b.WriteString("Target: ≤ 10 s.\n\n")
	b.WriteString("| | time | calls/s | × bare stream | target |\n|---|---:|---:|---:|---|\n")
	fmt.Fprintf(b, "| check | %.2f s | %.0f | %.2f | %s |\n", c.check.Seconds(), float64(c.calls)/c.check.Seconds(),
		c.check.Seconds()/c.stream.Seconds(), verdict(c.check <= 10*time.Second))
	fmt.Fprintf(b, "| bare stream (baseline) | %.2f s | %.0f | 1.00 | |\n\n", c.stream.Seconds(), float64(c.calls)/c.stream.Seconds())
}

func (r *report) writeScheduling(b *bytes.Buffer) {
	if len(r.p4) == 0 {
		return
	}
	b.WriteString("## P4 scheduling\n\n")
	b.WriteString("The real API (api.New on a loopback listener, the real store and catalog, the host's pool of 11 connections) scheduling WAT no-op calls an hour ahead through the Go client (sdk/client), " +
		"clients and server sharing the machine's CPUs. Baseline: the same calls stored with store.Schedule / store.ScheduleBatch directly from as many goroutines, on a fresh database.\n\n")
	b.WriteString("Targets: single ≥ 5,000 calls/s, batch ≥ 100,000 calls/s.\n\n")
	b.WriteString("| mode | clients | calls | API calls/s | store calls/s (baseline) | API × store | target |\n|---|---:|---:|---:|---:|---:|---|\n")
	for _, m := range r.p4 {
		api, st := float64(m.calls)/m.api.Seconds(), float64(m.calls)/m.store.Seconds()
		want := 5_000.0
		if m.perBatch > 1 {
			want = 100_000
		}
		fmt.Fprintf(b, "| %s | %d | %d | %.0f | %.0f | %.2f | %s |\n", m.mode, m.clients, m.calls, api, st, api/st, verdict(api >= want))
	}
	b.WriteString("\n")
}

func (r *report) writeDueNow(b *bytes.Buffer) {
	if len(r.p6) == 0 {
		return
	}
	b.WriteString("## P6 due now\n\n")
	fmt.Fprintf(b, "A real host process (bin/host run: monolith, the WAT no-op plugin, concurrency %d and unlimited, a fresh database each run) receiving `POST /v1/calls` without a delay, "+
		"sent by the Go client (sdk/client) on a fixed timetable, each request in a goroutine of its own whether the earlier ones were answered or not (open loop), after %d warm-up requests. "+
		"*request → start*: from sending the request to the history's started_at, which the executor takes just before it enters the guest; "+
		"*201 → start*: from the answer's arrival to the same instant (negative when the call started before the answer came back); *request → 201*: the API's answer; *host CPU per call*: the host process's user + system CPU time over the measured requests (/proc/<pid>/stat), divided by their number. "+
		"Baseline, in the same run: the same requests to a bare Go HTTP handler (in the harness) that inserts a row and notifies in one round trip, "+
		"and a Go loop woken by LISTEN that claims up to %d due rows (DELETE … FOR UPDATE SKIP LOCKED … RETURNING): the same design with no validation, WebAssembly, lease or history.\n\n",
		dueNowConcurrency, dueNowWarmUp, dueNowConcurrency)
	b.WriteString("Target: request → start p50 ≤ 2 ms and p99 ≤ 10 ms at 200 and at 2,000 requests/s.\n\n")
	b.WriteString("| requests/s | system | concurrency | calls | request → start p50 | p99 | max | 201 → start p50 | p99 | request → 201 p50 | p99 | host CPU per call | p50 × baseline | target |\n" +
		"|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, d := range r.p6 {
		var base time.Duration
		for _, o := range r.p6 {
			if o.rate == d.rate && strings.HasPrefix(o.system, "Go baseline") {
				base = o.send.p50
			}
		}
		target, concurrency, cpu := "", "", ""
		if !strings.HasPrefix(d.system, "Go baseline") {
			target = verdict(d.send.p50 <= 2*time.Millisecond && d.send.p99 <= 10*time.Millisecond)
			concurrency = concurrencyName(d.concurrency)
			cpu = fmt.Sprintf("%d µs", d.cpu.Microseconds())
		}
		fmt.Fprintf(b, "| %d | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %.2f | %s |\n", d.rate, d.system, concurrency, d.calls,
			ms(d.send.p50), ms(d.send.p99), ms(d.send.max), ms(d.answer.p50), ms(d.answer.p99), ms(d.api.p50), ms(d.api.p99),
			cpu, float64(d.send.p50)/float64(base), target)
	}
	b.WriteString("\n")
}

// ratio writes rate / baseline, or nothing when the baseline did not run (-match).
func ratio(rate, baseline float64) string {
	if baseline == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", rate/baseline)
}

// ms writes a duration in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// mb writes a size in megabytes (10^6 bytes, as the target is stated).
func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
