package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// TestPgBouncer runs the exactly-once workload of TestManyHosts twice in one run, on
// the same PostgreSQL server: three hosts connected to it directly, then three hosts
// through one PgBouncer in transaction pooling mode (database.pooler: transaction),
// which gives the three of them fewer server connections than each host's own pool.
// Two of the pooled hosts have a direct database.listenUrl for LISTEN and migrations;
// the third has none, and says that its wake-ups are off. Each run schedules a burst
// of calls all due at once (throughput) and then a paced stream (lateness); every
// call must run exactly once, and the figures of both runs are logged side by side.
func TestPgBouncer(t *testing.T) {
	w := poolerWorkload{
		burst:  scale(3_000, 50_000),
		paced:  scale(600, 12_000),
		spread: time.Duration(scale(4, 60)) * time.Second,
	}
	plugins := testplugins.DirWith(t, testplugins.Path(t, "probe"))
	direct := w.run(t, "direct", plugins, func(dbURL string, i int) []string {
		return []string{"--database.url=" + dbURL}
	})

	const serverConns = 12 // for 3 hosts whose pools hold up to 18 connections each
	var pb *pgbouncer
	pooled := w.run(t, "pgbouncer", plugins, func(dbURL string, i int) []string {
		u, err := url.Parse(dbURL)
		if err != nil {
			t.Fatal(err)
		}
		if pb == nil {
			pb = startPgBouncer(t, dbURL, serverConns)
		}
		args := []string{"--database.url=" + pb.url(strings.TrimPrefix(u.Path, "/")), "--database.pooler=transaction"}
		if i < 2 {
			args = append(args, "--database.listenUrl="+dbURL)
		}
		return args
	})
	// Claims and completions are batched, so there may be fewer transactions than
	// executions; a tenth is far below what a run shows (about one per execution).
	if xacts := pb.transactions(pooled.database); xacts < int64(2*(w.burst+w.paced)/10) {
		t.Errorf("PgBouncer passed on %d transactions for %d executions: the hosts did not go through it", xacts, 2*(w.burst+w.paced))
	} else {
		t.Logf("PgBouncer passed on %d transactions to %d server connections at most", xacts, serverConns)
	}
	if lines := pooled.hosts[2].find("wake-ups are off"); len(lines) != 1 {
		t.Errorf("the pooled host without database.listenUrl logged %d lines saying that its wake-ups are off, want 1", len(lines))
	}
	for _, h := range pooled.hosts[:2] {
		if lines := h.find("wake-ups are off"); len(lines) != 0 {
			t.Errorf("host %s has database.listenUrl and logged that its wake-ups are off", h.name)
		}
	}
	t.Logf("direct:    %s", direct)
	t.Logf("pgbouncer: %s", pooled)
	t.Logf("pgbouncer against direct: throughput %.2fx, lateness p50 %+.0f ms, p99 %+.0f ms",
		pooled.throughput/direct.throughput, pooled.p50-direct.p50, pooled.p99-direct.p99)
}

// poolerWorkload is the workload of each run of TestPgBouncer: burst probe.record
// calls due at the same moment, then paced ones due evenly over spread.
type poolerWorkload struct {
	burst, paced int
	spread       time.Duration
}

// poolerRun is what one run of a poolerWorkload measured.
type poolerRun struct {
	mode     string
	database string
	hosts    []*host
	tally    tally
	// throughput is executions (record and echo) per second in the burst.
	throughput float64
	// p50 and p99 are the lateness of the paced record calls (start - due), in ms.
	p50, p99 float64
}

func (r poolerRun) String() string {
	return fmt.Sprintf("%s; burst %.1f calls/s; paced lateness p50 %.0f ms, p99 %.0f ms", r.tally, r.throughput, r.p50, r.p99)
}

// run starts three hosts on a new database, with the arguments args gives each host
// (i from 0) for that database's direct URL, runs the workload, checks that every
// call ran exactly once and stops the hosts.
func (w poolerWorkload) run(t *testing.T, mode, plugins string, args func(dbURL string, i int) []string) poolerRun {
	t.Helper()
	dbURL := testdb.URL(t)
	u, _ := url.Parse(dbURL)
	d := openDatabase(t, dbURL)
	s := newSuite(t)
	r := poolerRun{mode: mode, database: strings.TrimPrefix(u.Path, "/")}
	var clients []*client.Client
	for i := range 3 {
		h := s.start(fmt.Sprintf("%s%d", mode, i+1), hostOptions{plugins: plugins, args: args(dbURL, i)})
		r.hosts = append(r.hosts, h)
		clients = append(clients, h.client)
	}

	burst, burstLabels := recordRequests(mode[:1]+"b", w.burst)
	due := time.Now().Add(3 * time.Second).UTC()
	for i := range burst {
		burst[i].At = &due
	}
	scheduleAll(t, clients, burst)
	d.waitDrained(2*w.burst, time.Duration(scale(4, 30))*time.Minute)
	var executions int
	var took float64
	if err := d.pool.QueryRow(t.Context(), `SELECT count(*), extract(epoch FROM max(finished_at) - min(scheduled_at))::float8
		FROM future_call_history`).Scan(&executions, &took); err != nil {
		t.Fatal(err)
	}
	r.throughput = float64(executions) / took

	paced, pacedLabels := recordRequests(mode[:1]+"p", w.paced)
	t0 := time.Now().Add(2 * time.Second)
	for i := range paced {
		at := t0.Add(time.Duration(i) * w.spread / time.Duration(w.paced)).UTC()
		paced[i].At = &at
	}
	scheduleAll(t, clients, paced)
	d.waitDrained(2*(w.burst+w.paced), time.Duration(scale(2, 10))*time.Minute)
	if err := d.pool.QueryRow(t.Context(), `SELECT
		percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - scheduled_at)) * 1000,
		percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - scheduled_at)) * 1000
		FROM future_call_history WHERE method = 'record' AND args->>'label' LIKE $1`, mode[:1]+"p%").Scan(&r.p50, &r.p99); err != nil {
		t.Fatal(err)
	}

	r.tally = checkExactlyOnce(t, d, append(burstLabels, pacedLabels...), nil, r.hosts...)
	if other := d.count("SELECT count(*) FROM future_call_history WHERE outcome <> 'succeeded'"); other != 0 {
		t.Errorf("%s: %d history rows are not succeeded", mode, other)
	}
	for _, h := range r.hosts {
		h.shutdown(30 * time.Second)
	}
	return r
}
