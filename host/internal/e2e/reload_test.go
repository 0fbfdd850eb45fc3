package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/internal/testdb"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// pluginsDir makes a plugins directory holding copies (not links: the tests write over
// them) of the named test plugins, under the given file names.
func pluginsDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, plugin := range files {
		copyFile(t, testplugins.Path(t, plugin), filepath.Join(dir, name))
	}
	return dir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dropIn writes the test plugin's module to a hidden temporary file in dir and renames
// it to name, as deploy tools do: the file appears complete, at once.
func dropIn(t *testing.T, dir, name, plugin string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	copyFile(t, testplugins.Path(t, plugin), tmp)
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func ticks(n int, delay string) []abi.ScheduleRequest {
	reqs := make([]abi.ScheduleRequest, n)
	for i := range reqs {
		reqs[i] = abi.ScheduleRequest{Plugin: "ticker", Method: "tick", Args: json.RawMessage(fmt.Sprintf(`{"n": %d}`, i)), Delay: delay}
	}
	return reqs
}

// waitVersion waits until GET /v1/plugins/{name} shows version (or, for "", that the
// plugin is gone).
func waitVersion(t *testing.T, h *host, name, version string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("plugin %s at version %q", name, version), func() (bool, string) {
		p, err := h.client.Plugin(context.Background(), name)
		if version == "" {
			return err != nil, fmt.Sprintf("%+v, %v", p, err)
		}
		return err == nil && p.Version == version, fmt.Sprintf("%+v, %v", p, err)
	})
}

// versions counts the history rows of the ticker's method by plugin version.
func versions(d *database, method string) map[string]int {
	return d.groups(`SELECT plugin_version, count(*) FROM future_call_history WHERE plugin = 'ticker' AND method = $1 GROUP BY 1`, method)
}

