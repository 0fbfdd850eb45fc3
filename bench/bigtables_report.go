package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"
)

// writeBigTables writes P7: each figure on the loaded tables against the same on empty
// tables in the same run.
func (r *report) writeBigTables(b *bytes.Buffer) {
	t := r.p7
	if t == nil {
		return
	}
	b.WriteString("## P7 big tables\n\n")
	fmt.Fprintf(b, "One database loaded with %d calls stored for the future (the WAT no-op, due from a day ahead) and %d history rows (finished 31 to 60 days ago), "+
		"each table with one `INSERT … SELECT generate_series`, then `VACUUM (ANALYZE)`; every figure against the same measured on a fresh empty database in the same run. "+
		"Not part of the default set (`make bench BENCH_ARGS=\"-only p7\"`): loading alone takes minutes on this machine.\n\n", t.rows, t.rows)

	b.WriteString("| load | time | rows/s |\n|---|---:|---:|\n")
	fmt.Fprintf(b, "| future_call | %s | %.0f |\n", t.loadCalls.Round(time.Second), float64(t.rows)/t.loadCalls.Seconds())
	fmt.Fprintf(b, "| future_call_history | %s | %.0f |\n", t.loadHistory.Round(time.Second), float64(t.rows)/t.loadHistory.Seconds())
	fmt.Fprintf(b, "| VACUUM (ANALYZE) of both | %s | |\n\n", t.vacuum.Round(time.Second))

	b.WriteString("Disk (pg_total_relation_size; the table alone is pg_table_size: heap, TOAST and maps):\n\n")
	b.WriteString("| table | rows | total | per million rows | table alone per million | indexes per million |\n|---|---:|---:|---:|---:|---:|\n")
	for _, s := range t.sizes {
		per := func(n int64) string { return mb(n * 1_000_000 / int64(s.rows)) }
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s |\n", s.table, s.rows, mb(s.total), per(s.total), per(s.heap), per(s.indexes))
	}
	b.WriteString("\n")

	b.WriteString("Targets: the executor (WAT no-op) and scheduling (P4 single) on the loaded tables ≥ 0.8× the same on empty tables; the claim's p99 ≤ 5 ms; " +
		"the executor's rate while retention deletes the loaded history ≥ 0.8× its rate without.\n\n")
	fmt.Fprintf(b, "Executor: %d due calls of the WAT no-op drained as in P1, on an empty database and on the loaded one in turn.\n\n", t.drains[0].calls)
	b.WriteString("| concurrency | empty calls/s (median) | loaded calls/s (median) | rounds, empty / loaded | loaded × empty | target |\n|---|---:|---:|---|---:|---|\n")
	for _, c := range []int{8, unlimited} {
		empty, loaded := t.drain("empty", c), t.drain("loaded", c)
		ratio := loaded.rate() / empty.rate()
		fmt.Fprintf(b, "| %s | %.0f | %.0f | %s / %s | %.2f | %s |\n", concurrencyName(c), empty.rate(), loaded.rate(),
			rateList(empty.rates()), rateList(loaded.rates()), ratio, verdict(ratio >= 0.8))
	}
	b.WriteString("\n")

	b.WriteString("Claim: the latency of every store.Claim, timed in the bench process, of a serial loop (store.Claim, then store.Complete) draining the same calls in batches of 8 and of 256 " +
		"(the executor's claim sizes at concurrency 8 and unlimited).\n\n")
	b.WriteString("| batch | tables | claims | p50 | p99 | max | target |\n|---:|---|---:|---:|---:|---:|---|\n")
	for _, c := range t.claims {
		target := ""
		if c.tables == "loaded" {
			target = verdict(c.p99 <= 5*time.Millisecond)
		}
		fmt.Fprintf(b, "| %d | %s | %d | %s | %s | %s | %s |\n", c.batch, c.tables, c.claims, msPrecise(c.p50), msPrecise(c.p99), msPrecise(c.max), target)
	}
	b.WriteString("\n")

	b.WriteString("Scheduling: P4 single (32 clients of the Go client, one call each request, through the real API) into an empty database and into the loaded one in turn.\n\n")
	b.WriteString("| round | empty calls/s | loaded calls/s | loaded × empty | target |\n|---:|---:|---:|---:|---|\n")
	var ratios []float64
	for i, m := range t.scheduling {
		empty, loaded := float64(m.calls)/m.store.Seconds(), float64(m.calls)/m.api.Seconds()
		ratios = append(ratios, loaded/empty)
		fmt.Fprintf(b, "| %d | %.0f | %.0f | %.2f | |\n", i+1, empty, loaded, loaded/empty)
	}
	fmt.Fprintf(b, "| median | | | %.2f | %s |\n\n", median(ratios), verdict(median(ratios) >= 0.8))

	if len(t.autovacuum) > 0 {
		fmt.Fprintf(b, "Autovacuum of future_call: under each setting, after one VACUUM, %d drains in a row of %d due calls (inserted without VACUUM) by the serial store loop in batches of 8, "+
			"the loaded calls staying; dead rows (pg_stat_user_tables.n_dead_tup) before each drain, autovacuum runs of the table so far after it.\n\n",
			len(t.autovacuum[0].drains), t.drains[0].calls)
		b.WriteString("| setting | drain | dead rows before | autovacuums so far | claim p50 | claim p99 | calls/s |\n|---|---:|---:|---:|---:|---:|---:|\n")
		for _, p := range t.autovacuum {
			for i, d := range p.drains {
				fmt.Fprintf(b, "| %s | %d | %d | %d | %s | %s | %.0f |\n", p.setting, i+1, d.deadBefore, d.autovacuums,
					msPrecise(d.claim.p50), msPrecise(d.claim.p99), float64(t.drains[0].calls)/d.claim.took.Seconds())
			}
		}
		b.WriteString("\n")
	}

	if rt := t.retention; rt != nil {
		fmt.Fprintf(b, "Retention: store.TrimHistory (as the host's maintenance calls it) deleting every history row older than %s while the executor (WAT no-op, concurrency %s) drains %d calls at a time, "+
			"against drains before and after it on the same database.\n\n", historyRetention, concurrencyName(rt.concurrency), t.drains[0].calls)
		b.WriteString("| rows deleted | retention took | rows/s | executor calls/s without (each) | during (each) | during × without (medians) | target |\n|---:|---:|---:|---|---|---:|---|\n")
		ratio := 0.0
		if len(rt.during) > 0 {
			ratio = median(rt.during) / median(rt.without)
		}
		fmt.Fprintf(b, "| %d | %s | %.0f | %s | %s | %.2f | %s |\n\n", rt.deleted, rt.took.Round(time.Second), float64(rt.deleted)/rt.took.Seconds(),
			rateList(rt.without), rateList(rt.during), ratio, verdict(len(rt.during) > 0 && ratio >= 0.8))
	}
}

// drain returns P7's drains on the given tables at concurrency c.
func (t *bigTables) drain(tables string, c int) drain {
	for _, d := range t.drains {
		if d.system == tables && d.concurrency == c {
			return d
		}
	}
	return drain{}
}

// rateList writes rates as a comma-separated list.
func rateList(rates []float64) string {
	each := make([]string, len(rates))
	for i, r := range rates {
		each[i] = fmt.Sprintf("%.0f", r)
	}
	return strings.Join(each, ", ")
}

// median is the median of xs.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// msPrecise writes a duration in milliseconds with two decimals, for sub-millisecond
// latencies.
func msPrecise(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}
