package plugin

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/futurecalls/futurecalls/abi"
	"github.com/futurecalls/futurecalls/host/egress"
	"github.com/futurecalls/futurecalls/host/internal/testplugins"
)

// benchPlugin loads one plugin file for a benchmark.
func benchPlugin(b *testing.B, file string, limits Limits, opts options) *Plugin {
	b.Helper()
	cfg := Config{Dir: testplugins.DirWith(b, file), CacheDir: testplugins.CacheDir(b), Defaults: limits}
	reg, err := load(context.Background(), cfg, slog.New(slog.DiscardHandler), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = reg.Close(context.Background()) })
	if len(reg.Plugins()) != 1 {
		b.Fatalf("problems: %v", reg.Problems())
	}
	return reg.Plugins()[0]
}

func reportCalls(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/call")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkInvoke measures one call end to end (validation, envelope, instance, guest,
// result) on a warm pooled instance and on a fresh instance per call, for the Go example
// plugin (the Go runtime starts in every new instance), the benchmarks' Go and C no-ops
// (bench/plugins) and a WAT no-op.
//
//	make bench/build/benchgo.wasm bench/build/benchc.wasm
//	go test -run XXX -bench Invoke ./host/plugin
func BenchmarkInvoke(b *testing.B) {
	cases := []struct {
		name, method, args string
		file               func(testing.TB) string
	}{
		{"go-example", "doOtherWork", `{"data": "1"}`, func(t testing.TB) string { return testplugins.Example(t, "example") }},
		{"go-noop", "noop", `{}`, func(t testing.TB) string { return testplugins.Bench(t, "benchgo") }},
		{"c-noop", "noop", `{}`, func(t testing.TB) string { return testplugins.Bench(t, "benchc") }},
		{"wat-noop", "noop", `{}`, func(t testing.TB) string { return testplugins.Path(t, "noop") }},
	}
	for _, c := range cases {
		for _, fresh := range []bool{false, true} {
			mode := "pooled"
			if fresh {
				mode = "fresh"
			}
			b.Run(c.name+"/"+mode, func(b *testing.B) {
				p := benchPlugin(b, c.file(b), Limits{Fresh: fresh}, options{})
				env := abi.Envelope{Method: c.method, Args: json.RawMessage(c.args), Call: abi.CallInfo{ID: 1, Plugin: p.Name}}
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if err := p.Invoke(ctx, env, nil, nil); err != nil {
						b.Fatal(err)
					}
				}
				reportCalls(b)
			})
		}
	}
}