// TestReloadUnderLoad swaps a compatible new version of a plugin in (a method added)
// while a steady stream of its calls runs: no call is lost or run twice, every call
// that started before the swap ran on the old version and every call that started after
// it on the new one, calls running at the swap finish on the old version, and the new
// method can be scheduled at once, without a restart.
func TestReloadUnderLoad(t *testing.T) {
	url := testdb.URL(t)
	d := openDatabase(t, url)
	s := newSuite(t)
	dir := pluginsDir(t, map[string]string{"ticker.wasm": "ticker"})
	h := s.start("host", hostOptions{db: url, plugins: dir, args: []string{"--futureCall.concurrencyLimit=32"}})

	// A steady stream: 20 calls every 50 ms (400 a second) for 8 seconds.
	const perBatch, every, batches = 20, 50 * time.Millisecond, 160
	var mu sync.Mutex
	var ids []int64
	var streamErr error
	streamed := make(chan struct{})
	go func() {
		defer close(streamed)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for range batches {
			<-tick.C
			calls, err := h.client.ScheduleBatch(context.Background(), ticks(perBatch, ""))
			mu.Lock()
			if err != nil {
				streamErr = err
				mu.Unlock()
				return
			}
			for _, c := range calls {
				ids = append(ids, c.ID)
			}
			mu.Unlock()
		}
	}()

	// Three seconds in, with slow calls running, the new version lands.
	time.Sleep(2500 * time.Millisecond)
	slow := scheduleAll(t, []*client.Client{h.client}, []abi.ScheduleRequest{
		{Plugin: "ticker", Method: "slow"}, {Plugin: "ticker", Method: "slow"}, {Plugin: "ticker", Method: "slow"}})
	waitFor(t, 10*time.Second, "the slow calls to start", func() (bool, string) {
		n := d.count("SELECT count(*) FROM future_call WHERE method = 'slow' AND claimed_by IS NOT NULL")
		return n == len(slow), fmt.Sprintf("%d running", n)
	})
	landed := time.Now()
	dropIn(t, dir, "ticker.wasm", "ticker_v2")
	waitVersion(t, h, "ticker", "2.0.0", 20*time.Second)
	serving := time.Now()
	tock, err := h.client.Schedule(context.Background(), abi.ScheduleRequest{Plugin: "ticker", Method: "tock"})
	if err != nil {
		t.Fatalf("schedule the new method tock: %v", err)
	}
	t.Logf("the new version served %s after its file landed", serving.Sub(landed).Round(time.Millisecond))
	if doc := openAPI(t, h); !strings.Contains(doc, "ticker.tock.") {
		t.Errorf("/openapi.json does not describe the new method tock after the swap")
	}

	<-streamed
	if streamErr != nil {
		t.Fatal(streamErr)
	}
	total := len(ids) + len(slow) + 1
	d.waitDrained(total, 2*time.Minute)

	// Nothing lost, nothing twice: one history row per call, every one succeeded.
	if n := d.count("SELECT count(*) FROM future_call_history"); n != total {
		t.Errorf("%d history rows, want %d (one per call)", n, total)
	}
	if n := d.count("SELECT count(DISTINCT call_id) FROM future_call_history WHERE outcome = 'succeeded' AND call_id = ANY($1)", ids); n != len(ids) {
		t.Errorf("%d of the %d streamed calls succeeded once", n, len(ids))
	}
	// The version each ran on: the swap's log line is written once it is done.
	swapped := h.waitLog("plugin swapped", time.Second)
	swapAt, err := time.Parse(time.RFC3339Nano, swapped.str("time"))
	if err != nil {
		t.Fatal(err)
	}
	if n := d.count(`SELECT count(*) FROM future_call_history WHERE plugin_version = '1.0.0' AND started_at > $1`, swapAt); n != 0 {
		t.Errorf("%d calls started after the swap ran on the old version", n)
	}
	if n := d.count(`SELECT count(*) FROM future_call_history WHERE plugin_version = '2.0.0' AND started_at < $1`, landed); n != 0 {
		t.Errorf("%d calls started before the new file landed ran on the new version", n)
	}
	if n := d.count(`SELECT count(*) FROM future_call_history WHERE plugin_version IS NULL`); n != 0 {
		t.Errorf("%d history rows without a plugin version", n)
	}
	if got := versions(d, "slow"); got["1.0.0"] != len(slow) {
		t.Errorf("the slow calls running during the swap ran on %v, want all %d on 1.0.0", got, len(slow))
	}
	if v := d.count("SELECT count(*) FROM future_call_history WHERE call_id = $1 AND plugin_version = '2.0.0' AND outcome = 'succeeded'", tock.ID); v != 1 {
		t.Errorf("tock did not run on 2.0.0")
	}
	_, metrics := send(t, h, "GET", "/metrics", "")
	for _, want := range []string{`futurecalls_plugin_info{plugin="ticker",version="2.0.0"} 1`, `futurecalls_plugin_reloads_total{result="swapped"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, `futurecalls_plugin_info{plugin="ticker",version="1.0.0"}`) {
		t.Errorf("/metrics still shows the old version running")
	}
	byVersion := versions(d, "tick")
	if byVersion["1.0.0"] == 0 || byVersion["2.0.0"] == 0 {
		t.Errorf("tick calls by version %v: want some on each", byVersion)
	}

	// The throughput around the swap: calls finished per second.
	perSecond := d.groups(`SELECT to_char(date_trunc('second', finished_at), 'HH24:MI:SS'), count(*) FROM future_call_history
		WHERE method = 'tick' GROUP BY 1`)
	var counts []int
	for _, n := range perSecond {
		counts = append(counts, n)
	}
	slices.Sort(counts)
	second := swapAt.UTC().Truncate(time.Second).Format("15:04:05")
	t.Logf("swap under load: %d tick calls (%v by version), %d slow calls on 1.0.0; %d calls/s in the second of the swap (%s), median %d calls/s",
		len(ids), byVersion, len(slow), perSecond[second], second, counts[len(counts)/2])
}

// TestReloadBreakingVersion drops in a version under which the stored calls break, under
// each onBreaking policy, and reloads with POST /v1/plugins/reload (the watch is off).
func TestReloadBreakingVersion(t *testing.T) {
	for _, policy := range []string{"refuse", "accept", "delete"} {
		t.Run(policy, func(t *testing.T) {
			url := testdb.URL(t)
			d := openDatabase(t, url)
			s := newSuite(t)
			dir := pluginsDir(t, map[string]string{"ticker.wasm": "ticker"})
			args := []string{"--plugins.reload.watch=false"}
			if policy != "refuse" { // refuse is the default
				args = append(args, "--plugins.reload.onBreaking="+policy)
			}
			h := s.start("host", hostOptions{db: url, plugins: dir, args: args})
			const n = 20
			stored := scheduleAll(t, []*client.Client{h.client}, ticks(n, "6s"))

			dropIn(t, dir, "ticker.wasm", "ticker_v3")
			res, err := h.client.ReloadPlugins(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("reload: %+v", res)
			p, err := h.client.Plugin(context.Background(), "ticker")
			if err != nil {
				t.Fatal(err)
			}
			switch policy {
			case "refuse":
				if len(res.Refused) != 1 || res.Refused[0].Broken != n || len(res.Swapped) != 0 {
					t.Fatalf("reload answered %+v, want the candidate refused with %d broken calls", res, n)
				}
				if p.Version != "1.0.0" || p.RefusedCandidate == nil || p.RefusedCandidate.Version != "3.0.0" ||
					!strings.Contains(p.RefusedCandidate.Reason, "tick: 20 (args_mismatch)") {
					t.Errorf("GET /v1/plugins/ticker = %+v (refused: %+v), want 1.0.0 running and 3.0.0 refused with its reason", p, p.RefusedCandidate)
				}
				refused := h.waitLog("plugin candidate refused", time.Second)
				if refused.str("broken.tick") != "20" || !strings.Contains(refused.str("reason"), "would break 20 stored calls") {
					t.Errorf("the refusal logged %v, want the reason and 20 broken tick calls", refused)
				}
				if got := d.count("SELECT count(*) FROM future_call WHERE plugin = 'ticker'"); got != n {
					t.Errorf("%d calls stored after the refusal, want all %d untouched", got, n)
				}
				d.waitDrained(n, time.Minute)
				if got := versions(d, "tick"); got["1.0.0"] != n {
					t.Errorf("the stored calls ran on %v, want all %d on the old version 1.0.0", got, n)
				}
				if got := d.count("SELECT count(*) FROM future_call_history WHERE outcome = 'succeeded'"); got != n {
					t.Errorf("%d of %d calls succeeded", got, n)
				}
			case "accept":
				if len(res.Swapped) != 1 || res.Swapped[0].Broken != n || res.Swapped[0].Deleted != 0 {
					t.Fatalf("reload answered %+v, want a swap with %d broken calls", res, n)
				}
				if p.Version != "3.0.0" || p.RefusedCandidate != nil {
					t.Errorf("GET /v1/plugins/ticker = %+v, want 3.0.0", p)
				}
				d.waitDrained(n, time.Minute)
				if got := d.groups("SELECT outcome || ' on ' || plugin_version, count(*) FROM future_call_history GROUP BY 1"); got["broken on 3.0.0"] != n {
					t.Errorf("history %v, want the %d calls broken on 3.0.0 when they came due", got, n)
				}
			case "delete":
				if len(res.Swapped) != 1 || res.Swapped[0].Broken != n || res.Swapped[0].Deleted != n {
					t.Fatalf("reload answered %+v, want a swap with %d broken calls deleted", res, n)
				}
				if got := d.count("SELECT count(*) FROM future_call"); got != 0 {
					t.Errorf("%d calls stored, want the broken ones deleted", got)
				}
				if got := d.count("SELECT count(*) FROM future_call_history WHERE outcome = 'deleted_broken' AND call_id = ANY($1)",
					callIDs(stored)); got != n {
					t.Errorf("%d calls deleted_broken in the history, want %d", got, n)
				}
			}
		})
	}
}

func callIDs(calls []client.Call) []int64 {
	ids := make([]int64, len(calls))
	for i, c := range calls {
		ids[i] = c.ID
	}
	return ids
}

// TestReloadFiles drives the watch with files as users and tools write them: a module
// copied in slowly, hidden and temporary files, garbage and a module importing a foreign
// function dropped over a working plugin, and a removed file. SIGHUP reloads when the
// watch is off.
func TestReloadFiles(t *testing.T) {
	url := testdb.URL(t)
	d := openDatabase(t, url)
	s := newSuite(t)
	dir := t.TempDir()
	h := s.start("host", hostOptions{db: url, plugins: dir, args: []string{"--plugins.reload.settle=300ms"}})

	// Hidden and temporary files are ignored.
	copyFile(t, testplugins.Path(t, "noop"), filepath.Join(dir, ".noop.wasm"))
	copyFile(t, testplugins.Path(t, "noop"), filepath.Join(dir, "noop.wasm.part"))
	copyFile(t, testplugins.Path(t, "noop"), filepath.Join(dir, ".noop.wasm.tmp"))

	// A plain copy, written slowly in chunks, is loaded once, complete.
	bin, err := os.ReadFile(testplugins.Path(t, "ticker"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "ticker.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := len(bin)/8 + 1
	for off := 0; off < len(bin); off += chunk {
		if _, err := f.Write(bin[off:min(off+chunk, len(bin))]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // under the settle time
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	waitVersion(t, h, "ticker", "1.0.0", 20*time.Second)
	if n := len(h.find("plugin added")); n != 1 {
		t.Errorf("the slow copy was added %d times, want once", n)
	}
	if failed := h.find("plugin candidate not loaded"); len(failed) != 0 {
		t.Errorf("a half-written file was loaded: %v", failed)
	}
	if _, err := h.client.Plugin(context.Background(), "noop"); err == nil {
		t.Errorf("a hidden or temporary file was loaded as plugin noop")
	}
	doc := openAPI(t, h)
	if !strings.Contains(doc, `"ticker"`) || !strings.Contains(doc, "tick") {
		t.Errorf("/openapi.json does not describe the added plugin ticker")
	}

	// Garbage, then a module importing a foreign function, over the working plugin:
	// it keeps running.
	for _, bad := range []string{"invalid", "foreign"} {
		before := len(h.find("plugin candidate not loaded"))
		dropIn(t, dir, "ticker.wasm", bad)
		waitFor(t, 20*time.Second, "the "+bad+" file to be refused", func() (bool, string) {
			return len(h.find("plugin candidate not loaded")) > before, "not yet"
		})
		call := scheduleAll(t, []*client.Client{h.client}, ticks(1, ""))[0]
		waitFor(t, 20*time.Second, "a tick call to run", func() (bool, string) {
			return d.count("SELECT count(*) FROM future_call_history WHERE call_id = $1", call.ID) == 1, "not yet"
		})
		if v := d.count("SELECT count(*) FROM future_call_history WHERE call_id = $1 AND plugin_version = '1.0.0' AND outcome = 'succeeded'", call.ID); v != 1 {
			t.Errorf("after %s was dropped over it, the working version did not run a call", bad)
		}
	}
	// Another plugin's module over the file: that plugin comes, ticker goes; and back.
	dropIn(t, dir, "ticker.wasm", "noop")
	waitVersion(t, h, "noop", "1", 20*time.Second)
	waitVersion(t, h, "ticker", "", 20*time.Second)
	dropIn(t, dir, "ticker.wasm", "ticker")
	waitVersion(t, h, "ticker", "1.0.0", 20*time.Second)
	waitVersion(t, h, "noop", "", 20*time.Second)

	// Removed: the calls stay stored and are reported.
	waiting := scheduleAll(t, []*client.Client{h.client}, ticks(5, "1h"))
	before := len(h.find("plugin removed"))
	if err := os.Remove(filepath.Join(dir, "ticker.wasm")); err != nil {
		t.Fatal(err)
	}
	waitVersion(t, h, "ticker", "", 20*time.Second)
	waitFor(t, 5*time.Second, "the removal to be logged", func() (bool, string) { return len(h.find("plugin removed")) > before, "not yet" })
	removed := h.find("plugin removed")[before]
	if removed.str("plugin") != "ticker" || removed.str("waiting") != "5" {
		t.Errorf("the removal reported %v, want 5 waiting calls", removed)
	}
	if n := d.count("SELECT count(*) FROM future_call WHERE id = ANY($1)", callIDs(waiting)); n != len(waiting) {
		t.Errorf("%d of the %d calls of the removed plugin are still stored", n, len(waiting))
	}

	// SIGHUP, with the watch off.
	off := s.start("sighup", hostOptions{db: url, plugins: t.TempDir(), args: []string{"--plugins.reload.watch=false"}})
	offDir := off.pluginsDir(t)
	dropIn(t, offDir, "ticker.wasm", "ticker")
	time.Sleep(time.Second)
	if _, err := off.client.Plugin(context.Background(), "ticker"); err == nil {
		t.Fatalf("the watch is off, yet the plugin was loaded without a signal")
	}
	off.signal(syscall.SIGHUP)
	waitVersion(t, off, "ticker", "1.0.0", 20*time.Second)
}

// pluginsDir returns the plugins directory the host was started with.
func (h *host) pluginsDir(t *testing.T) string {
	t.Helper()
	for _, a := range h.cmd.Args {
		if dir, ok := strings.CutPrefix(a, "--plugins.dir="); ok {
			return dir
		}
	}
	t.Fatal("no --plugins.dir")
	return ""
}

func openAPI(t *testing.T, h *host) string {
	t.Helper()
	code, body := send(t, h, "GET", "/openapi.json", "")
	if code != 200 {
		t.Fatalf("GET /openapi.json: %d", code)
	}
	return body
}

// TestReloadMovesClaims: two hosts share a database, each with its own plugins
// directory. A host claims only the calls of plugins it has loaded, across reloads:
// once the plugin moves from one host's directory to the other's, its calls run on the
// other host.
func TestReloadMovesClaims(t *testing.T) {
	url := testdb.URL(t)
	d := openDatabase(t, url)
	s := newSuite(t)
	dirA := pluginsDir(t, map[string]string{"ticker.wasm": "ticker"})
	dirB := pluginsDir(t, map[string]string{"noop.wasm": "noop"})
	a := s.start("a", hostOptions{db: url, plugins: dirA})
	b := s.start("b", hostOptions{db: url, plugins: dirB})

	first := scheduleAll(t, []*client.Client{a.client}, ticks(50, ""))
	waitFor(t, 30*time.Second, "the first calls to run", func() (bool, string) {
		n := d.count("SELECT count(*) FROM future_call_history WHERE call_id = ANY($1)", callIDs(first))
		return n == len(first), fmt.Sprintf("%d of %d", n, len(first))
	})

	// The plugin moves: b gets it, then a loses it.
	dropIn(t, dirB, "ticker.wasm", "ticker")
	waitVersion(t, b, "ticker", "1.0.0", 20*time.Second)
	if err := os.Remove(filepath.Join(dirA, "ticker.wasm")); err != nil {
		t.Fatal(err)
	}
	waitVersion(t, a, "ticker", "", 20*time.Second)
	second := scheduleAll(t, []*client.Client{b.client}, ticks(50, "1s"))
	waitFor(t, 30*time.Second, "the second calls to run", func() (bool, string) {
		n := d.count("SELECT count(*) FROM future_call_history WHERE call_id = ANY($1)", callIDs(second))
		return n == len(second), fmt.Sprintf("%d of %d", n, len(second))
	})
	ran := d.groups("SELECT host, count(*) FROM future_call_history WHERE call_id = ANY($1) AND outcome = 'succeeded' GROUP BY 1", callIDs(first))
	if ran[a.id()] != len(first) {
		t.Errorf("the first calls ran on %v, want all %d on a", ran, len(first))
	}
	ran = d.groups("SELECT host, count(*) FROM future_call_history WHERE call_id = ANY($1) AND outcome = 'succeeded' GROUP BY 1", callIDs(second))
	if ran[b.id()] != len(second) {
		t.Errorf("the calls scheduled after the move ran on %v, want all %d on b", ran, len(second))
	}
}

// TestReloadSaturated swaps a version in while the executor drains a backlog as fast
// as it can: nothing is lost or run twice, and the calls per second in the second of
// the swap are logged next to the median second.
func TestReloadSaturated(t *testing.T) {
	url := testdb.URL(t)
	d := openDatabase(t, url)
	s := newSuite(t)
	dir := pluginsDir(t, map[string]string{"ticker.wasm": "ticker"})
	h := s.start("host", hostOptions{db: url, plugins: dir, args: []string{"--futureCall.concurrencyLimit=64"}})
	n := scale(20000, 100000)
	calls := scheduleAll(t, []*client.Client{h.client}, ticks(n, "3s"))
	waitFor(t, time.Minute, "a third of the backlog to run", func() (bool, string) {
		done := d.count("SELECT count(*) FROM future_call_history")
		return done >= n/3, fmt.Sprintf("%d of %d", done, n)
	})
	landed := time.Now()
	dropIn(t, dir, "ticker.wasm", "ticker_v2")
	waitVersion(t, h, "ticker", "2.0.0", 20*time.Second)
	t.Logf("the new version served %s after its file landed", time.Since(landed).Round(time.Millisecond))
	d.waitDrained(n, 2*time.Minute)

	if got := d.count("SELECT count(DISTINCT call_id) FROM future_call_history WHERE outcome = 'succeeded' AND call_id = ANY($1)", callIDs(calls)); got != n {
		t.Errorf("%d of %d calls succeeded", got, n)
	}
	if got := d.count("SELECT count(*) FROM future_call_history"); got != n {
		t.Errorf("%d history rows, want %d: one per call", got, n)
	}
	swapped := h.waitLog("plugin swapped", time.Second)
	swapAt, err := time.Parse(time.RFC3339Nano, swapped.str("time"))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.count(`SELECT count(*) FROM future_call_history WHERE plugin_version = '1.0.0' AND started_at > $1`, swapAt); got != 0 {
		t.Errorf("%d calls started after the swap ran on the old version", got)
	}
	byVersion := versions(d, "tick")
	// Calls finished per second, but for the first and the last (partial) seconds.
	perSecond := d.groups(`WITH s AS (SELECT date_trunc('second', finished_at) AS s, count(*) AS n FROM future_call_history GROUP BY 1)
		SELECT to_char(s, 'HH24:MI:SS'), n FROM s WHERE s > (SELECT min(s) FROM s) AND s < (SELECT max(s) FROM s)`)
	var counts []int
	for _, c := range perSecond {
		counts = append(counts, c)
	}
	slices.Sort(counts)
	median := 0
	if len(counts) > 0 {
		median = counts[len(counts)/2]
	}
	second := swapAt.UTC().Truncate(time.Second).Format("15:04:05")
	t.Logf("swap while draining %d calls (%v by version): %d calls/s in the second of the swap (%s), median %d calls/s over %d full seconds %v",
		n, byVersion, perSecond[second], second, median, len(counts), perSecond)
}
