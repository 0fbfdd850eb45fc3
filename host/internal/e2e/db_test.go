package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// database reads a test database directly, to check what the hosts stored.
type database struct {
	t    testing.TB
	pool *pgxpool.Pool
}

// openDatabase connects to url; the pool is closed when the test ends.
func openDatabase(t testing.TB, url string) *database {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &database{t: t, pool: pool}
}

// count runs a query returning one integer.
func (d *database) count(sql string, args ...any) int {
	d.t.Helper()
	var n int
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := d.pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		d.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// tryCount is count that returns the error instead of failing the test (for polling
// while the database may be away).
func (d *database) tryCount(sql string, args ...any) (int, error) {
	var n int
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := d.pool.QueryRow(ctx, sql, args...).Scan(&n)
	return n, err
}

// groups runs a query returning (text, integer) rows, as a map.
func (d *database) groups(sql string, args ...any) map[string]int {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := d.pool.Query(ctx, sql, args...)
	if err != nil {
		d.t.Fatalf("%s: %v", sql, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k *string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			d.t.Fatal(err)
		}
		key := ""
		if k != nil {
			key = *k
		}
		out[key] += n
	}
	if err := rows.Err(); err != nil {
		d.t.Fatal(err)
	}
	return out
}

// historyRow is one row of future_call_history, as the tests look at it.
type historyRow struct {
	CallID int64
	Method string
	// Label is the label of a probe.record call, the text of a probe.echo call.
	Label      string
	Identifier string
	Attempt    int
	Outcome    string
	Error      string
	Host       string
	Retried    bool
	FinishedAt time.Time
}

// history returns the history rows matching where (a SQL condition on
// future_call_history), oldest first.
func (d *database) history(where string, args ...any) []historyRow {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rows, err := d.pool.Query(ctx, `SELECT call_id, method, coalesce(args->>'label', args->>'text', ''), coalesce(identifier, ''), attempt, outcome,
		coalesce(error, ''), host, retry_at IS NOT NULL, finished_at
		FROM future_call_history WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		d.t.Fatalf("history where %s: %v", where, err)
	}
	defer rows.Close()
	var out []historyRow
	for rows.Next() {
		var r historyRow
		if err := rows.Scan(&r.CallID, &r.Method, &r.Label, &r.Identifier, &r.Attempt, &r.Outcome, &r.Error, &r.Host, &r.Retried, &r.FinishedAt); err != nil {
			d.t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		d.t.Fatal(err)
	}
	return out
}

// waitDrained waits until no call is stored any more and the history holds at least
// want rows, logging progress every ten seconds.
func (d *database) waitDrained(want int, timeout time.Duration) {
	d.t.Helper()
	last := time.Now()
	waitFor(d.t, timeout, fmt.Sprintf("every call to run (%d history rows)", want), func() (bool, string) {
		stored, err1 := d.tryCount("SELECT count(*) FROM future_call")
		done, err2 := d.tryCount("SELECT count(*) FROM future_call_history")
		status := fmt.Sprintf("%d calls stored, %d history rows (errors: %v, %v)", stored, done, err1, err2)
		if time.Since(last) > 10*time.Second {
			d.t.Logf("progress: %s", status)
			last = time.Now()
		}
		return err1 == nil && err2 == nil && stored == 0 && done >= want, status
	})
}

// waitRan waits until the history holds at least want probe.record rows, while the
// database may be away now and then.
func (d *database) waitRan(want int, timeout time.Duration) {
	d.t.Helper()
	waitFor(d.t, timeout, fmt.Sprintf("%d record calls to run", want), func() (bool, string) {
		done, err := d.tryCount("SELECT count(*) FROM future_call_history WHERE method = 'record'")
		return err == nil && done >= want, fmt.Sprintf("%d record calls run (error: %v)", done, err)
	})
}

// tally is what the exactly-once check found.
type tally struct {
	// calls is how many record calls were scheduled.
	calls int
	// ran counts the labels whose echo ran exactly once.
	ran int
	// duplicates counts the extra runs: a label echoed twice counts 1.
	duplicates int
	// lost counts the labels never echoed.
	lost int
}

func (t tally) String() string {
	return fmt.Sprintf("%d calls: %d ran exactly once, %d duplicates, %d lost", t.calls, t.ran, t.duplicates, t.lost)
}

// echoes counts, per label, the "echo: <label>" lines the probe plugin logged in the
// hosts' logs: the plugin's own account of what ran.
func echoes(hosts ...*host) map[string]int {
	seen := map[string]int{}
	for _, h := range hosts {
		for _, l := range h.lines() {
			if label, ok := strings.CutPrefix(l.str("msg"), "echo: "); ok && l.str("plugin") == "probe" {
				seen[label]++
			}
		}
	}
	return seen
}

// checkExactlyOnce checks that each label's probe.record call ran once, from three
// accounts: the echo lines the plugin logged (each label exactly once across every
// host), the follow-up echo calls the record calls scheduled (one succeeded echo per
// label in the history, under identifier probe-<label>), and the record calls' own
// history rows (one succeeded row each). except lists labels to leave out (calls a
// killed host held); it returns the figures.
func checkExactlyOnce(t *testing.T, d *database, labels []string, except map[string]bool, hosts ...*host) tally {
	t.Helper()
	logged := echoes(hosts...)
	recorded := d.groups(`SELECT args->>'label', count(*) FROM future_call_history
		WHERE plugin = 'probe' AND method = 'record' AND outcome = 'succeeded' GROUP BY 1`)
	echoed := d.groups(`SELECT substr(identifier, 7), count(*) FROM future_call_history
		WHERE plugin = 'probe' AND method = 'echo' AND outcome = 'succeeded' AND identifier LIKE 'probe-%' GROUP BY 1`)
	res := tally{}
	var problems []string
	for _, label := range labels {
		if except[label] {
			continue
		}
		res.calls++
		n := logged[label]
		switch {
		case n == 0:
			res.lost++
		case n > 1:
			res.duplicates += n - 1
		default:
			res.ran++
		}
		if n != 1 || recorded[label] != 1 || echoed[label] != 1 {
			problems = append(problems, fmt.Sprintf("%s: echoed %d times in the logs, %d succeeded record rows, %d succeeded echo rows",
				label, n, recorded[label], echoed[label]))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		t.Errorf("%d calls did not run exactly once (%s); the first:\n%s", len(problems), res,
			strings.Join(problems[:min(20, len(problems))], "\n"))
	}
	if stored := d.count("SELECT count(*) FROM future_call"); stored != 0 {
		t.Errorf("%d calls are still stored", stored)
	}
	return res
}