// BenchmarkInvokeParallel measures pooled calls from every core at once: the pool grows
// to one instance per concurrent call.
//
//	go test -run XXX -bench InvokeParallel ./host/plugin
func BenchmarkInvokeParallel(b *testing.B) {
	p := benchPlugin(b, testplugins.Example(b, "example"), Limits{}, options{})
	env := abi.Envelope{Method: "doOtherWork", Args: json.RawMessage(`{"data": "1"}`), Call: abi.CallInfo{ID: 1, Plugin: p.Name}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := p.Invoke(context.Background(), env, nil, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportCalls(b)
}

// BenchmarkTimeLimit measures what enforcing the time limit costs, in the same run: the
// instrumentation's checks (loopcheck.go, what the host uses) against wazero's
// WithCloseOnContextDone (which the checks then run beside), and against no check at all
// (uninstrumented: no time limit), for a tight loop (10 million iterations of an add and
// a compare per call) and a pooled call of the Go example plugin.
//
//	go test -run XXX -bench TimeLimit -count 5 ./host/plugin
func BenchmarkTimeLimit(b *testing.B) {
	const iterations = 10_000_000
	cases := []struct {
		name, method, args string
		file               func(testing.TB) string
		perIteration       bool
	}{
		{"tightloop", "run", `{}`, func(t testing.TB) string { return testplugins.Path(t, "tightloop") }, true},
		{"go-example", "doOtherWork", `{"data": "1"}`, func(t testing.TB) string { return testplugins.Example(t, "example") }, false},
	}
	modes := []struct {
		name string
		opts options
	}{
		{"none", options{uninstrumented: true}},
		{"checks", options{}},
		{"close-on-done", options{closeOnDone: true}},
	}
	for _, c := range cases {
		for _, mode := range modes {
			b.Run(c.name+"/"+mode.name, func(b *testing.B) {
				p := benchPlugin(b, c.file(b), Limits{}, mode.opts)
				env := abi.Envelope{Method: c.method, Args: json.RawMessage(c.args), Call: abi.CallInfo{ID: 1, Plugin: p.Name}}
				for b.Loop() {
					if err := p.Invoke(context.Background(), env, nil, nil); err != nil {
						b.Fatal(err)
					}
				}
				if c.perIteration {
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/iterations, "ns/iteration")
				} else {
					reportCalls(b)
				}
			})
		}
	}
}

// BenchmarkRecycle measures what "never pool an instance with more memory than a fresh
// one" would cost Go plugins, whose runtime grows the memory now and then during
// ordinary calls: with the threshold at a fresh instance's size, such an instance is
// discarded and the next call instantiates anew. Baseline: the threshold at half the
// memory limit; the default is twice a fresh instance's size.
//
//	go test -run XXX -bench Recycle ./host/plugin
func BenchmarkRecycle(b *testing.B) {
	cases := []struct{ plugin, method, args string }{
		{"example", "doOtherWork", `{"data": "1"}`},
		{"drip", "welcome", `{"signup": {"userId": 42, "email": "ada@example.com", "plan": "pro"}}`},
	}
	for _, c := range cases {
		for _, threshold := range []string{"half-limit", "fresh-size", "twice-fresh"} {
			b.Run(c.plugin+"/"+threshold, func(b *testing.B) {
				p := benchPlugin(b, testplugins.Example(b, c.plugin), Limits{}, options{})
				switch threshold {
				case "half-limit":
					p.Limits.RecycleAbove = p.Limits.MemoryLimit / 2
				case "fresh-size":
					p.Limits.RecycleAbove = int64(p.pool.idle[0].mem.Size())
				case "twice-fresh":
					p.Limits.RecycleAbove = 2 * int64(p.pool.idle[0].mem.Size())
				}
				env := abi.Envelope{Method: c.method, Args: json.RawMessage(c.args), Call: abi.CallInfo{ID: 1, Plugin: p.Name}}
				discarded := 0
				for b.Loop() {
					if err := p.Invoke(context.Background(), env, acceptAll{}, nil); err != nil {
						b.Fatal(err)
					}
					if p.pool.size() == 0 {
						discarded++
					}
				}
				reportCalls(b)
				b.ReportMetric(float64(discarded)/float64(b.N)*100, "%discarded")
			})
		}
	}
}

// acceptAll is a HostCalls that accepts every request and keeps none.
type acceptAll struct{}

func (acceptAll) Schedule(context.Context, []byte) error                 { return nil }
func (acceptAll) Cancel(context.Context, string) (int64, error)          { return 0, nil }
func (acceptAll) StateGet(context.Context, string) ([]byte, bool, error) { return nil, false, nil }
func (acceptAll) StatePut(context.Context, string, []byte) error         { return nil }
func (acceptAll) StateDelete(context.Context, string) error              { return nil }

// BenchmarkLinearMemory measures linearMemory (reserved address space, grown in place,
// unmapped on close) against wazero's default (a Go slice grown by append) where it
// costs most: a fresh instance per call (the Go example's runtime grows its memory to
// about 3.4 MiB while starting), and a guest growing its memory page by page to 64 MiB
// and writing into every page (membomb's fill, on a fresh instance).
//
//	go test -run XXX -bench LinearMemory ./host/plugin
func BenchmarkLinearMemory(b *testing.B) {
	cases := []struct {
		name, method, args string
		file               func(testing.TB) string
	}{
		{"go-example-fresh", "doOtherWork", `{"data": "1"}`, func(t testing.TB) string { return testplugins.Example(t, "example") }},
		{"wat-noop-fresh", "noop", `{}`, func(t testing.TB) string { return testplugins.Path(t, "noop") }},
		{"membomb-fill", "fill", `{}`, func(t testing.TB) string { return testplugins.Path(t, "membomb") }},
	}
	for _, c := range cases {
		for _, goHeap := range []bool{true, false} {
			memory := "mmap"
			if goHeap {
				memory = "go-heap"
			}
			b.Run(c.name+"/"+memory, func(b *testing.B) {
				p := benchPlugin(b, c.file(b), Limits{Fresh: true}, options{goHeap: goHeap})
				env := abi.Envelope{Method: c.method, Args: json.RawMessage(c.args), Call: abi.CallInfo{ID: 1, Plugin: p.Name}}
				for b.Loop() {
					if err := p.Invoke(context.Background(), env, nil, nil); err != nil {
						b.Fatal(err)
					}
				}
				reportCalls(b)
			})
		}
	}
}

// BenchmarkInstrumentation measures what the instrumentation (instrument.go) costs per
// call, against the same module uninstrumented in the same run: a call-heavy WAT call
// (recurse.shallow: 100 nested calls) and the Go example plugin, on warm instances.
//
//	go test -run XXX -bench Instrumentation ./host/plugin
func BenchmarkInstrumentation(b *testing.B) {
	cases := []struct {
		name, method, args string
		file               func(testing.TB) string
	}{
		{"wat-calls", "shallow", `{}`, func(t testing.TB) string { return testplugins.Path(t, "recurse") }},
		{"go-example", "doOtherWork", `{"data": "1"}`, func(t testing.TB) string { return testplugins.Example(t, "example") }},
	}
	for _, c := range cases {
		for _, mode := range []string{"uninstrumented", "instrumented"} {
			b.Run(c.name+"/"+mode, func(b *testing.B) {
				p := benchPlugin(b, c.file(b), Limits{}, options{uninstrumented: mode == "uninstrumented"})
				env := abi.Envelope{Method: c.method, Args: json.RawMessage(c.args)}
				b.ReportAllocs()
				for b.Loop() {
					if err := p.Invoke(context.Background(), env, nil, nil); err != nil {
						b.Fatal(err)
					}
				}
				reportCalls(b)
			})
		}
	}
}

// BenchmarkInstrumentCompile measures loading the Go example plugin without a
// compilation cache: compiling it as it is, and instrumenting then compiling it.
//
//	go test -run XXX -bench InstrumentCompile -benchtime 3x ./host/plugin
func BenchmarkInstrumentCompile(b *testing.B) {
	bin, err := os.ReadFile(testplugins.Example(b, "example"))
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"uninstrumented", "instrumented"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				rt := wazero.NewRuntime(ctx)
				module := bin
				if mode == "instrumented" {
					ins, err := instrument(bin, DefaultTableLimit, DefaultStackLimit)
					if err != nil {
						b.Fatal(err)
					}
					module = ins.bin
				}
				if _, err := rt.CompileModule(ctx, module); err != nil {
					b.Fatal(err)
				}
				_ = rt.Close(ctx)
			}
		})
	}
}

