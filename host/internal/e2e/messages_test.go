package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// TestCrashWhilePublishing kills, with SIGKILL, one of two hosts while they run calls
// that publish messages (probe.publish, fc.publish) to three subscribers (gallery in C,
// probe in Go, thumbs in WAT) and run their deliveries. A publishing call that
// succeeded published its message exactly once, with its three deliveries; one the
// victim was running when it died published nothing; and every delivery runs exactly
// once, the victim's interrupted ones included, as they ask for retries.
func TestCrashWhilePublishing(t *testing.T) {
	n := scale(600, 6_000)
	url := testdb.URL(t)
	d := openDatabase(t, url)
	s := newSuite(t)
	plugins := testplugins.DirWith(t, testplugins.Path(t, "probe"), testplugins.Path(t, "thumbs"), testplugins.Path(t, "gallery"))
	opts := hostOptions{db: url, plugins: plugins, args: []string{"--sandbox.timeout=10s", "--futureCall.claimLeaseMargin=1s",
		"--sandbox.retry.maxAttempts=3", "--sandbox.retry.backoff=100ms"}}
	hosts := []*host{s.start("victim", opts), s.start("survivor", opts)}
	victimID := hosts[0].id()

	reqs := make([]abi.ScheduleRequest, n)
	for i := range reqs {
		msg := fmt.Sprintf(`{"topic": "image.uploaded", "payload": {"imageId": %d, "path": "in/%d.png"}, "identifier": "m%d"}`, i, i, i)
		// One attempt: a publisher the victim was running stays interrupted, and must
		// have published nothing.
		reqs[i] = abi.ScheduleRequest{Plugin: "probe", Method: "publish", Args: json.RawMessage(`{"request": ` + msg + `}`),
			Identifier: fmt.Sprintf("p%d", i), Retry: &abi.RetryPolicy{MaxAttempts: 1}}
	}
	if _, err := schedule([]*client.Client{hosts[0].client, hosts[1].client}, reqs); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, "the victim to run deliveries and publishers", func() (bool, string) {
		ran := d.groups("SELECT host, count(*) FROM future_call_history GROUP BY 1")
		return ran[victimID] > n/4, fmt.Sprintf("calls run per host: %v", ran)
	})
	hosts[0].signal(syscall.SIGKILL)
	if code := hosts[0].wait(10 * time.Second); code != -1 || !strings.Contains(hosts[0].state.String(), "killed") {
		t.Fatalf("victim exited with %v, want killed", hosts[0].state)
	}
	// Every publisher finishes, and every delivery of every message.
	waitFor(t, 3*time.Minute, "publishers and deliveries to finish", func() (bool, string) {
		publishers := d.count("SELECT count(DISTINCT call_id) FROM future_call_history WHERE method = 'publish'")
		waiting := d.count("SELECT count(*) FROM future_call")
		return publishers == n && waiting == 0, fmt.Sprintf("%d of %d publishers finished, %d calls stored", publishers, n, waiting)
	})

	succeeded := d.count("SELECT count(*) FROM future_call_history WHERE method = 'publish' AND outcome = 'succeeded'")
	interrupted := d.count("SELECT count(*) FROM future_call_history WHERE method = 'publish' AND outcome = 'interrupted'")
	if succeeded+interrupted != n {
		t.Errorf("publishers: %d succeeded, %d interrupted, want %d in all", succeeded, interrupted, n)
	}
	// A message per successful publisher, none for an interrupted one.
	if bad := d.count(`SELECT count(*) FROM future_call_history h
		WHERE h.method = 'publish' AND (SELECT count(*) FROM message m WHERE m.identifier = 'm' || substr(h.identifier, 2))
			<> CASE WHEN h.outcome = 'succeeded' THEN 1 ELSE 0 END`); bad != 0 {
		t.Errorf("%d publishers whose messages do not match their outcome (one message if it succeeded, none otherwise)", bad)
	}
	if m := d.count("SELECT count(*) FROM message"); m != succeeded {
		t.Errorf("%d messages, want %d", m, succeeded)
	}
	// Three deliveries per message, each succeeded exactly once.
	if bad := d.count(`SELECT count(*) FROM message m WHERE (SELECT count(*) FROM message_delivery d WHERE d.message_id = m.id) <> 3`); bad != 0 {
		t.Errorf("%d messages without exactly three deliveries", bad)
	}
	if bad := d.count(`SELECT count(*) FROM message_delivery d
		WHERE (SELECT count(*) FROM future_call_history h WHERE h.call_id = d.call_id AND h.outcome = 'succeeded') <> 1`); bad != 0 {
		t.Errorf("%d deliveries that did not succeed exactly once", bad)
	}
	interruptedDeliveries := d.count(`SELECT count(*) FROM future_call_history h JOIN message_delivery d ON d.call_id = h.call_id
		WHERE h.outcome = 'interrupted'`)
	t.Logf("killed a host mid-run: %d publishers succeeded (one message and three deliveries each), %d interrupted (no message); "+
		"%d deliveries interrupted and run again; every delivery succeeded once", succeeded, interrupted, interruptedDeliveries)
}
