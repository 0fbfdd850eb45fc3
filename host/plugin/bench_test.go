package plugin

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/futurecalls/futurecalls/abi"
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
	if len(reg.sorted) != 1 {
		b.Fatalf("problems: %v", reg.Problems())
	}
	return reg.sorted[0]
}

func reportCalls(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/call")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkInvoke measures one call end to end (validation, envelope, instance, guest,
// result) on a warm pooled instance and on a fresh instance per call, for the Go example
// plugin (the Go runtime starts in every new instance) and a WAT no-op.
//
//	go test -run XXX -bench Invoke ./host/plugin
func BenchmarkInvoke(b *testing.B) {
	cases := []struct {
		name, method, args string
		file               func(testing.TB) string
	}{
		{"go-example", "doOtherWork", `{"data": "1"}`, func(t testing.TB) string { return testplugins.Example(t, "example") }},
		{"wat-noop", "noop", `{}`, func(t testing.TB) string { return testplugins.Path(t, "noop") }},
	}
	for _, c := range cases {
		for _, fresh := range []bool{false, true} {
			mode := "pooled"
			if fresh {
				mode = "fresh"
			}
			b.Run(c.name+"/"+mode, func(b *testing.B) {
				p := benchPlugin(b, c.file(b), Limits{Fresh: fresh}, options{closeOnDone: true})
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
	p := benchPlugin(b, testplugins.Example(b, "example"), Limits{}, options{closeOnDone: true})
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

// BenchmarkCloseOnContextDone measures what WithCloseOnContextDone costs a tight loop
// (10 million iterations of an add and a compare per call): with it, wazero checks for
// termination in every loop iteration.
//
//	go test -run XXX -bench CloseOnContextDone ./host/plugin
func BenchmarkCloseOnContextDone(b *testing.B) {
	const iterations = 10_000_000
	for _, on := range []bool{true, false} {
		name := "on"
		if !on {
			name = "off"
		}
		b.Run(name, func(b *testing.B) {
			p := benchPlugin(b, testplugins.Path(b, "tightloop"), Limits{}, options{closeOnDone: on})
			env := abi.Envelope{Method: "run", Call: abi.CallInfo{ID: 1, Plugin: p.Name}}
			for b.Loop() {
				if err := p.Invoke(context.Background(), env, nil, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/iterations, "ns/iteration")
		})
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
				p := benchPlugin(b, c.file(b), Limits{}, options{closeOnDone: true, uninstrumented: mode == "uninstrumented"})
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
