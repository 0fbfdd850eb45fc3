package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// TestFailover runs two hosts on a primary and a streaming replica, named together in a
// multi-host URL with target_session_attrs=read-write, while calls fall due and a
// client keeps scheduling more, one request at a time. Once a third of the calls ran,
// the primary's WAL sender is held back for a second (a replica lagging behind),
// then the primary's processes are killed with SIGKILL; two seconds later (a failover
// manager's detection time) the replica is promoted. Until then the API answers 503
// with Retry-After; afterwards the hosts find the new primary by themselves.
//
// Synchronous: with a synchronous standby, every schedule the API acknowledged with 201
// exists after the failover and has run, no call ran twice, and a call whose outcome
// was lost with the old primary is recorded as interrupted. Asynchronous: the same
// workload, with what the replica had not received counted (acknowledged schedules
// missing, calls run twice), not asserted.
func TestFailover(t *testing.T) {
	t.Run("Synchronous", func(t *testing.T) { failover(t, true) })
	t.Run("Asynchronous", func(t *testing.T) { failover(t, false) })
}

func failover(t *testing.T, synchronous bool) {
	n := scale(2_000, 20_000)
	spread := time.Duration(scale(10, 60)) * time.Second
	pair := startReplicaPair(t, synchronous)
	s := newSuite(t)
	plugins := testplugins.DirWith(t, testplugins.Path(t, "probe"))
	hosts := []*host{
		s.start("host1", hostOptions{db: pair.url(), plugins: plugins}),
		s.start("host2", hostOptions{db: pair.url(), plugins: plugins}),
	}
	d := openDatabase(t, pair.url())

	reqs, labels := recordRequests("f", n)
	t0 := time.Now().Add(time.Second)
	for i := range reqs {
		at := t0.Add(time.Duration(i) * spread / time.Duration(n)).UTC()
		reqs[i].At = &at
	}
	scheduleAll(t, []*client.Client{hosts[0].client, hosts[1].client}, reqs)

	// A client scheduling one call at a time through both hosts, all along.
	stream := &scheduleStream{hosts: hosts}
	ctx, stop := context.WithCancel(context.Background())
	streamDone := make(chan struct{})
	go func() { defer close(streamDone); stream.run(ctx) }()

	d.waitRan(n/3, time.Minute)
	pair.holdBack()
	time.Sleep(time.Second)
	killed := time.Now()
	pair.killPrimary()
	time.Sleep(2 * time.Second)
	promoteStart := time.Now()
	// A request sent as the signal was on its way could still be acknowledged.
	unavailable := stream.sentBetween(killed.Add(100*time.Millisecond), promoteStart)
	pair.promote()
	promoted := time.Now()
	t.Logf("primary killed; replica promoted %s later (pg_promote took %s)", promoted.Sub(killed).Round(time.Millisecond), promoted.Sub(promoteStart).Round(time.Millisecond))

	// The stream goes on for a few seconds on the new primary, then stops.
	waitFor(t, time.Minute, "a schedule acknowledged by the new primary", func() (bool, string) {
		return stream.acknowledgedSince(promoted) > 0, fmt.Sprintf("%d acknowledged since the promotion", stream.acknowledgedSince(promoted))
	})
	time.Sleep(3 * time.Second)
	stop()
	<-streamDone

	acked := stream.acknowledged()
	all := append(append([]string{}, labels...), acked...)
	// Every call is due by now: once none is stored, all that will run has run (with
	// asynchronous replication, some never will: the new primary never had them).
	waitFor(t, 3*time.Minute, "the schedule to drain", func() (bool, string) {
		left, err := d.tryCount("SELECT count(*) FROM future_call")
		return err == nil && left == 0, fmt.Sprintf("%d calls stored (error: %v)", left, err)
	})

	var window time.Duration
	if err := d.pool.QueryRow(t.Context(), "SELECT min(started_at) - $1::timestamptz FROM future_call_history WHERE started_at >= $2",
		killed, promoted).Scan(&window); err != nil {
		t.Fatal(err)
	}

	// What became of each call: its record rows by outcome, and its echo runs (the
	// plugin's own account, from the hosts' logs).
	logged := echoes(hosts...)
	outcomes := map[string]map[string]int{}
	rows, err := d.pool.Query(t.Context(), `SELECT args->>'label', outcome, count(*) FROM future_call_history
		WHERE plugin = 'probe' AND method = 'record' GROUP BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var label, outcome string
		var count int
		if err := rows.Scan(&label, &outcome, &count); err != nil {
			t.Fatal(err)
		}
		if outcomes[label] == nil {
			outcomes[label] = map[string]int{}
		}
		outcomes[label][outcome] += count
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var missing, twice, interrupted []string
	for _, label := range all {
		o := outcomes[label]
		switch {
		case len(o) == 0:
			missing = append(missing, label)
		case o["succeeded"] > 1 || logged[label] > 1:
			twice = append(twice, label)
		case o["succeeded"] == 0 && o["interrupted"] > 0:
			interrupted = append(interrupted, label)
		case o["succeeded"] == 1 && logged[label] != 1:
			t.Errorf("call %s succeeded and its echo ran %d times", label, logged[label])
		case o["succeeded"] == 0:
			t.Errorf("call %s has no succeeded or interrupted row: %v", label, o)
		}
	}
	mode := "asynchronous"
	if synchronous {
		mode = "synchronous"
		if len(missing) > 0 {
			t.Errorf("%d acknowledged calls are gone after the failover: %s", len(missing), strings.Join(missing[:min(10, len(missing))], ", "))
		}
		if len(twice) > 0 {
			t.Errorf("%d calls ran twice: %s", len(twice), strings.Join(twice[:min(10, len(twice))], ", "))
		}
	}
	if len(unavailable) == 0 {
		t.Errorf("no schedule request was sent and answered between the kill and the promotion")
	}
	for _, a := range unavailable {
		if a.status != http.StatusServiceUnavailable || a.retryAfter == "" {
			t.Errorf("a schedule request sent between the kill and the promotion was answered %d (Retry-After %q), want 503 with Retry-After", a.status, a.retryAfter)
			break
		}
	}
	for _, h := range hosts {
		if after := d.count("SELECT count(*) FROM future_call_history WHERE host = $1 AND started_at >= $2", h.id(), promoted); after == 0 {
			t.Errorf("host %s ran no call on the new primary", h.name)
		}
	}
	t.Logf("failover (%s replication): %d calls (%d scheduled before, %d acknowledged one by one, %d of them refused with 503 or unanswered); "+
		"unavailability window (kill to the first call run on the new primary) %s, %s after the promotion; %d acknowledged calls missing, %d run twice, %d interrupted; "+
		"%d requests sent and answered between the kill and the promotion",
		mode, len(all), n, len(acked), stream.refused(), window.Round(time.Millisecond), (window - promoted.Sub(killed)).Round(time.Millisecond),
		len(missing), len(twice), len(interrupted), len(unavailable))
}

// scheduleStream schedules probe.record calls one request at a time, alternating
// between hosts, and keeps every answer.
type scheduleStream struct {
	hosts []*host

	mu      sync.Mutex
	answers []streamAnswer
}

// streamAnswer is the answer to one schedule request of a scheduleStream.
type streamAnswer struct {
	sent, at   time.Time // when it was sent, and answered
	label      string
	status     int // 0 when no answer came
	retryAfter string
}

// run schedules until ctx ends, each call due a second after it is sent.
func (st *scheduleStream) run(ctx context.Context) {
	hc := &http.Client{Timeout: 10 * time.Second}
	for i := 0; ctx.Err() == nil; i++ {
		label := fmt.Sprintf("s%06d", i)
		due := time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano)
		body := `{"plugin": "probe", "method": "record", "args": {"label": "` + label + `"}, "at": "` + due + `"}`
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, st.hosts[i%len(st.hosts)].api+"/v1/calls", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		a := streamAnswer{label: label, sent: time.Now()}
		resp, err := hc.Do(req)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			a.status, a.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
			resp.Body.Close()
		}
		a.at = time.Now()
		st.mu.Lock()
		st.answers = append(st.answers, a)
		st.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
}

// acknowledged returns the labels of the calls scheduled with 201.
func (st *scheduleStream) acknowledged() []string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []string
	for _, a := range st.answers {
		if a.status == http.StatusCreated {
			out = append(out, a.label)
		}
	}
	return out
}

// acknowledgedSince counts the 201 answers after t.
func (st *scheduleStream) acknowledgedSince(t time.Time) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := 0
	for _, a := range st.answers {
		if a.status == http.StatusCreated && a.at.After(t) {
			n++
		}
	}
	return n
}

// sentBetween returns the answers to the requests sent after from and answered
// before to.
func (st *scheduleStream) sentBetween(from, to time.Time) []streamAnswer {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []streamAnswer
	for _, a := range st.answers {
		if a.sent.After(from) && a.at.Before(to) {
			out = append(out, a)
		}
	}
	return out
}

// refused counts the requests answered otherwise than 201, or not at all.
func (st *scheduleStream) refused() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := 0
	for _, a := range st.answers {
		if a.status != http.StatusCreated {
			n++
		}
	}
	return n
}
