package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/api"
	"github.com/futurecalls/futurecalls/host/request"
	"github.com/futurecalls/futurecalls/host/store"
	"github.com/futurecalls/futurecalls/sdk/client"
)

// TestListsBoundedInBytes lists 100 calls with arguments of 1 MiB each, asking for
// 1000 per page, then their 100 history entries: every page must stop at the byte
// budget with a cursor, the process must allocate no more for one page than a few
// budgets (not the table's 100 MiB: before pages had a byte budget, one page of 150
// such calls allocated 1030 MiB), and following the cursors must return every row
// exactly once. It is not parallel: it measures the process's allocations.
func TestListsBoundedInBytes(t *testing.T) {
	e := newEnv(t)
	const rows = 100
	big := `{"data": "` + strings.Repeat("x", request.MaxArgsBytes-20) + `"}`
	past := time.Now().Add(-time.Minute).UTC()
	want := map[int64]bool{}
	for range rows / 10 {
		batch := make([]store.NewCall, 10)
		for i := range batch {
			batch[i] = store.NewCall{Plugin: "example", Method: "doOtherWork", Args: json.RawMessage(big), RunAt: past}
		}
		stored, err := e.store.ScheduleBatch(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range stored {
			want[c.ID] = true
		}
	}
	const tableBytes = rows * request.MaxArgsBytes

	// allocBound is what one page may cost the process (server and test client
	// together): a page of DefaultPageBytes is read from PostgreSQL, encoded, sent and
	// read back, each step holding a copy (10 to 19 MiB were measured for pages of
	// 3 MiB, up to 34 MiB under the race detector).
	const allocBound = 12 * store.DefaultPageBytes
	if allocBound >= tableBytes/2 {
		t.Fatalf("the bound %d would not tell a page from the table (%d bytes)", allocBound, tableBytes)
	}

	// pages follows nextCursor through path and returns the ids of every row, checking
	// each page's size and what the process allocated to serve and read it.
	pages := func(path string, ids func(body []byte) ([]int64, string)) []int64 {
		t.Helper()
		var all []int64
		cursor := ""
		for n := 0; ; n++ {
			url := path
			if cursor != "" {
				url += "&cursor=" + cursor
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			resp, body := e.do(t, http.MethodGet, url, "")
			runtime.ReadMemStats(&after)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > allocBound {
				t.Fatalf("GET %s allocated %d MiB for a page of %d KiB, more than the bound of %d MiB",
					url, alloc>>20, len(body)>>10, allocBound>>20)
			}
			if len(body) > store.DefaultPageBytes+64<<10 {
				t.Fatalf("GET %s answered %d bytes, more than the page budget of %d", url, len(body), store.DefaultPageBytes)
			}
			page, next := ids(body)
			if len(page) == 0 {
				t.Fatalf("GET %s: an empty page", url)
			}
			all = append(all, page...)
			if next == "" {
				return all
			}
			if n > rows {
				t.Fatalf("more pages than rows after GET %s", url)
			}
			cursor = next
		}
	}
	exactlyOnce := func(what string, got []int64) {
		t.Helper()
		seen := map[int64]bool{}
		for _, id := range got {
			if !want[id] || seen[id] {
				t.Fatalf("%s: id %d unexpected or repeated (got %d ids)", what, id, len(got))
			}
			seen[id] = true
		}
		if len(seen) != len(want) {
			t.Fatalf("%s: %d rows, want %d", what, len(seen), len(want))
		}
	}

	calls := pages("/v1/calls?limit=1000", func(body []byte) ([]int64, string) {
		var p client.CallPage
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, c := range p.Calls {
			ids = append(ids, c.ID)
		}
		return ids, p.NextCursor
	})
	exactlyOnce("GET /v1/calls", calls)

	e.runDue(t, abi.OutcomeSucceeded)
	// The history's default page (100 rows) is bounded too, and its entries carry their
	// call's id.
	history := pages("/v1/history?plugin=example", func(body []byte) ([]int64, string) {
		var p client.HistoryPage
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, h := range p.Entries {
			ids = append(ids, h.CallID)
		}
		return ids, p.NextCursor
	})
	exactlyOnce("GET /v1/history", history)
}

// TestPageBytesOption: with a small api.pageBytes, pages of calls end at it (a call
// larger than the whole budget comes alone), and the cursors still return every call
// exactly once, in order.
func TestPageBytesOption(t *testing.T) {
	t.Parallel()
	const budget = 32 << 10
	e := newEnv(t, func(o *api.Options) { o.PageBytes = budget })
	var want []int64
	for i, size := range []int{12 << 10, 12 << 10, 12 << 10, 40 << 10, 1, 1, 20 << 10, 12 << 10} {
		c, err := e.client.Schedule(ctx, abi.ScheduleRequest{Plugin: "example", Method: "doOtherWork",
			Delay: fmt.Sprintf("%dh", i+1), Args: args(t, map[string]any{"data": strings.Repeat("x", size)})})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, c.ID)
	}
	var pages [][]int64
	cursor := ""
	for {
		page, err := e.client.List(ctx, client.ListOptions{Limit: 1000, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, c := range page.Calls {
			ids = append(ids, c.ID)
		}
		pages = append(pages, ids)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	// 12+12 KiB fit 32 KiB with the rows' overhead, a third does not; 40 KiB comes
	// alone; then 1 B, 1 B and 20 KiB, then 12 KiB.
	wantPages := [][]int64{want[0:2], want[2:3], want[3:4], want[4:7], want[7:8]}
	if fmt.Sprint(pages) != fmt.Sprint(wantPages) {
		t.Fatalf("pages %v, want %v", pages, wantPages)
	}
	var all []int64
	for c, err := range e.client.ListAll(ctx, client.ListOptions{Limit: 1000}) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, c.ID)
	}
	if !slices.Equal(all, want) {
		t.Fatalf("ListAll returned %v, want %v", all, want)
	}
}
