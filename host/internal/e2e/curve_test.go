package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// TestScaleCurve runs the burst of TestManyHosts on 1, then 2, then 3 hosts, each on
// a database of its own on the same server, and logs the throughput of each beside
// the first (docs/scaling.md compares them with the capacity model), with the bytes
// a stored call and a history row take (table and indexes). Every call must run
// exactly once at every point.
func TestScaleCurve(t *testing.T) {
	n := scale(1_500, 30_000)
	plugins := testplugins.DirWith(t, testplugins.Path(t, "probe"))
	var points []string
	var first float64
	for hosts := 1; hosts <= 3; hosts++ {
		dbURL := testdb.URL(t)
		d := openDatabase(t, dbURL)
		s := newSuite(t)
		var started []*host
		var clients []*client.Client
		for i := range hosts {
			h := s.start(fmt.Sprintf("curve%d-%d", hosts, i+1), hostOptions{db: dbURL, plugins: plugins})
			started = append(started, h)
			clients = append(clients, h.client)
		}
		reqs, labels := recordRequests(fmt.Sprintf("c%d", hosts), n)
		due := time.Now().Add(3 * time.Second).UTC()
		for i := range reqs {
			reqs[i].At = &due
		}
		scheduleAll(t, clients, reqs)
		if hosts == 1 {
			callBytes := d.count("SELECT pg_total_relation_size('future_call')::bigint / greatest(count(*), 1) FROM future_call")
			t.Logf("a stored call takes %d bytes (table, TOAST and indexes, %d calls stored)", callBytes, n)
		}
		d.waitDrained(2*n, time.Duration(scale(4, 20))*time.Minute)
		var executions int
		var took float64
		if err := d.pool.QueryRow(t.Context(), `SELECT count(*), extract(epoch FROM max(finished_at) - min(scheduled_at))::float8
			FROM future_call_history`).Scan(&executions, &took); err != nil {
			t.Fatal(err)
		}
		rate := float64(executions) / took
		if hosts == 1 {
			first = rate
			rowBytes := d.count("SELECT pg_total_relation_size('future_call_history')::bigint / greatest(count(*), 1) FROM future_call_history")
			t.Logf("a history row takes %d bytes (table, TOAST and indexes, %d rows)", rowBytes, executions)
		}
		res := checkExactlyOnce(t, d, labels, nil, started...)
		points = append(points, fmt.Sprintf("%d hosts %.0f calls/s (%.2fx)", hosts, rate, rate/first))
		t.Logf("%d hosts: %s; %.0f executions/s", hosts, res, rate)
		for _, h := range started {
			h.shutdown(30 * time.Second)
		}
	}
	t.Logf("scale curve (%d record calls and their echo follow-ups per point, concurrency 8 per host): %s", n, strings.Join(points, "; "))
}
