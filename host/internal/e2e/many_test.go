package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// TestManyHosts runs three hosts on one database and schedules 20,000 probe.record
// calls (100,000 with E2E_SOAK=1) through their batch endpoints, all due at the same
// moment. Each record call schedules an echo follow-up, which logs its label: every
// label must be echoed exactly once across the three hosts' logs, with one succeeded
// record row and one succeeded echo row in the history, and every host must have
// taken part.
func TestManyHosts(t *testing.T) {
	n := scale(20_000, 100_000)
	url := testdb.URL(t)
	d := openDatabase(t, url)
	s := newSuite(t)
	plugins := testplugins.DirWith(t, testplugins.Path(t, "probe"))

	var hosts []*host
	var clients []*client.Client
	for i := range 3 {
		h := s.start(fmt.Sprintf("host%d", i+1), hostOptions{db: url, plugins: plugins})
		hosts = append(hosts, h)
		clients = append(clients, h.client)
	}

	reqs, labels := recordRequests("m", n)
	// All due a moment after the last batch is in, so that the hosts compete for
	// the same calls from the start.
	due := time.Now().Add(3 * time.Second).UTC()
	for i := range reqs {
		reqs[i].At = &due
	}
	start := time.Now()
	scheduleAll(t, clients, reqs)
	scheduled := time.Since(start)
	if time.Now().After(due) {
		t.Logf("scheduling took %s, longer than the head start: the hosts began while it went on", scheduled.Round(time.Millisecond))
	}

	d.waitDrained(2*n, time.Duration(scale(4, 20))*time.Minute)
	ran := time.Since(due)
	res := checkExactlyOnce(t, d, labels, nil, hosts...)

	split := d.groups("SELECT host, count(*) FROM future_call_history GROUP BY 1")
	var shares []string
	for _, h := range hosts {
		id := h.id()
		shares = append(shares, fmt.Sprintf("%s %d", h.name, split[id]))
		if split[id] == 0 {
			t.Errorf("host %s (%s) ran no call: the work was not shared", h.name, id)
		}
	}
	sort.Strings(shares)
	if other := d.count("SELECT count(*) FROM future_call_history WHERE outcome <> 'succeeded'"); other != 0 {
		t.Errorf("%d history rows are not succeeded", other)
	}
	t.Logf("many hosts: %s; %d record calls scheduled in %s over the batch endpoint; %d executions (record + echo) in %s (%.0f calls/s); split: %s",
		res, n, scheduled.Round(time.Millisecond), 2*n, ran.Round(time.Millisecond), float64(2*n)/ran.Seconds(), strings.Join(shares, ", "))
}