// BenchmarkHTTP measures a call of the fetch test plugin that makes one fc.http GET to a
// loopback server (allow-list, address check, request and response documents, the
// guest reading the response), and reports it against the same GET made directly with
// a Go http.Client in the same run (direct-ns/req, and ratio: call time over direct
// time).
//
//	go test -run XXX -bench HTTP ./host/plugin
func BenchmarkHTTP(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"id": "m-1"}`)
	}))
	defer srv.Close()
	allow, err := egress.ParseAllow([]string{srv.URL})
	if err != nil {
		b.Fatal(err)
	}
	client := egress.New(allow)
	defer client.CloseIdle()
	cfg := Config{Dir: testplugins.DirWith(b, testplugins.Path(b, "fetch")), CacheDir: testplugins.CacheDir(b),
		Grants: map[string]Grant{"fetch": {HTTP: client}}}
	reg, err := load(context.Background(), cfg, slog.New(slog.DiscardHandler), options{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = reg.Close(context.Background()) }()
	p, _ := reg.Plugin("fetch")
	env := abi.Envelope{Method: "fetch", Args: json.RawMessage(`{"request": {"url": "` + srv.URL + `/x"}}`),
		Call: abi.CallInfo{ID: 1, Plugin: "fetch"}}

	direct := &http.Client{}
	const directRequests = 2000
	started := time.Now()
	for range directRequests {
		resp, err := direct.Get(srv.URL + "/x")
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	directNs := float64(time.Since(started).Nanoseconds()) / directRequests

	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Invoke(ctx, env, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	reportCalls(b)
	b.ReportMetric(directNs, "direct-ns/req")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/directNs, "ratio")
}
