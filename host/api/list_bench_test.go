package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/futurecalls/futurecalls/host/store"
)

// BenchmarkListCalls measures GET /v1/calls over 2000 ordinary calls (arguments of 40
// bytes), one page of 100 (the default) and of 1000 rows per operation, and, as the
// baseline of the same run, GET /healthz, a request that does no database work.
func BenchmarkListCalls(b *testing.B) {
	e := newEnv(b)
	calls := make([]store.NewCall, 2000)
	at := time.Now().Add(time.Hour)
	for i := range calls {
		calls[i] = store.NewCall{Plugin: "example", Method: "doOtherWork", RunAt: at.Add(time.Duration(i) * time.Second),
			Args: json.RawMessage(fmt.Sprintf(`{"data": "ordinary argument number %06d"}`, i))}
	}
	if _, err := e.store.ScheduleBatch(ctx, calls); err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{"/healthz", "/v1/calls", "/v1/calls?limit=1000"} {
		b.Run(path, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if resp, body := e.do(b, http.MethodGet, path, ""); resp.StatusCode != http.StatusOK {
					b.Fatalf("%d %s", resp.StatusCode, body)
				}
			}
		})
	}
}
